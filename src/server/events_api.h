// The event stream endpoint (one of the API's modules):
//   GET /v1/events?since=SEQ&job=ID&workflow=ID   Server-Sent Events (event_streams.h)
// A user sees the events of their account's jobs only; a job or workflow that is not theirs is
// as absent as a missing one (access.h). A browser resumes with Last-Event-ID.
//
// Thread rules: any thread.
#pragma once

#include "server/auth.h"
#include "server/event_streams.h"
#include "server/http_server.h"
#include "server/job_access.h"

namespace baton::server {

class EventsApi {
 public:
  EventsApi(EventStreams* events, StoreReader* reader, JobAccess* access)
      : events_(events), reader_(reader), access_(access) {}
  void Stream(const Identity& who, const HttpRequest& request, Reply reply);

 private:
  EventStreams* events_;
  StoreReader* reader_;
  JobAccess* access_;
};

}  // namespace baton::server
