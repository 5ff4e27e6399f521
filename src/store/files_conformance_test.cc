// What every BlobStore and LogStore backend must do. A new backend adds itself to kBackends (and
// its factories below); every test here then runs against it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "store/blob_store.h"
#include "store/database.h"
#include "store/log_store.h"
#include "store/postgres/pg_test_util.h"

namespace baton::store {
namespace {

namespace fs = std::filesystem;

// A backend's stores, and what they need to stay open.
struct Opened {
  std::unique_ptr<Database> db;
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<LogStore> logs;
};

struct Backend {
  std::string name;
  // Where a test's files go, given a scratch directory of its own.
  std::function<std::string(const std::string& dir)> place;
  // The stores of that place; opened again, the same files.
  std::function<Opened(const std::string& place)> open;
};

const std::vector<Backend>& Backends() {
  static const std::vector<Backend> kBackends = {
      {"disk", [](const std::string& dir) { return dir; },
       [](const std::string& dir) {
         return Opened{nullptr, OpenDiskBlobStore(dir + "/files").value(),
                       OpenDiskLogStore(dir + "/logs").value()};
       }},
      {"postgresql", [](const std::string&) { return testing::PgFreshUrl(); },
       [](const std::string& url) {
         std::unique_ptr<Database> db = std::move(OpenDatabase(url).value());
         std::unique_ptr<BlobStore> blobs = std::move(db->ConnectBlobs().value());
         std::unique_ptr<LogStore> logs = std::move(db->ConnectLogs().value());
         return Opened{std::move(db), std::move(blobs), std::move(logs)};
       }},
  };
  return kBackends;
}

std::string ReadAll(BlobReader& r, size_t piece) {
  std::string out;
  for (;;) {
    Result<std::string> chunk = r.Read(piece);
    EXPECT_TRUE(chunk.ok()) << chunk.status().ToString();
    if (!chunk.ok() || chunk->empty()) return out;
    EXPECT_LE(chunk->size(), piece);
    out += *chunk;
  }
}

class FilesConformance : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ =
        fs::temp_directory_path() / ("baton-files-conf-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    place_ = Backends()[GetParam()].place(dir_.string());
    Reopen();
  }
  void TearDown() override {
    opened_ = {};
    fs::remove_all(dir_);
  }
  // The stores closed and opened again, as by a server that restarts.
  void Reopen() {
    opened_ = {};
    opened_ = Backends()[GetParam()].open(place_);
    blobs_ = opened_.blobs.get();
    logs_ = opened_.logs.get();
  }

  Status Put(const std::string& key, const std::string& data) {
    BATON_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> w, blobs_->Create(key));
    BATON_RETURN_IF_ERROR(w->Write(data));
    BATON_RETURN_IF_ERROR(w->Commit());
    return blobs_->Publish({key});
  }
  std::string Get(const std::string& key) {
    Result<std::unique_ptr<BlobReader>> r = blobs_->Open(key);
    if (!r.ok()) return r.status().ToString();  // not what any test blob holds
    return ReadAll(**r, 1000);
  }

  fs::path dir_;
  std::string place_;
  Opened opened_;
  BlobStore* blobs_ = nullptr;
  LogStore* logs_ = nullptr;
};

std::string Bytes(size_t n) {
  std::string data;
  data.reserve(n);
  for (size_t i = 0; i < n; ++i) data += static_cast<char>((i * 7 + i / 251) % 256);
  return data;
}

