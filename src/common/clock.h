// Clock: where time comes from. The engine never reads a clock; the runtime reads one and passes
// the time in. Tests and the simulation use ManualClock. Thread rules: both are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace baton {

// Milliseconds since the Unix epoch, from the system's clock.
inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch. Durable timestamps (run_after, leases) use this scale so
  // that they keep their meaning across a restart.
  virtual int64_t NowMs() = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() override { return WallClockMs(); }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) : now_ms_(start_ms) {}
  int64_t NowMs() override { return now_ms_.load(); }
  void Advance(int64_t ms) { now_ms_ += ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace baton
