// Sink: the one place where the engine's parts (the job lifecycle, the workflow runner, the
// schedule book) put what they changed, and read the engine's clock. The engine moves the
// records out in TakeRecords (one commit) and the notices out in TakeNotices; events are
// numbered here, so that the parts share one sequence.
//
// Thread rules: the engine's thread, like the engine.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/types.h"

namespace baton::engine {

struct Sink {
  // The engine's clock: set by Engine::Tick only (never backwards).
  int64_t now_ms = 0;
  // The sequence number of the last event emitted (0: none yet).
  EventSeq event_seq_last = 0;
  // Attempts, events, schedules, type pauses and deletes not yet taken. (Jobs and workflows are
  // collected from their dirty lists when the records are taken, each once however often it
  // changed.)
  RecordBatch records;
  // The messages the runtime must send to workers.
  std::vector<Notice> notices;

  // Numbers `e`, stamps it with the clock, and queues it for the next commit.
  void Emit(Event e) {
    e.seq = ++event_seq_last;
    e.at_ms = now_ms;
    records.events.push_back(std::move(e));
  }
};

}  // namespace baton::engine
