// What every BlobStore and LogStore backend must do. A new backend adds itself to kBackends (and
// its factories below); every test here then runs against it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "store/blob_store.h"
#include "store/log_store.h"

namespace baton::store {
namespace {

namespace fs = std::filesystem;

struct Backend {
  std::string name;
  std::function<Result<std::unique_ptr<BlobStore>>(const std::string& dir)> blobs;
  std::function<Result<std::unique_ptr<LogStore>>(const std::string& dir)> logs;
};

const std::vector<Backend>& Backends() {
  static const std::vector<Backend> kBackends = {
      {"disk", [](const std::string& dir) { return OpenDiskBlobStore(dir + "/files"); },
       [](const std::string& dir) { return OpenDiskLogStore(dir + "/logs"); }},
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
    const Backend& b = Backends()[GetParam()];
    blobs_ = b.blobs(dir_.string()).value();
    logs_ = b.logs(dir_.string()).value();
  }
  void TearDown() override { fs::remove_all(dir_); }

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
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<LogStore> logs_;
};

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

INSTANTIATE_TEST_SUITE_P(Backends, FilesConformance, ::testing::Range(size_t{0}, Backends().size()),
                         [](const auto& info) { return Backends()[info.param].name; });

}  // namespace
}  // namespace baton::store
