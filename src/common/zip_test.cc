// The archives are read back by the system's unzip and by Python's zipfile: real ZIP readers,
// not one that agrees with the writer.
#include "common/zip.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace baton {
namespace {

namespace fs = std::filesystem;

std::string RunCommand(const std::string& command, int* exit_code) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string Random(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Text(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i % 1000) + " of a log\n";
  s.resize(n);
  return s;
}

// What Python's zipfile reads: "name method size" per entry, and "ok" if every CRC matches.
constexpr const char* kPythonList =
    "import sys, zipfile\n"
    "z = zipfile.ZipFile(sys.argv[1])\n"
    "for i in z.infolist(): print(i.filename, i.compress_type, i.file_size)\n"
    "print('ok' if z.testzip() is None else 'bad')\n";

class ZipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("baton-zip-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "list.py") << kPythonList;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Save(const std::string& bytes) {
    const fs::path path = dir_ / "out.zip";
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
  }
  // unzip -t's verdict (every CRC checked), exit code 0 expected.
  void ExpectUnzipTests(const std::string& path) {
    int code = 0;
    const std::string out = RunCommand("unzip -t " + path, &code);
    EXPECT_EQ(code, 0) << out;
    EXPECT_NE(out.find("No errors detected"), std::string::npos) << out;
  }
  std::string Python(const std::string& path) {
    int code = 0;
    const std::string out =
        RunCommand("python3 " + (dir_ / "list.py").string() + " " + path, &code);
    EXPECT_EQ(code, 0) << out;
    return out;
  }
  std::string Extract(const std::string& path, const std::string& name) {
    int code = 0;
    std::string out = RunCommand("unzip -p " + path + " " + name, &code);
    EXPECT_EQ(code, 0);
    return out;
  }
  fs::path dir_;
};

TEST_F(ZipTest, SmallEntriesAreReadBack) {
  ZipStream zip;
  zip.Add("result.txt", "forty-two\n");
  zip.Add("sub/data.bin", std::string("\0\1\2\3", 4));
  zip.Add("empty", "");
  zip.Finish();
  const std::string path = Save(zip.Take());
  ExpectUnzipTests(path);
  EXPECT_EQ(Extract(path, "result.txt"), "forty-two\n");
  EXPECT_EQ(Python(path), "result.txt 0 10\nsub/data.bin 0 4\nempty 0 0\nok\n");
}

// Text is deflated; random bytes are stored (deflate would save nothing); both come back whole.
TEST_F(ZipTest, DeflateWhereItPays) {
  const std::string text = Text(300'000), noise = Random(300'000, 7);
  ZipStream zip;
  zip.Add("log.txt", text);
  zip.Add("noise.bin", noise);
  zip.Finish();
  const std::string bytes = zip.Take();
  EXPECT_LT(bytes.size(), text.size() / 4 + noise.size() + 1000);  // the text shrank
  const std::string path = Save(bytes);
  ExpectUnzipTests(path);
  EXPECT_EQ(Python(path), "log.txt 8 300000\nnoise.bin 0 300000\nok\n");
  EXPECT_EQ(Extract(path, "log.txt"), text);
  EXPECT_EQ(Extract(path, "noise.bin"), noise);

  ZipStream stored(ZipStream::Options{.deflate = false});
  stored.Add("log.txt", text);
  stored.Finish();
  EXPECT_EQ(Python(Save(stored.Take())), "log.txt 0 300000\nok\n");
}

// Written in small pieces and taken as it goes, the archive is the same as one written at once.
TEST_F(ZipTest, StreamedInPiecesIsTheSameArchive) {
  const std::string text = Text(200'001), noise = Random(70'000, 3);
  ZipStream whole;
  whole.Add("a.txt", text);
  whole.Add("b.bin", noise);
  whole.Finish();
  const std::string expected = whole.Take();

  ZipStream zip;
  std::string streamed;
  size_t most_pending = 0;
  for (const auto& [name, data] : {std::pair{"a.txt", &text}, std::pair{"b.bin", &noise}}) {
    zip.Begin(name, data->size());
    for (size_t at = 0; at < data->size(); at += 999) {
      zip.Write(std::string_view(*data).substr(at, 999));
      most_pending = std::max(most_pending, zip.pending());
      streamed += zip.Take();
    }
  }
  zip.Finish();
  streamed += zip.Take();
  EXPECT_EQ(streamed, expected);
  EXPECT_LT(most_pending, size_t{128} << 10);  // bounded by the trial, not by the entry
}

// ZIP64 everywhere (sizes, offsets, the end records), as an entry over 4 GiB would have them.
TEST_F(ZipTest, Zip64RecordsAreRead) {
  const std::string text = Text(100'000);
  ZipStream zip(ZipStream::Options{.zip64 = ZipStream::Zip64::kAlways});
  zip.Add("one.txt", text);
  zip.Add("two/empty", "");
  zip.Add("three.bin", Random(1000, 1));
  zip.Finish();
  const std::string path = Save(zip.Take());
  ExpectUnzipTests(path);
  EXPECT_EQ(Python(path), "one.txt 8 100000\ntwo/empty 0 0\nthree.bin 0 1000\nok\n");
  EXPECT_EQ(Extract(path, "one.txt"), text);
}

// More entries than the classic end record can count: the ZIP64 end record says how many.
TEST_F(ZipTest, MoreThan65535EntriesNeedZip64) {
  ZipStream zip;
  for (int i = 0; i < 70'000; ++i) {
    std::string name = "f";
    name += std::to_string(i);
    zip.Add(name, std::to_string(i));
  }
  zip.Finish();
  const std::string path = Save(zip.Take());
  ExpectUnzipTests(path);
  const std::string listed = Python(path);
  EXPECT_NE(listed.find("f69999 0 5\nok\n"), std::string::npos);
  EXPECT_EQ(std::count(listed.begin(), listed.end(), '\n'), 70'001);
}

}  // namespace
}  // namespace baton
