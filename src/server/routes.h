// RouteTable: the HTTP API as a declarative table. Each route is a method, a path pattern, who may
// call it (access.h) and its handler; the server answers a request by finding its route here, and
// docs/api.md's "Endpoints" table lists exactly these routes (a test checks it).
//
// A pattern's segments are literals or typed parameters, read before the handler runs:
//   {job} {workflow} {attempt}  a positive id (up to 2^63 - 1); anything else is invalid_argument
//   {request}                   a positive number
//   {name}                      one segment, as text (percent-decoded)
//   {path...}                   the rest of the path, one or more segments joined by "/"
// Literal segments win over parameters: POST /v1/jobs/retry is not job "retry".
//
// Thread rules: built once, then read from any thread.
#pragma once

#include <boost/url.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/access.h"
#include "server/http_server.h"

namespace baton::server {

// The whole of `text` as a number in [min, max], or nothing (path parameters, query values).
std::optional<uint64_t> ParseNumber(std::string_view text, uint64_t min, uint64_t max);

// What a route's parameters held, by kind (a route has each at most once).
struct RouteArgs {
  uint64_t job = 0;
  uint64_t workflow = 0;
  uint64_t attempt = 0;
  uint64_t request = 0;
  std::string name;  // {name}
  std::string path;  // {path...}
};

// Everything a handler gets: the caller, the parameters, the request and how to answer.
struct Call {
  const Identity& who;
  RouteArgs& args;
  HttpRequest& request;
  const Reply& reply;
  boost::urls::url_view url;  // the request's target, parsed (its query for the handler)
};

template <typename Context>
struct Route {
  http::verb method;
  std::string_view pattern;
  Caller caller;
  std::function<void(Context&, Call&)> handle;
};

// The matching part, without the handlers: what a request's target names.
class RoutePatterns {
 public:
  // Adds a pattern; the index it was added at is what Match returns. A malformed pattern is a
  // bug: BATON_CHECK.
  void Add(http::verb method, std::string_view pattern);

  struct Match {
    int route = -1;     // the index of the route, or -1
    Status error;       // a parameter that did not parse (the route's path matched otherwise)
    bool path = false;  // some route has this path, with another method
  };
  // `segments`: the request path's decoded segments.
  Match Find(http::verb method, const std::vector<std::string>& segments, RouteArgs* args) const;

 private:
  struct Segment {
    enum Kind { kLiteral, kJob, kWorkflow, kAttempt, kRequest, kName, kPath } kind;
    std::string literal;
  };
  struct Pattern {
    http::verb method;
    std::vector<Segment> segments;
  };
  // Whether `segments` fit `p`; a parameter that does not parse sets `error`.
  static bool Fits(const Pattern& p, const std::vector<std::string>& segments, RouteArgs* args,
                   Status* error);
  std::vector<Pattern> patterns_;
};

template <typename Context>
class RouteTable {
 public:
  explicit RouteTable(std::vector<Route<Context>> routes) : routes_(std::move(routes)) {
    for (const Route<Context>& r : routes_) patterns_.Add(r.method, r.pattern);
  }
  const std::vector<Route<Context>>& routes() const { return routes_; }
  // The route for the request, or null (then `match` says why).
  const Route<Context>* Find(http::verb method, const std::vector<std::string>& segments,
                             RouteArgs* args, RoutePatterns::Match* match) const {
    *match = patterns_.Find(method, segments, args);
    return match->route < 0 ? nullptr : &routes_[static_cast<size_t>(match->route)];
  }

 private:
  std::vector<Route<Context>> routes_;
  RoutePatterns patterns_;
};

}  // namespace baton::server
