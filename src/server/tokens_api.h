// The token endpoint (one of the API's modules):
//   POST /v1/tokens   {"user": NAME, "admin": false, "worker": false, "private": false}
// An administrator makes any token; a user only a worker token of their own private pool, whose
// workers get only that user's jobs. The token is shown once; the store keeps its hash (auth.h).
//
// Thread rules: any thread.
#pragma once

#include "server/auth.h"
#include "server/http_server.h"

namespace baton::server {

class TokensApi {
 public:
  explicit TokensApi(Auth* auth) : auth_(auth) {}
  void Create(const Identity& who, const HttpRequest& request, const Reply& reply);

 private:
  Auth* auth_;
};

}  // namespace baton::server
