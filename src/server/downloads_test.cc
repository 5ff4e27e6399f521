// Downloads against a stream whose client takes bytes when the test says so: the producer never
// runs more than a window (and one chunk) ahead of it, whatever the body's size.
#include "server/downloads.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

namespace baton::server {
namespace {

// A response stream whose client reads only when Take() is called.
class SlowClient : public ResponseStream {
 public:
  bool Write(std::string data) override {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    backlog_ += data.size();
    most_ = std::max(most_, backlog_);
    queued_ += data;
    return true;
  }
  void End() override {
    std::lock_guard lock(mu_);
    ended_ = true;
    cv_.notify_all();
  }
  void Abort() override {
    std::lock_guard lock(mu_);
    closed_ = aborted_ = true;
    cv_.notify_all();
    if (room_) std::exchange(room_, nullptr)();
  }
  bool closed() const override {
    std::lock_guard lock(mu_);
    return closed_;
  }
  size_t backlog() const override {
    std::lock_guard lock(mu_);
    return backlog_;
  }
  void WhenRoom(size_t bytes, std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    if (closed_ || backlog_ <= bytes) {
      lock.unlock();
      return fn();
    }
    room_bytes_ = bytes;
    room_ = std::move(fn);
    cv_.notify_all();
  }

  // The client reads everything queued; the producer may go on.
  void Take() {
    std::function<void()> room;
    {
      std::lock_guard lock(mu_);
      received_ += queued_;
      queued_.clear();
      backlog_ = 0;
      if (room_) room = std::exchange(room_, nullptr);
    }
    if (room) room();
  }
  // Waits until the producer waits for room, or has ended (true once ended or aborted).
  bool WaitForProducer() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return room_ || ended_ || aborted_; });
    return ended_ || aborted_;
  }
  void Close() {
    std::function<void()> room;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      room = std::exchange(room_, nullptr);
    }
    if (room) room();
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string queued_, received_;
  size_t backlog_ = 0, most_ = 0, room_bytes_ = 0;
  bool closed_ = false, ended_ = false, aborted_ = false;
  std::function<void()> room_;
};

struct Answer {
  std::promise<HttpResponse> whole;
  std::shared_ptr<SlowClient> stream = std::make_shared<SlowClient>();
  std::optional<HttpResponse> head;
  Reply reply() {
    return Reply([this](HttpResponse r) { whole.set_value(std::move(r)); },
                 [this](HttpResponse h) -> std::shared_ptr<ResponseStream> {
                   head = std::move(h);
                   return stream;
                 });
  }
};

// `n` chunks of `size` bytes each, counted as they are produced.
ChunkSource Counted(size_t n, size_t size, std::shared_ptr<std::atomic<size_t>> produced) {
  auto left = std::make_shared<size_t>(n);
  return [left, size, produced]() -> Result<std::string> {
    if (*left == 0) return std::string();
    --*left;
    *produced += size;
    return std::string(size, static_cast<char>('a' + *left % 26));
  };
}

HttpRequest Get() {
  HttpRequest r{http::verb::get, "/x", 11};
  r.keep_alive(true);
  return r;
}

TEST(Downloads, AProducerStaysWithinTheWindowOfItsClient) {
  BlockingPool pool(2);
  const DownloadLimits limits{.chunk_bytes = 1000, .window_bytes = 10'000};
  auto produced = std::make_shared<std::atomic<size_t>>(0);
  Answer answer;
  StreamDownload(&pool, answer.reply(), DownloadHead(Get(), "text/plain", "x", std::nullopt), false,
                 Counted(500, 1000, produced), limits);
  size_t rounds = 0;
  while (!answer.stream->WaitForProducer()) {
    // Stopped for room: at most a window and a chunk ahead of what the client took.
    EXPECT_LE(*produced - answer.stream->received_.size(),
              limits.window_bytes + limits.chunk_bytes);
    answer.stream->Take();
    ++rounds;
  }
  answer.stream->Take();
  EXPECT_EQ(answer.stream->received_.size(), 500'000u);
  EXPECT_LE(answer.stream->most_, limits.window_bytes + limits.chunk_bytes);
  EXPECT_GE(rounds, 40u);  // it waited for the client again and again
  EXPECT_FALSE(answer.stream->aborted_);
  ASSERT_TRUE(answer.head);
  EXPECT_TRUE(answer.head->chunked());  // no length known: chunked, so a cut is visible
  pool.Join();
}

TEST(Downloads, AClientThatGoesAwayStopsTheProducer) {
  BlockingPool pool(1);
  const DownloadLimits limits{.chunk_bytes = 1000, .window_bytes = 5000};
  auto produced = std::make_shared<std::atomic<size_t>>(0);
  Answer answer;
  StreamDownload(&pool, answer.reply(), DownloadHead(Get(), "text/plain", "x", std::nullopt), false,
                 Counted(1'000'000, 1000, produced), limits);
  ASSERT_FALSE(answer.stream->WaitForProducer());
  answer.stream->Close();
  pool.Join();
  EXPECT_LE(*produced, limits.window_bytes + limits.chunk_bytes);  // not a gigabyte
}

TEST(Downloads, AnErrorAfterTheHeadCutsTheBodyShort) {
  BlockingPool pool(1);
  auto left = std::make_shared<int>(3);
  ChunkSource failing = [left]() -> Result<std::string> {
    if (--*left < 0) return DataLoss("the disk went away");
    return std::string(100, 'x');
  };
  Answer answer;
  StreamDownload(&pool, answer.reply(), DownloadHead(Get(), "text/plain", "x", 10'000), false,
                 failing, DownloadLimits{.chunk_bytes = 100, .window_bytes = 1000});
  EXPECT_TRUE(answer.stream->WaitForProducer());
  EXPECT_TRUE(answer.stream->aborted_);  // not End(): the client must not take it as whole
  EXPECT_FALSE(answer.stream->ended_);
  EXPECT_EQ(answer.stream->queued_.size(), 300u);
  pool.Join();
}

TEST(Downloads, ASmallBodyIsOneAnswerOnAConnectionKeptOpen) {
  BlockingPool pool(1);
  Answer answer;
  auto produced = std::make_shared<std::atomic<size_t>>(0);
  StreamDownload(&pool, answer.reply(), DownloadHead(Get(), "text/plain", "dir/a.txt", 30), false,
                 Counted(3, 10, produced));
  HttpResponse res = answer.whole.get_future().get();
  EXPECT_EQ(res.body().size(), 30u);
  EXPECT_TRUE(res.keep_alive());
  EXPECT_EQ(res[http::field::content_disposition], "attachment; filename=\"a.txt\"");
  EXPECT_FALSE(answer.head);

  // A file that changed size after it was opened is an error, not a wrong answer.
  Answer shorter;
  StreamDownload(&pool, shorter.reply(), DownloadHead(Get(), "text/plain", "a", 50), false,
                 Counted(3, 10, produced));
  EXPECT_EQ(shorter.whole.get_future().get().result(), http::status::internal_server_error);
  pool.Join();
}

TEST(Downloads, HeadSendsTheHeadOnly) {
  BlockingPool pool(1);
  Answer answer;
  auto produced = std::make_shared<std::atomic<size_t>>(0);
  StreamDownload(&pool, answer.reply(), DownloadHead(Get(), "application/zip", "a", std::nullopt),
                 true, Counted(3, 10, produced));
  HttpResponse res = answer.whole.get_future().get();
  EXPECT_TRUE(res.body().empty());
  EXPECT_FALSE(res.chunked());
  EXPECT_EQ(*produced, 0u);
  pool.Join();
}

}  // namespace
}  // namespace baton::server
