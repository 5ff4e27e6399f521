// TokenStore: where API tokens are kept, by the SHA-256 of the token (never the token itself).
//
// Thread rules: thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace baton::store {

struct TokenRecord {
  std::string hash;  // hex SHA-256 of the token
  std::string user;
  bool admin = false;
  bool worker = false;
  // A worker token of the user's own pool: its workers get only this user's jobs. Else a worker
  // token serves every user's jobs (a shared pool, made by an administrator).
  bool private_pool = false;
  int64_t created_ms = 0;

  bool operator==(const TokenRecord&) const = default;
};

class TokenStore {
 public:
  virtual ~TokenStore() = default;
  // Adds a token; AlreadyExists if one with this hash exists.
  virtual Status Put(const TokenRecord& token) = 0;
  // The token with this hash, or nullopt.
  virtual Result<std::optional<TokenRecord>> Find(const std::string& hash) = 0;
  // Every token, oldest first (then by hash).
  virtual Result<std::vector<TokenRecord>> List() = 0;
};

}  // namespace baton::store
