#include "server/auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <vector>

namespace baton::server {

namespace {
std::string Hex(const unsigned char* data, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}
}  // namespace

Result<std::string> RandomHex(size_t bytes) {
  std::vector<unsigned char> secret(bytes);
  if (RAND_bytes(secret.data(), static_cast<int>(bytes)) != 1) {
    return Internal("could not draw random bytes");
  }
  return Hex(secret.data(), bytes);
}

std::string Auth::Hash(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  BATON_CHECK(EVP_Digest(token.data(), token.size(), digest, &n, EVP_sha256(), nullptr) == 1);
  return Hex(digest, n);
}

Status Auth::ValidateUser(const std::string& user) {
  if (user.empty() || user.size() > 64) {
    return InvalidArgument("user: must be 1 to 64 characters, got " + std::to_string(user.size()));
  }
  for (char c : user) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || c == '@';
    if (!ok) return InvalidArgument("user: may hold only letters, digits and . _ - @");
  }
  return Status::Ok();
}

Result<Identity> Auth::Authenticate(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    return Unauthenticated("no token: send the header \"Authorization: Bearer <token>\"");
  }
  if (authorization.substr(0, kBearer.size()) != kBearer) {
    return Unauthenticated("Authorization: must be \"Bearer <token>\"");
  }
  const std::string hash = Hash(authorization.substr(kBearer.size()));
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(hash); it != cache_.end()) return it->second;
  }
  Result<std::optional<store::TokenRecord>> found = tokens_->Find(hash);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return Unauthenticated("the token is not valid");
  Identity id{(*found)->user, (*found)->admin, (*found)->worker, (*found)->private_pool};
  std::lock_guard lock(mu_);
  cache_[hash] = id;
  return id;
}

Result<std::string> Auth::Create(const Identity& who) {
  BATON_RETURN_IF_ERROR(ValidateUser(who.user));
  BATON_CHECK(!who.private_pool || (who.worker && !who.admin));
  Result<std::string> secret = RandomHex(32);
  if (!secret.ok()) return secret.status().WithContext("create a token");
  std::string token = "bt_" + *secret;
  store::TokenRecord record{Hash(token), who.user,         who.admin,
                            who.worker,  who.private_pool, clock_->NowMs()};
  BATON_RETURN_IF_ERROR(tokens_->Put(record));
  std::lock_guard lock(mu_);
  cache_[record.hash] = who;
  return token;
}

}  // namespace baton::server
