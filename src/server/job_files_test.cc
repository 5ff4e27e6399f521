#include "server/job_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace baton::server {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(Result<std::unique_ptr<store::BlobReader>> reader) {
  if (!reader.ok()) return reader.status().ToString();  // not what any test file holds
  std::string out;
  for (Result<std::string> chunk = (*reader)->Read(3); chunk.ok() && !chunk->empty();
       chunk = (*reader)->Read(3)) {
    out += *chunk;
  }
  return out;
}

TEST(FileNames, AcceptsRelativePathsInsideTheJob) {
  for (const char* name : {"run.sh", "data/a.csv", "a b.txt", "..x", "x..", ".hidden", "é.txt"}) {
    EXPECT_TRUE(ValidateFileName(name).ok()) << name;
  }
}

TEST(FileNames, RefusesEscapesAndOddNamesSayingWhy) {
  auto error = [](std::string_view name) { return ValidateFileName(name).message(); };
  EXPECT_EQ(error("../x"),
            R"(file "../x": "." and ".." are not allowed: files stay inside the job's directory)");
  EXPECT_EQ(
      error("a/../../x"),
      R"(file "a/../../x": "." and ".." are not allowed: files stay inside the job's directory)");
  EXPECT_EQ(error("/etc/passwd"),
            R"(file "/etc/passwd": must be a relative path (no leading "/"))");
  EXPECT_EQ(error(""), "file name: must not be empty");
  EXPECT_EQ(error("a//b"), R"(file "a//b": empty path segment ("//" or a trailing "/"))");
  EXPECT_EQ(error("a/"), R"(file "a/": empty path segment ("//" or a trailing "/"))");
  EXPECT_EQ(error("a\\b"), R"(file "a\b": use "/" to separate directories, not "\")");
  EXPECT_EQ(error(std::string("a\nb")),
            R"(file "a?b": control characters are not allowed in file names)");
  EXPECT_EQ(error(std::string(256, 'x')).substr(0, 7), "file \"x");
  EXPECT_EQ(error("x.tmp"), R"(file "x.tmp": names ending in .tmp are reserved)");
  // Names are stored as JSON (a job's input_files), which must be UTF-8.
  EXPECT_NE(error("caf\xe9.txt").find("the name is not valid UTF-8 (byte 3)"), std::string::npos)
      << error("caf\xe9.txt");
  EXPECT_EQ(ValidateFileName("../x").code(), StatusCode::kInvalidArgument);
}

class JobFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("baton-files-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    FileLimits limits;
    limits.files_max = 3;
    limits.file_bytes_max = 100;
    limits.output_bytes_max = 150;
    files_.emplace(store::OpenDiskBlobStore(dir_.string()).value(), limits);
  }
  void TearDown() override { fs::remove_all(dir_); }
  size_t InputDirs() {
    if (!fs::exists(dir_ / "inputs")) return 0;
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir_ / "inputs"), {}));
  }
  fs::path dir_;
  std::optional<JobFiles> files_;
};

TEST_F(JobFilesTest, StoresInputsAndReadsThemBack) {
  Result<std::string> key = files_->StoreInputs({{"run.sh", "echo 1"}, {"d/a.csv", "1,2"}});
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(ReadAll(files_->OpenInput(*key, "run.sh")), "echo 1");
  EXPECT_EQ(ReadAll(files_->OpenInput(*key, "d/a.csv")), "1,2");
  EXPECT_EQ(files_->OpenInput(*key, "nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(files_->OpenInput(*key, "../x").status().code(), StatusCode::kInvalidArgument);
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    EXPECT_FALSE(entry.path().string().ends_with(".tmp")) << entry.path();  // none left over
  }
  files_->DropInputs(*key);
  EXPECT_EQ(InputDirs(), 0u);
}

TEST_F(JobFilesTest, RefusedInputsLeaveNothing) {
  auto code = [&](std::vector<FileData> f) { return files_->StoreInputs(f).status().code(); };
  EXPECT_EQ(code({{"a", "1"}, {"a", "2"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"a", "1"}, {"a/b", "2"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"a", "1"}, {"b", "1"}, {"c", "1"}, {"d", "1"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"big", std::string(101, 'x')}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"ok", "1"}, {"/abs", "1"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(files_->StoreInputs({{"a", "1"}, {"a", "2"}}).status().message(),
            R"(file "a": uploaded twice)");
  EXPECT_EQ(InputDirs(), 0u);
}

TEST_F(JobFilesTest, OutputsPerAttemptWithLimits) {
  ASSERT_TRUE(files_->WriteOutput(7, 70, "b.txt", "bee").ok());
  ASSERT_TRUE(files_->WriteOutput(7, 70, "a/x.txt", std::string(100, 'x')).ok());
  ASSERT_TRUE(files_->WriteOutput(7, 71, "other", "o").ok());
  std::vector<FileInfo> list = files_->ListOutputs(7, 70).value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "a/x.txt");
  EXPECT_EQ(list[0].size, 100u);
  EXPECT_EQ(list[1].name, "b.txt");
  EXPECT_EQ(ReadAll(files_->OpenOutput(7, 70, "b.txt")), "bee");
  EXPECT_TRUE(files_->ListOutputs(8, 1).value().empty());
  // Over the attempt's total, the file size, or with a bad name: refused, nothing written.
  EXPECT_EQ(files_->WriteOutput(7, 70, "c", std::string(60, 'c')).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(files_->WriteOutput(7, 70, "c", std::string(101, 'c')).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(files_->WriteOutput(7, 70, "../../escape", "x").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(files_->ListOutputs(7, 70).value().size(), 2u);
  // Replacing a file counts its new size only.
  EXPECT_TRUE(files_->WriteOutput(7, 70, "b.txt", std::string(40, 'b')).ok());
  ASSERT_TRUE(files_->WriteOutput(7, 70, "c", "c").ok());
  EXPECT_EQ(files_->WriteOutput(7, 70, "d", "d").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(JobFilesTest, RemovesOrphanInputsOnly) {
  const std::string kept = files_->StoreInputs({{"x", "1"}}).value();
  const std::string orphan = files_->StoreInputs({{"y", "2"}}).value();
  Result<size_t> removed = files_->RemoveOrphanInputs(
      [&](const std::string& key) -> Result<bool> { return key == kept; });
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  EXPECT_TRUE(files_->OpenInput(kept, "x").ok());
  EXPECT_EQ(files_->OpenInput(orphan, "y").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace baton::server
