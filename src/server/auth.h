// Auth: bearer tokens. A token is "bt_" and 64 hex digits of randomness; only its SHA-256 is
// stored, and lookups go by that hash (so comparing them leaks nothing of the token). Known
// tokens are cached in memory. Thread rules: thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "common/status.h"
#include "store/token_store.h"

namespace baton::server {

// `bytes` random bytes (from the OS's generator) as hex.
Result<std::string> RandomHex(size_t bytes);

struct Identity {
  std::string user;
  bool admin = false;
  bool worker = false;
  // A worker token of the user's own pool (store::TokenRecord::private_pool): its workers get
  // only this user's jobs.
  bool private_pool = false;
};

class Auth {
 public:
  Auth(store::TokenStore* tokens, Clock* clock) : tokens_(tokens), clock_(clock) {}

  // The value of an Authorization header ("Bearer <token>") -> who is calling.
  Result<Identity> Authenticate(std::string_view authorization);

  // Creates a token and returns it; it is shown once and never stored. `who.private_pool` needs
  // `who.worker` and not `who.admin`.
  Result<std::string> Create(const Identity& who);

  static std::string Hash(std::string_view token);
  // Ok for 1 to 64 letters, digits and . _ - @
  static Status ValidateUser(const std::string& user);

 private:
  store::TokenStore* tokens_;
  Clock* clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Identity> cache_;  // hash -> identity
};

}  // namespace baton::server