TEST_P(FilesConformance, ABlobWrittenInPiecesIsReadBackInBoundedPieces) {
  std::string data;
  for (int i = 0; i < 50'000; ++i) data += static_cast<char>('a' + i % 26);
  std::unique_ptr<BlobWriter> w = blobs_->Create("outputs/1/1/big.txt").value();
  for (size_t at = 0; at < data.size(); at += 777) {
    ASSERT_TRUE(w->Write(std::string_view(data).substr(at, 777)).ok());
  }
  EXPECT_EQ(w->size(), data.size());
  // Not readable before its commit.
  EXPECT_EQ(blobs_->Open("outputs/1/1/big.txt").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(w->Commit().ok());
  ASSERT_TRUE(blobs_->Publish({"outputs/1/1/big.txt"}).ok());
  std::unique_ptr<BlobReader> r = blobs_->Open("outputs/1/1/big.txt").value();
  EXPECT_EQ(r->size(), data.size());
  EXPECT_EQ(ReadAll(*r, 4096), data);
  EXPECT_TRUE(r->Read(10).value().empty());  // and stays at the end
}

// Every byte value, in a file of several of a backend's pieces, through a store opened again.
TEST_P(FilesConformance, ABigBinaryFileSurvivesAReopen) {
  const std::string data = Bytes(700'000);
  std::unique_ptr<BlobWriter> w = blobs_->Create("inputs/k/data.bin").value();
  for (size_t at = 0; at < data.size(); at += 100'000) {
    ASSERT_TRUE(w->Write(std::string_view(data).substr(at, 100'000)).ok());
  }
  ASSERT_TRUE(w->Commit().ok());
  ASSERT_TRUE(blobs_->Publish({"inputs/k/data.bin"}).ok());
  w.reset();
  Reopen();
  std::unique_ptr<BlobReader> r = blobs_->Open("inputs/k/data.bin").value();
  EXPECT_EQ(r->size(), data.size());
  EXPECT_EQ(ReadAll(*r, 65'536), data);
  // An empty file is a file.
  ASSERT_TRUE(Put("inputs/k/empty", "").ok());
  EXPECT_EQ(blobs_->Open("inputs/k/empty").value()->size(), 0u);
  EXPECT_EQ(Get("inputs/k/empty"), "");
  EXPECT_EQ(blobs_->List("inputs/k").value().size(), 2u);
}

// A download that began before the file was removed (retention) or replaced ends as it began.
TEST_P(FilesConformance, AReaderOpenedBeforeARemovalReadsToTheEnd) {
  const std::string data = Bytes(600'000);
  ASSERT_TRUE(Put("outputs/3/30/big", data).ok());
  std::unique_ptr<BlobReader> r = blobs_->Open("outputs/3/30/big").value();
  EXPECT_EQ(r->Read(10).value(), data.substr(0, 10));
  blobs_->RemoveAll("outputs/3");
  EXPECT_EQ(blobs_->Open("outputs/3/30/big").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(data.substr(0, 10) + ReadAll(*r, 100'000), data);
}

TEST_P(FilesConformance, AWriterDroppedWithoutCommitLeavesNothing) {
  {
    std::unique_ptr<BlobWriter> w = blobs_->Create("outputs/1/1/gone").value();
    ASSERT_TRUE(w->Write("half").ok());
    // In flight, it is not listed.
    EXPECT_TRUE(blobs_->List("outputs/1/1").value().empty());
  }
  EXPECT_EQ(blobs_->Open("outputs/1/1/gone").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(blobs_->List("outputs/1/1").value().empty());
}

TEST_P(FilesConformance, ACommitReplacesTheBlobOfTheSameKey) {
  ASSERT_TRUE(Put("outputs/1/1/a", "first").ok());
  std::unique_ptr<BlobReader> old_reader = blobs_->Open("outputs/1/1/a").value();
  ASSERT_TRUE(Put("outputs/1/1/a", "second, longer").ok());
  EXPECT_EQ(Get("outputs/1/1/a"), "second, longer");
  // A reader opened before the replacement reads the blob it opened, whole.
  EXPECT_EQ(ReadAll(*old_reader, 2), "first");
}

TEST_P(FilesConformance, ListsAndRemovesByPrefix) {
  ASSERT_TRUE(Put("outputs/7/70/b.txt", "bee").ok());
  ASSERT_TRUE(Put("outputs/7/70/a/x.txt", "x").ok());
  ASSERT_TRUE(Put("outputs/7/71/c", "c").ok());
  ASSERT_TRUE(Put("inputs/k1/run.sh", "echo").ok());
  ASSERT_TRUE(Put("inputs/k2/d/e", "e").ok());
  std::vector<BlobInfo> list = blobs_->List("outputs/7/70").value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "a/x.txt");
  EXPECT_EQ(list[0].size, 1u);
  EXPECT_EQ(list[1].name, "b.txt");
  EXPECT_EQ(list[1].size, 3u);
  EXPECT_TRUE(blobs_->List("outputs/8").value().empty());
  EXPECT_EQ(blobs_->Children("inputs").value(), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_TRUE(blobs_->Children("nothing").value().empty());
  blobs_->Remove("outputs/7/70/b.txt");
  EXPECT_EQ(blobs_->List("outputs/7/70").value().size(), 1u);
  blobs_->RemoveAll("outputs/7");
  EXPECT_TRUE(blobs_->List("outputs/7/71").value().empty());
  blobs_->RemoveAll("inputs/k1");
  EXPECT_EQ(blobs_->Children("inputs").value(), (std::vector<std::string>{"k2"}));
  EXPECT_EQ(Get("inputs/k2/d/e"), "e");
  EXPECT_EQ(blobs_->Open("inputs/k2/d").status().code(), StatusCode::kNotFound);  // no blob
}

TEST_P(FilesConformance, ALogGrowsByAppendsAndIsReadFromAnyOffset) {
  EXPECT_EQ(logs_->Size(5).value(), 0u);
  EXPECT_EQ(logs_->Read(5, 0, 100).value(), "");
  ASSERT_TRUE(logs_->Append(5, "one\n").ok());
  ASSERT_TRUE(logs_->Append(5, "two\n").ok());
  ASSERT_TRUE(logs_->Append(6, "other\n").ok());
  EXPECT_EQ(logs_->Size(5).value(), 8u);
  EXPECT_EQ(logs_->Read(5, 0, 100).value(), "one\ntwo\n");
  EXPECT_EQ(logs_->Read(5, 2, 3).value(), "e\nt");
  EXPECT_EQ(logs_->Read(5, 8, 100).value(), "");
  EXPECT_EQ(logs_->Read(5, 1000, 100).value(), "");
  logs_->Remove(5);
  EXPECT_EQ(logs_->Size(5).value(), 0u);
  EXPECT_EQ(logs_->Read(6, 0, 100).value(), "other\n");
}

TEST_P(FilesConformance, ABigLogIsReadBackInPiecesAndSurvivesAReopen) {
  const std::string big = Bytes(600'000);
  ASSERT_TRUE(logs_->Append(9, "start\n").ok());
  ASSERT_TRUE(logs_->Append(9, big).ok());
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(logs_->Append(9, "line " + std::to_string(i) + "\n").ok());
  std::string want = "start\n" + big;
  for (int i = 0; i < 100; ++i) want += "line " + std::to_string(i) + "\n";
  auto read_all = [&](uint64_t from, size_t piece) {
    std::string out;
    for (;;) {
      Result<std::string> chunk = logs_->Read(9, from + out.size(), piece);
      EXPECT_TRUE(chunk.ok()) << chunk.status().ToString();
      if (!chunk.ok() || chunk->empty()) return out;
      EXPECT_LE(chunk->size(), piece);
      out += *chunk;
    }
  };
  EXPECT_EQ(logs_->Size(9).value(), want.size());
  EXPECT_EQ(read_all(0, 70'000), want);
  // Byte by byte across the end of the big append, into the lines.
  EXPECT_EQ(read_all(599'900, 1), want.substr(599'900));
  Reopen();
  EXPECT_EQ(logs_->Size(9).value(), want.size());
  EXPECT_EQ(read_all(3, 1 << 20), want.substr(3));
  ASSERT_TRUE(logs_->Append(9, "after\n").ok());
  EXPECT_EQ(read_all(want.size(), 100), "after\n");
}

INSTANTIATE_TEST_SUITE_P(Backends, FilesConformance, ::testing::Range(size_t{0}, Backends().size()),
                         [](const auto& info) { return Backends()[info.param].name; });

}  // namespace
}  // namespace baton::store
