// Calibration figures for benchmarks: what the machine itself manages, measured in the same run
// as Baton's figures so that they can be compared on a noisy machine.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace baton::bench {

// Seconds from `a` to `b`.
inline double Seconds(std::chrono::steady_clock::time_point a,
                      std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// A job-sized payload, as the benchmarks submit it.
extern const std::string kPayload;

// Raw SQLite: a table of its own holding a whole job in one row (the 40 columns of a job's spec
// and status), filled by one prepared INSERT in transactions of 10,000 rows, in WAL mode with
// `synchronous` (FULL, NORMAL, OFF), in a new file at `path`. Rows per second.
double SqliteInsertRowsPerSecond(const std::string& path, const std::string& synchronous,
                                 uint64_t rows);

// Raw PostgreSQL at `url`: the same 40-column rows, sent by this client in transactions of
// `batch` rows (one INSERT ... SELECT unnest of an array per column, one round trip each, as the
// store writes), into a new table of its own (dropped after), with the server's settings (fsync and
// synchronous_commit as they are). Rows per second; an error if the database cannot be used.
Result<double> PgInsertRowsPerSecond(const std::string& url, uint64_t rows, uint64_t batch);

// The median round trip of one byte over a loopback TCP connection (TCP_NODELAY), in
// microseconds; -1 if the socket calls failed.
double LoopbackRoundTripUs(int round_trips);

}  // namespace baton::bench
