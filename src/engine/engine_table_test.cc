// Every state x every command: the resulting state, or the error and the promise that an
// illegal command changed nothing (no record, no notice, the same job).
#include <optional>

#include "engine/engine_test_util.h"

namespace baton::engine::testing {
namespace {

enum class Cmd {
  kDispatch,
  kHeartbeat,
  kProgress,
  kCompleteOk,
  kCompleteError,
  kDecline,
  kAccept,
  kReject,
  kCancel,
  kRetry,
};

const char* CmdName(Cmd c) {
  switch (c) {
    case Cmd::kDispatch:
      return "dispatch";
    case Cmd::kHeartbeat:
      return "heartbeat";
    case Cmd::kProgress:
      return "progress";
    case Cmd::kCompleteOk:
      return "complete_ok";
    case Cmd::kCompleteError:
      return "complete_error";
    case Cmd::kDecline:
      return "decline";
    case Cmd::kAccept:
      return "accept";
    case Cmd::kReject:
      return "reject";
    case Cmd::kCancel:
      return "cancel";
    case Cmd::kRetry:
      return "retry";
  }
  return "?";
}

struct Row {
  JobState from;
  Cmd cmd;
  StatusCode code;             // kOk when the command is legal
  std::optional<JobState> to;  // the state after a legal command
};

void PrintTo(const Row& row, std::ostream* os) {
  *os << JobStateName(row.from) << " x " << CmdName(row.cmd);
}

using S = JobState;
using C = StatusCode;
constexpr C kOk = C::kOk;
constexpr C kStale = C::kStaleAttempt;
constexpr C kIllegal = C::kFailedPrecondition;

// clang-format off
const Row kTable[] = {
  // pending: nothing runs; only cancel is legal.
  {S::kPending, Cmd::kDispatch,      kOk,      S::kPending},
  {S::kPending, Cmd::kHeartbeat,     kStale,   {}},
  {S::kPending, Cmd::kProgress,      kStale,   {}},
  {S::kPending, Cmd::kCompleteOk,    kStale,   {}},
  {S::kPending, Cmd::kCompleteError, kStale,   {}},
  {S::kPending, Cmd::kDecline,       kStale,   {}},
  {S::kPending, Cmd::kAccept,        kIllegal, {}},
  {S::kPending, Cmd::kReject,        kIllegal, {}},
  {S::kPending, Cmd::kCancel,        kOk,      S::kCancelled},
  {S::kPending, Cmd::kRetry,         kIllegal, {}},
  // queued
  {S::kQueued, Cmd::kDispatch,      kOk,      S::kRunning},
  {S::kQueued, Cmd::kHeartbeat,     kStale,   {}},
  {S::kQueued, Cmd::kProgress,      kStale,   {}},
  {S::kQueued, Cmd::kCompleteOk,    kStale,   {}},
  {S::kQueued, Cmd::kCompleteError, kStale,   {}},
  {S::kQueued, Cmd::kDecline,       kStale,   {}},
  {S::kQueued, Cmd::kAccept,        kIllegal, {}},
  {S::kQueued, Cmd::kReject,        kIllegal, {}},
  {S::kQueued, Cmd::kCancel,        kOk,      S::kCancelled},
  {S::kQueued, Cmd::kRetry,         kIllegal, {}},
  // running: the attempt's own commands are legal.
  {S::kRunning, Cmd::kDispatch,      kOk,      S::kRunning},
  {S::kRunning, Cmd::kHeartbeat,     kOk,      S::kRunning},
  {S::kRunning, Cmd::kProgress,      kOk,      S::kRunning},
  {S::kRunning, Cmd::kCompleteOk,    kOk,      S::kSucceeded},
  {S::kRunning, Cmd::kCompleteError, kOk,      S::kRetryWait},
  {S::kRunning, Cmd::kDecline,       kOk,      S::kQueued},
  {S::kRunning, Cmd::kAccept,        kIllegal, {}},
  {S::kRunning, Cmd::kReject,        kIllegal, {}},
  {S::kRunning, Cmd::kCancel,        kOk,      S::kCancelled},
  {S::kRunning, Cmd::kRetry,         kIllegal, {}},
  // submitted: only a verdict or a cancel.
  {S::kSubmitted, Cmd::kDispatch,      kOk,      S::kSubmitted},
  {S::kSubmitted, Cmd::kHeartbeat,     kStale,   {}},
  {S::kSubmitted, Cmd::kProgress,      kStale,   {}},
  {S::kSubmitted, Cmd::kCompleteOk,    kStale,   {}},
  {S::kSubmitted, Cmd::kCompleteError, kStale,   {}},
  {S::kSubmitted, Cmd::kDecline,       kStale,   {}},
  {S::kSubmitted, Cmd::kAccept,        kOk,      S::kSucceeded},
  {S::kSubmitted, Cmd::kReject,        kOk,      S::kRetryWait},
  {S::kSubmitted, Cmd::kCancel,        kOk,      S::kCancelled},
  {S::kSubmitted, Cmd::kRetry,         kIllegal, {}},
  // waiting_children
  {S::kWaitingChildren, Cmd::kDispatch,      kOk,      S::kWaitingChildren},
  {S::kWaitingChildren, Cmd::kHeartbeat,     kStale,   {}},
  {S::kWaitingChildren, Cmd::kProgress,      kStale,   {}},
  {S::kWaitingChildren, Cmd::kCompleteOk,    kStale,   {}},
  {S::kWaitingChildren, Cmd::kCompleteError, kStale,   {}},
  {S::kWaitingChildren, Cmd::kDecline,       kStale,   {}},
  {S::kWaitingChildren, Cmd::kAccept,        kIllegal, {}},
  {S::kWaitingChildren, Cmd::kReject,        kIllegal, {}},
  {S::kWaitingChildren, Cmd::kCancel,        kOk,      S::kCancelled},
  {S::kWaitingChildren, Cmd::kRetry,         kIllegal, {}},
  // retry_wait
  {S::kRetryWait, Cmd::kDispatch,      kOk,      S::kRetryWait},
  {S::kRetryWait, Cmd::kHeartbeat,     kStale,   {}},
  {S::kRetryWait, Cmd::kProgress,      kStale,   {}},
  {S::kRetryWait, Cmd::kCompleteOk,    kStale,   {}},
  {S::kRetryWait, Cmd::kCompleteError, kStale,   {}},
  {S::kRetryWait, Cmd::kDecline,       kStale,   {}},
  {S::kRetryWait, Cmd::kAccept,        kIllegal, {}},
  {S::kRetryWait, Cmd::kReject,        kIllegal, {}},
  {S::kRetryWait, Cmd::kCancel,        kOk,      S::kCancelled},
  {S::kRetryWait, Cmd::kRetry,         kIllegal, {}},
  // succeeded: only the owner's reject re-opens it.
  {S::kSucceeded, Cmd::kDispatch,      kOk,      S::kSucceeded},
  {S::kSucceeded, Cmd::kHeartbeat,     kStale,   {}},
  {S::kSucceeded, Cmd::kProgress,      kStale,   {}},
  {S::kSucceeded, Cmd::kCompleteOk,    kStale,   {}},
  {S::kSucceeded, Cmd::kCompleteError, kStale,   {}},
  {S::kSucceeded, Cmd::kDecline,       kStale,   {}},
  {S::kSucceeded, Cmd::kAccept,        kIllegal, {}},
  {S::kSucceeded, Cmd::kReject,        kOk,      S::kRetryWait},
  {S::kSucceeded, Cmd::kCancel,        kIllegal, {}},
  {S::kSucceeded, Cmd::kRetry,         kIllegal, {}},
  // failed
  {S::kFailed, Cmd::kDispatch,      kOk,      S::kFailed},
  {S::kFailed, Cmd::kHeartbeat,     kStale,   {}},
  {S::kFailed, Cmd::kProgress,      kStale,   {}},
  {S::kFailed, Cmd::kCompleteOk,    kStale,   {}},
  {S::kFailed, Cmd::kCompleteError, kStale,   {}},
  {S::kFailed, Cmd::kDecline,       kStale,   {}},
  {S::kFailed, Cmd::kAccept,        kIllegal, {}},
  {S::kFailed, Cmd::kReject,        kIllegal, {}},
  {S::kFailed, Cmd::kCancel,        kIllegal, {}},
  {S::kFailed, Cmd::kRetry,         kOk,      S::kQueued},
  // cancelled
  {S::kCancelled, Cmd::kDispatch,      kOk,      S::kCancelled},
  {S::kCancelled, Cmd::kHeartbeat,     kStale,   {}},
  {S::kCancelled, Cmd::kProgress,      kStale,   {}},
  {S::kCancelled, Cmd::kCompleteOk,    kStale,   {}},
  {S::kCancelled, Cmd::kCompleteError, kStale,   {}},
  {S::kCancelled, Cmd::kDecline,       kStale,   {}},
  {S::kCancelled, Cmd::kAccept,        kIllegal, {}},
  {S::kCancelled, Cmd::kReject,        kIllegal, {}},
  {S::kCancelled, Cmd::kCancel,        kIllegal, {}},
  {S::kCancelled, Cmd::kRetry,         kOk,      S::kQueued},
};
// clang-format on

class EngineTableTest : public EngineTest, public ::testing::WithParamInterface<Row> {};

TEST_P(EngineTableTest, StateTimesCommand) {
  const Row& row = GetParam();
  const JobId id = MakeJobIn(row.from);
  const JobRecord before = Job(id);
  const EventSeq seq_before = engine_.Stats().event_seq_last;
  const AttemptRef ref = CurrentRef(id);

  Status status;
  switch (row.cmd) {
    case Cmd::kDispatch:
      // A second worker asks for the job's type: only a queued job is handed out.
      (void)Dispatch("w2", {"t"}, 10);
      break;
    case Cmd::kHeartbeat:
      status = engine_.Heartbeat(ref);
      break;
    case Cmd::kProgress:
      status = engine_.Progress(ref, 0.5, "half");
      break;
    case Cmd::kCompleteOk:
      status = engine_.Complete(ref, Ok());
      break;
    case Cmd::kCompleteError:
      status = engine_.Complete(ref, Error());
      break;
    case Cmd::kDecline:
      status = engine_.Complete(ref, Decline());
      break;
    case Cmd::kAccept:
      status = engine_.Accept(id);
      break;
    case Cmd::kReject:
      status = engine_.Reject(id, "wrong answer");
      break;
    case Cmd::kCancel:
      status = engine_.Cancel(id, "not needed");
      break;
    case Cmd::kRetry:
      status = engine_.Retry(id);
      break;
  }

  SCOPED_TRACE(std::string(JobStateName(row.from)) + " x " + CmdName(row.cmd));
  EXPECT_EQ(status.code(), row.code) << status.ToString();
  if (row.code == kOk) {
    EXPECT_EQ(State(id), *row.to);
    return;
  }
  // Refused: a message that names the job, and nothing changed.
  EXPECT_NE(status.message().find(std::to_string(id)), std::string::npos) << status.message();
  EXPECT_EQ(Job(id), before);
  EXPECT_EQ(engine_.Stats().event_seq_last, seq_before);
  EXPECT_FALSE(engine_.HasRecords());
  EXPECT_TRUE(Notices().empty());
}

INSTANTIATE_TEST_SUITE_P(AllStatesAllCommands, EngineTableTest, ::testing::ValuesIn(kTable),
                         [](const ::testing::TestParamInfo<Row>& info) {
                           return std::string(JobStateName(info.param.from)) + "_" +
                                  CmdName(info.param.cmd);
                         });

TEST(EngineTableCoverage, EveryStateHasEveryCommand) {
  int count[kJobStateCount][10] = {};
  for (const Row& row : kTable) ++count[static_cast<int>(row.from)][static_cast<int>(row.cmd)];
  for (int s = 0; s < kJobStateCount; ++s) {
    for (int c = 0; c < 10; ++c) EXPECT_EQ(count[s][c], 1) << "state " << s << " command " << c;
  }
}

// A worker acts only on the attempts it holds: every command of an attempt, sent by a worker that
// does not hold it, is refused with permission_denied naming the attempt, and changes nothing.
enum class AttemptCmd {
  kHeartbeat,
  kProgress,
  kCompleteOk,
  kCompleteError,
  kDecline,
  kSpawn,
  kRecordOutput
};
constexpr AttemptCmd kAttemptCmds[] = {AttemptCmd::kHeartbeat,   AttemptCmd::kProgress,
                                       AttemptCmd::kCompleteOk,  AttemptCmd::kCompleteError,
                                       AttemptCmd::kDecline,     AttemptCmd::kSpawn,
                                       AttemptCmd::kRecordOutput};

struct HolderRow {
  AttemptCmd cmd;
  const char* name;
  const char* sender;  // who sends it for w1's attempt
  StatusCode code;
};

// clang-format off
const HolderRow kHolderTable[] = {
  {AttemptCmd::kHeartbeat,     "heartbeat",      "w1", kOk},
  {AttemptCmd::kHeartbeat,     "heartbeat",      "w2", C::kPermissionDenied},
  {AttemptCmd::kHeartbeat,     "heartbeat",      "",   C::kPermissionDenied},
  {AttemptCmd::kProgress,      "progress",       "w1", kOk},
  {AttemptCmd::kProgress,      "progress",       "w2", C::kPermissionDenied},
  {AttemptCmd::kCompleteOk,    "complete_ok",    "w1", kOk},
  {AttemptCmd::kCompleteOk,    "complete_ok",    "w2", C::kPermissionDenied},
  {AttemptCmd::kCompleteOk,    "complete_ok",    "W1", C::kPermissionDenied},
  {AttemptCmd::kCompleteError, "complete_error", "w1", kOk},
  {AttemptCmd::kCompleteError, "complete_error", "w2", C::kPermissionDenied},
  {AttemptCmd::kDecline,       "decline",        "w1", kOk},
  {AttemptCmd::kDecline,       "decline",        "w2", C::kPermissionDenied},
  {AttemptCmd::kSpawn,         "spawn",          "w1", kOk},
  {AttemptCmd::kSpawn,         "spawn",          "w2", C::kPermissionDenied},
  {AttemptCmd::kRecordOutput,  "record_output",  "w1", kOk},
  {AttemptCmd::kRecordOutput,  "record_output",  "w2", C::kPermissionDenied},
};
// clang-format on

class EngineHolderTest : public EngineTest, public ::testing::WithParamInterface<HolderRow> {};

TEST_P(EngineHolderTest, OnlyTheHolderActsOnAnAttempt) {
  const HolderRow& row = GetParam();
  const JobId id = MakeJobIn(JobState::kRunning);  // dispatched to w1
  ASSERT_EQ(Job(id).status.worker_id, "w1");
  const JobRecord before = Job(id);
  const EventSeq seq_before = engine_.Stats().event_seq_last;
  const AttemptRef ref{id, before.status.attempt_id, row.sender};
  Status status;
  switch (row.cmd) {
    case AttemptCmd::kHeartbeat:
      status = engine_.Heartbeat(ref);
      break;
    case AttemptCmd::kProgress:
      status = engine_.Progress(ref, 0.5, "half");
      break;
    case AttemptCmd::kCompleteOk:
      status = engine_.Complete(ref, Ok(R"({"forged":true})"));
      break;
    case AttemptCmd::kCompleteError:
      status = engine_.Complete(ref, Error());
      break;
    case AttemptCmd::kDecline:
      status = engine_.Complete(ref, Decline());
      break;
    case AttemptCmd::kSpawn:
      status = engine_.Spawn(ref, {Spec("child")}).status();
      break;
    case AttemptCmd::kRecordOutput:
      status = engine_.RecordOutput(ref, "report.pdf", 1024);
      if (status.ok()) EXPECT_EQ(Job(id).status.outputs, R"({"report.pdf":1024})");
      break;
  }
  EXPECT_EQ(status.code(), row.code) << status.ToString();
  EXPECT_EQ(engine_.Holds(ref).code() == kOk,
            row.code == kOk && Job(id).status.state == JobState::kRunning);
  if (row.code == kOk) return;
  EXPECT_EQ(status.message(), "attempt " + std::to_string(ref.attempt_id) + " of job " +
                                  std::to_string(id) + " is not held by worker " + row.sender +
                                  "; its " +
                                  (row.cmd == AttemptCmd::kSpawn          ? "spawn"
                                   : row.cmd == AttemptCmd::kHeartbeat    ? "heartbeat"
                                   : row.cmd == AttemptCmd::kProgress     ? "progress"
                                   : row.cmd == AttemptCmd::kRecordOutput ? "file request"
                                                                          : "completion") +
                                  " was refused");
  EXPECT_EQ(Job(id), before);
  EXPECT_EQ(engine_.Stats().event_seq_last, seq_before);
  EXPECT_FALSE(engine_.HasRecords());
  EXPECT_TRUE(Notices().empty());
}

INSTANTIATE_TEST_SUITE_P(EveryAttemptCommand, EngineHolderTest, ::testing::ValuesIn(kHolderTable),
                         [](const ::testing::TestParamInfo<HolderRow>& info) {
                           std::string sender = info.param.sender;
                           return std::string(info.param.name) + "_from_" +
                                  (sender.empty() ? "nobody" : sender);
                         });

TEST(EngineHolderCoverage, EveryAttemptCommandIsTriedByTheHolderAndAnother) {
  for (AttemptCmd c : kAttemptCmds) {
    int holder = 0, other = 0;
    for (const HolderRow& row : kHolderTable) {
      if (row.cmd != c) continue;
      (std::string(row.sender) == "w1" ? holder : other) += 1;
    }
    EXPECT_EQ(holder, 1) << static_cast<int>(c);
    EXPECT_GE(other, 1) << static_cast<int>(c);
  }
}

}  // namespace
}  // namespace baton::engine::testing
