#include "server/tokens_api.h"

#include <boost/json.hpp>

namespace baton::server {

namespace http = boost::beast::http;

void TokensApi::Create(const Identity& who, const HttpRequest& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto fail = [&](const Status& s) { reply(ErrorResponse(s, version, keep_alive)); };
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(request.body(), ec);
  constexpr const char* kShape =
      R"(body: must be {"user": NAME, "admin": false, "worker": false, "private": false})";
  if (ec || !body.is_object()) return fail(InvalidArgument(kShape));
  Identity made;
  bool user_given = false, private_given = false;
  for (const auto& [key, value] : body.as_object()) {
    if (key == "user" && value.is_string()) {
      made.user = std::string(value.as_string());
      user_given = true;
    } else if ((key == "admin" || key == "worker" || key == "private") && value.is_bool()) {
      (key == "admin"    ? made.admin
       : key == "worker" ? made.worker
                         : made.private_pool) = value.as_bool();
      private_given = private_given || key == "private";
    } else {
      return fail(InvalidArgument(std::string(key) +
                                  ": unknown field or wrong type (user is a string, admin, "
                                  "worker and private are true or false)"));
    }
  }
  if (!who.admin) {
    // A user may make one kind of token: a worker token of their own pool, whose workers get only
    // their jobs. Every other token is an administrator's to make.
    if (!made.worker || made.admin || (user_given && made.user != who.user) ||
        (private_given && !made.private_pool)) {
      return fail(PermissionDenied(
          "only an administrator can create tokens, except a worker token of your own pool: "
          R"({"worker": true} (its workers get only your jobs))"));
    }
    made.user = who.user;
    made.private_pool = true;
  }
  if (made.private_pool && (!made.worker || made.admin)) {
    return fail(InvalidArgument(
        "private: only a worker token (worker: true, admin: false) belongs to a private pool"));
  }
  Result<std::string> token = auth_->Create(made);
  if (!token.ok()) return fail(token.status());
  boost::json::object o;
  o["token"] = *token;
  o["user"] = made.user;
  o["admin"] = made.admin;
  o["worker"] = made.worker;
  o["private"] = made.private_pool;
  reply(JsonResponse(http::status::created, boost::json::serialize(o), version, keep_alive));
}

}  // namespace baton::server
