// Files end to end: jobs submitted with input files (by the CLI, by curl, by the job-orchestrator
// API), run by a real shell worker that fetches them and uploads what it writes under out/, and
// results downloaded as files and as a zip that the system's unzip reads.
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "util/worker_fixture.h"

namespace baton {
namespace {

using testing::HttpResult;
namespace fs = std::filesystem;
namespace json = boost::json;

class FilesTest : public testing::WorkerFixture {
 protected:
  // Writes `text` to dir_/in/NAME and returns the path.
  std::string Write(const std::string& name, const std::string& text) {
    const fs::path path = fs::path(dir_) / "in" / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
  // curl with the token, and -F form fields; returns "HTTP_STATUS BODY".
  CliResult Curl(const std::string& token, std::vector<std::string> args) {
    std::vector<std::string> argv = {
        "curl", "-sS", "-w", "\n%{http_code}\n", "-H", "Authorization: Bearer " + token};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv);
  }
  static int CurlStatus(const CliResult& r) {
    const size_t nl = r.out.rfind('\n', r.out.size() - 2);
    return std::stoi(r.out.substr(nl + 1));
  }
  static json::value CurlJson(const CliResult& r) {
    const size_t nl = r.out.rfind('\n', r.out.size() - 2);
    return json::parse(r.out.substr(0, nl));
  }
  const std::string kRunSh =
      "#!/bin/sh\n"
      "set -e\n"
      "echo '::progress 0.3 reading'\n"
      "cat a.txt data/b.csv > out/combined.txt\n"
      "echo '::progress 0.9 written'\n"
      "echo inputs joined\n";
};

TEST_F(FilesTest, ARunShJobWithInputFilesByCliAndByCurl) {
  auto worker = StartWorker("w1");
  const std::string run = Write("run.sh", kRunSh);
  const std::string a = Write("a.txt", "alpha\n");
  const std::string b = Write("b.csv", "1,2\n");

  // The CLI: --file PATH, and NAME=PATH for a name with a directory.
  CliResult r =
      Cli({"submit", "shell", "--file", run, "--file", a, "--file", "data/b.csv=" + b, "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("running 30% reading"), std::string::npos) << r.out;
  json::object job = GetJob(1);
  EXPECT_EQ(json::serialize(job.at("input_files")), R"(["run.sh","a.txt","data/b.csv"])");
  CliResult result = Cli({"result", "1", "-o", dir_ + "/res"});
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_EQ(Read(dir_ + "/res/combined.txt"), "alpha\n1,2\n");
  EXPECT_NE(Read(dir_ + "/res/result.json").find(R"("exit_code":0)"), std::string::npos)
      << Read(dir_ + "/res/result.json");
  EXPECT_NE(Cli({"logs", "1"}).out.find("inputs joined"), std::string::npos);

  // curl: the job as a form field, files as file parts; progress seen in the live events.
  CliResult posted =
      Curl(admin_, {"-F", R"(job={"type":"shell"})", "-F", "file=@" + run, "-F", "file=@" + a, "-F",
                    "file=@" + b + ";filename=data/b.csv", url() + "/v1/jobs"});
  ASSERT_EQ(CurlStatus(posted), 201) << posted.out;
  const uint64_t id = CurlJson(posted).at("id").to_number<uint64_t>();
  std::vector<double> progress;
  std::vector<json::object> events = EventsUntilEnd(id);
  for (const json::object& e : events) {
    if (e.at("kind").as_string() == "progress") progress.push_back(e.at("progress").as_double());
  }
  EXPECT_EQ(progress, (std::vector<double>{0, 0.3, 0.9, 1}));  // from 0, what it said, to 1
  ASSERT_EQ(events.back().at("state").as_string(), "succeeded");
  const std::string zip = dir_ + "/out.zip";
  CliResult fetched =
      Curl(admin_, {"-o", zip, url() + "/v1/jobs/" + std::to_string(id) + "/output.zip"});
  ASSERT_EQ(CurlStatus(fetched), 200) << fetched.out;
  CliResult unzipped = Run({"unzip", "-p", zip, "combined.txt"});
  EXPECT_EQ(unzipped.exit_code, 0);
  EXPECT_EQ(unzipped.out, "alpha\n1,2\n");
  HttpResult file = Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/files/combined.txt");
  EXPECT_EQ(file.status, 200);
  EXPECT_EQ(file.body, "alpha\n1,2\n");
  HttpResult listed = Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/result");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(json::serialize(Json(listed).at("files")),
            R"([{"name":"combined.txt","size":10,"url":"/v1/jobs/)" + std::to_string(id) +
                R"(/files/combined.txt"}])");
}

TEST_F(FilesTest, TheJobOrchestratorFileApi) {
  auto worker = StartWorker("w1");
  const std::string run = Write("run.sh", "#!/bin/sh\ncp a.txt out/copy.txt\n");
  const std::string a = Write("a.txt", "from upload\n");
  CliResult up = Curl(admin_, {"-F", "file=@" + run, "-F", "file=@" + a, "-F", "user_id=7", "-F",
                               "service=shell", url() + "/upload"});
  ASSERT_EQ(CurlStatus(up), 201) << up.out;
  json::object answer = CurlJson(up).as_object();
  EXPECT_EQ(answer.at("status").as_string(), "Queued");
  EXPECT_EQ(answer.at("user_id").as_int64(), 7);
  EXPECT_EQ(answer.at("service").as_string(), "shell");
  EXPECT_NE(answer.at("message").as_string().find("queued"), std::string::npos);
  const std::string id = std::to_string(answer.at("id").to_number<uint64_t>());

  // 202 with the status while it is not done, then 200 with the zip.
  HttpResult download;
  ASSERT_TRUE(WaitUntil([&] {
    download = Call(admin_, "GET", "/download/" + id);
    if (download.status == 202) {
      const std::string status(Json(download).at("status").as_string());
      EXPECT_TRUE(status == "Queued" || status == "Running") << status;
    }
    return download.status != 202;
  }));
  ASSERT_EQ(download.status, 200) << download.body;
  std::ofstream(dir_ + "/dl.zip", std::ios::binary) << download.body;
  EXPECT_EQ(Run({"unzip", "-p", dir_ + "/dl.zip", "copy.txt"}).out, "from upload\n");
  EXPECT_EQ(Call(admin_, "HEAD", "/download/" + id).status, 200);

  // terminate: the job is Killed, and its download is gone (410) with the status.
  const std::string slow = Write("slow/run.sh", "sleep 60\n");
  CliResult up2 = Curl(
      admin_, {"-F", "file=@" + slow, "-F", "user_id=7", "-F", "service=shell", url() + "/upload"});
  ASSERT_EQ(CurlStatus(up2), 201) << up2.out;
  const std::string id2 = std::to_string(CurlJson(up2).at("id").to_number<uint64_t>());
  ASSERT_TRUE(WaitUntil([&] { return GetJob(std::stoull(id2)).at("state") == "running"; }));
  HttpResult killed = Call(admin_, "POST", "/terminate/" + id2);
  ASSERT_EQ(killed.status, 200) << killed.body;
  EXPECT_EQ(Json(killed).at("status").as_string(), "Killed");
  HttpResult gone = Call(admin_, "GET", "/download/" + id2);
  EXPECT_EQ(gone.status, 410);
  EXPECT_EQ(Json(gone).at("status").as_string(), "Killed");

  // Refused uploads say why.
  CliResult no_run = Curl(
      admin_, {"-F", "file=@" + a, "-F", "user_id=7", "-F", "service=shell", url() + "/upload"});
  EXPECT_EQ(CurlStatus(no_run), 400);
  EXPECT_NE(no_run.out.find("one of the files must be run.sh"), std::string::npos) << no_run.out;
  CliResult no_service = Curl(admin_, {"-F", "file=@" + run, "-F", "user_id=7", url() + "/upload"});
  EXPECT_EQ(CurlStatus(no_service), 400);
  EXPECT_NE(no_service.out.find("service: required"), std::string::npos) << no_service.out;
  EXPECT_EQ(Call(admin_, "GET", "/download/999").status, 404);
}

// A web app uses one token and names its end users by user_id: each is a user of the app's account
// ("webapp/7"), with its own quota and turn; the app sees all of them, another user none.
TEST_F(FilesTest, AWebAppsEndUsersAreUsersOfItsAccount) {
  StopServer();
  std::ofstream(dir_ + "/baton.toml") << "[scheduling]\nuser_running_max = 1\n";
  StartServer({"--config", dir_ + "/baton.toml"});
  auto worker = StartWorker("w1", "shell", "4");
  const std::string webapp = NewToken("webapp"), other = NewToken("other");
  // Each job waits for its own file to appear, so the test decides when it ends.
  auto upload = [&](const std::string& user_id, const std::string& name) {
    const std::string run = Write(
        name + "/run.sh", "while [ ! -f " + dir_ + "/go-" + name + " ]; do sleep 0.02; done\n");
    CliResult up = Curl(webapp, {"-F", "file=@" + run, "-F", "user_id=" + user_id, "-F",
                                 "service=shell", url() + "/upload"});
    EXPECT_EQ(CurlStatus(up), 201) << up.out;
    return CurlJson(up).at("id").to_number<uint64_t>();
  };
  const uint64_t a1 = upload("1", "a1"), a2 = upload("01", "a2"), b1 = upload("2", "b1");
  EXPECT_EQ(GetJob(a2).at("owner"), "webapp/1") << "one end user, one name";
  EXPECT_EQ(GetJob(a1).at("owner"), "webapp/1");
  EXPECT_EQ(GetJob(b1).at("owner"), "webapp/2");
  // User 1 has its one running job; user 2's runs beside it: two users, not one.
  ASSERT_TRUE(WaitUntil(
      [&] { return GetJob(a1).at("state") == "running" && GetJob(b1).at("state") == "running"; }));
  EXPECT_EQ(GetJob(a2).at("state"), "queued");
  EXPECT_EQ(GetJob(a2).at("waiting_for"), "user webapp/1 runs 1 jobs, the user's running_max");
  std::ofstream(dir_ + "/go-a1") << "";
  ASSERT_TRUE(WaitUntil([&] { return GetJob(a2).at("state") == "running"; }));
  std::ofstream(dir_ + "/go-a2") << "";
  std::ofstream(dir_ + "/go-b1") << "";
  ASSERT_TRUE(WaitUntil([&] { return GetJob(b1).at("state") == "succeeded"; }));
  // The app's token reads, lists and downloads its end users' jobs; another user's does not.
  const std::string id = std::to_string(b1);
  EXPECT_EQ(Call(webapp, "GET", "/v1/jobs/" + id).status, 200);
  EXPECT_EQ(Call(webapp, "GET", "/download/" + id).status, 200);
  EXPECT_EQ(Json(Call(webapp, "GET", "/v1/jobs")).at("jobs").as_array().size(), 3u);
  EXPECT_EQ(Call(other, "GET", "/v1/jobs/" + id).status, 404);
  EXPECT_EQ(Call(other, "GET", "/download/" + id).status, 404);
  EXPECT_TRUE(Json(Call(other, "GET", "/v1/jobs")).at("jobs").as_array().empty());

  // user_id must be a number, and a refused upload makes nothing.
  const std::string run = Write("run.sh", "true\n");
  CliResult abc = Curl(webapp, {"-F", "file=@" + run, "-F", "user_id=abc", "-F", "service=shell",
                                url() + "/upload"});
  EXPECT_EQ(CurlStatus(abc), 400);
  EXPECT_NE(abc.out.find(R"(user_id: must be a number, got \"abc\")"), std::string::npos)
      << abc.out;
  EXPECT_EQ(Json(Call(webapp, "GET", "/v1/jobs")).at("jobs").as_array().size(), 3u);
}

// Names on /upload are taken as job-orchestrator takes them; the native API keeps refusing them.
TEST_F(FilesTest, UploadedFileNamesAreTheirLastSegment) {
  auto worker = StartWorker("w1");
  const std::string body =
      Multipart({{"user_id", "3"}, {"service", "shell"}}, {{"run.sh", "ls > out/names.txt\n"},
                                                           {"../../x.txt", "x"},
                                                           {"/etc/y.txt", "y"},
                                                           {"a/b/z.txt", "z"},
                                                           {"///", "sep"},
                                                           {"donn\xc3\xa9"
                                                            "es-\xe2\x9c\x93.txt",
                                                            "u"}});
  HttpResult up = PostMultipart(admin_, "/upload", body);
  ASSERT_EQ(up.status, 201) << up.body;
  const uint64_t id = Json(up).at("id").to_number<uint64_t>();
  const json::array names = GetJob(id).at("input_files").as_array();
  std::vector<std::string> got;
  for (const json::value& n : names) got.emplace_back(n.as_string());
  EXPECT_EQ(got, (std::vector<std::string>{"run.sh", "x.txt", "y.txt", "z.txt", "file",
                                           "donn\xc3\xa9"
                                           "es-\xe2\x9c\x93.txt"}));
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state") == "succeeded"; }));
  const std::string listed =
      Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/files/names.txt").body;
  EXPECT_NE(listed.find("donn\xc3\xa9"
                        "es-\xe2\x9c\x93.txt\n"),
            std::string::npos)
      << listed;
  EXPECT_NE(listed.find("file\n"), std::string::npos) << listed;
  // An empty name alone becomes "file" too.
  HttpResult empty = PostMultipart(
      admin_, "/upload",
      Multipart({{"user_id", "3"}, {"service", "shell"}}, {{"run.sh", "true\n"}, {"", "e"}}));
  ASSERT_EQ(empty.status, 201) << empty.body;
  EXPECT_EQ(json::serialize(GetJob(Json(empty).at("id").to_number<uint64_t>()).at("input_files")),
            R"(["run.sh","file"])");
  // The native API refuses what /upload forgives.
  HttpResult native = PostMultipart(
      admin_, "/v1/jobs",
      Multipart({{"job", R"({"type":"shell","payload":{"command":"true"}})"}}, {{"../x", "x"}}));
  EXPECT_EQ(native.status, 400) << native.body;
}

TEST_F(FilesTest, AnotherUsersFilesAreNotFound) {
  auto worker = StartWorker("w1");
  const std::string alice = NewToken("alice"), bob = NewToken("bob");
  HttpResult posted = PostMultipart(
      alice, "/v1/jobs",
      Multipart({{"job", R"({"type":"shell","payload":{"command":"cp a.txt out/b.txt"}})"}},
                {{"a.txt", "secret\n"}}));
  ASSERT_EQ(posted.status, 201) << posted.body;
  const std::string id = std::to_string(Json(posted).at("id").to_number<uint64_t>());
  EventsUntilEnd(std::stoull(id));
  EXPECT_EQ(Call(alice, "GET", "/v1/jobs/" + id + "/files/b.txt").body, "secret\n");
  EXPECT_EQ(Call(alice, "GET", "/v1/jobs/" + id + "/inputs/a.txt").body, "secret\n");
  for (const std::string target :
       {"/v1/jobs/" + id + "/result", "/v1/jobs/" + id + "/files/b.txt",
        "/v1/jobs/" + id + "/output.zip", "/v1/jobs/" + id + "/inputs/a.txt", "/download/" + id}) {
    HttpResult r = Call(bob, "GET", target);
    EXPECT_EQ(r.status, 404) << target << " " << r.body;
    EXPECT_EQ(r.body.find("secret"), std::string::npos);
  }
  EXPECT_EQ(Call(bob, "POST", "/terminate/" + id).status, 404);
  // Only workers upload output files; and only for the attempt that is running.
  HttpResult put = Call(bob, "PUT", "/v1/jobs/" + id + "/attempts/1/files/x.txt", "x");
  EXPECT_EQ(put.status, 403) << put.body;
  const std::string attempt = std::to_string(GetJob(std::stoull(id)).at("attempt_id").as_int64());
  const std::string target = "/v1/jobs/" + id + "/attempts/" + attempt + "/files/x.txt";
  // Not as a worker (no Baton-Worker header): refused whatever the attempt's state.
  HttpResult anonymous = Call(admin_, "PUT", target, "x");
  EXPECT_EQ(anonymous.status, 403) << anonymous.body;
  // As the worker that ran it, but the attempt has ended.
  HttpResult late = testing::HttpCall(
      port_, "PUT", target, "x", {{"Authorization", "Bearer " + admin_}, {"Baton-Worker", "w1"}});
  EXPECT_EQ(late.status, 409) << late.body;
  EXPECT_NE(late.body.find("is not running"), std::string::npos) << late.body;
  HttpResult files = Call(alice, "GET", "/v1/jobs/" + id + "/result");
  EXPECT_EQ(Json(files).at("files").as_array().size(), 1u) << files.body;
}

TEST_F(FilesTest, BadFilesAreRefusedAndNothingIsStored) {
  StopServer();
  StartServer({"--files-max", "2", "--file-bytes-max", "1000"});
  const std::string job = R"({"type":"shell","payload":{"command":"true"}})";
  struct Case {
    std::vector<std::pair<std::string, std::string>> files;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"../x", "1"}}, R"(file \"../x\": \".\" and \"..\" are not allowed)"},
      {{{"/etc/passwd", "1"}}, R"(file \"/etc/passwd\": must be a relative path)"},
      {{{"a//b", "1"}}, R"(empty path segment)"},
      {{{"a.txt", "1"}, {"a.txt", "2"}}, R"(file \"a.txt\": uploaded twice)"},
      {{{"a", "1"}, {"b", "2"}, {"c", "3"}}, "at most 2 input files per job (files_max), got 3"},
      {{{"big", std::string(1001, 'x')}}, "1001 bytes, more than file_bytes_max (1000)"},
      {{{"", "1"}}, "a file part needs a file name"},
      // Found by fuzzing: such a name was stored, and every later read of the job failed.
      {{{"caf\xe9.txt", "1"}}, "the name is not valid UTF-8 (byte 3)"},
  };
  for (const Case& c : cases) {
    HttpResult r = PostMultipart(admin_, "/v1/jobs", Multipart({{"job", job}}, c.files));
    EXPECT_EQ(r.status, 400) << c.message;
    EXPECT_NE(r.body.find(c.message), std::string::npos) << r.body;
  }
  auto refused = [&](const std::string& body, const std::string& message) {
    HttpResult r = PostMultipart(admin_, "/v1/jobs", body);
    EXPECT_EQ(r.status, 400) << message;
    EXPECT_NE(r.body.find(message), std::string::npos) << r.body;
  };
  refused(Multipart({}, {{"a", "1"}}), R"(needs a field \"job\")");
  refused(Multipart({{"job", "{"}}, {}), "job: body: not JSON");
  refused(Multipart({{"job", R"({"type":"shell","input_files":["x"]})"}}, {}), "input_files");
  refused(Multipart({{"job", job}, {"color", "red"}}, {}), R"(multipart field \"color\": unknown)");
  refused("--B0undary\r\nContent-Disposition: form-data; name=\"job\"\r\n\r\n{}",
          "ends before its closing boundary");
  // Nothing was stored: no job, no input directory.
  EXPECT_EQ(Json(Call(admin_, "GET", "/v1/jobs")).at("jobs").as_array().size(), 0u);
  // No input directory was made (the first upload makes data/inputs itself).
  EXPECT_TRUE(!fs::exists(dir_ + "/data/inputs") || fs::is_empty(dir_ + "/data/inputs"));
}

// An output file that was handed in (its upload acknowledged) and is then lost from the server's
// disk is reported as lost, naming it, by every download; never a 200 with a shorter archive.
TEST_F(FilesTest, AnOutputFileMissingOnDiskIsDataLossNamingIt) {
  if (OnPostgres()) GTEST_SKIP() << "files are in the database on PostgreSQL, not on a disk";
  auto worker = StartWorker("w1");
  const std::string run =
      Write("run.sh", "#!/bin/sh\necho one > out/a.txt\necho two > out/b.txt\n");
  CliResult up = Curl(
      admin_, {"-F", "file=@" + run, "-F", "user_id=1", "-F", "service=shell", url() + "/upload"});
  ASSERT_EQ(CurlStatus(up), 201) << up.out;
  const uint64_t id = CurlJson(up).at("id").to_number<uint64_t>();
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state") == "succeeded"; }))
      << json::serialize(GetJob(id));
  const std::string job = std::to_string(id);
  const std::string attempt = std::to_string(GetJob(id).at("attempt_id").to_number<uint64_t>());
  ASSERT_EQ(Call(admin_, "GET", "/download/" + job).status, 200);
  ASSERT_EQ(Call(admin_, "GET", "/v1/jobs/" + job + "/files/b.txt").body, "two\n");

  const fs::path lost = fs::path(dir_) / "data/outputs" / job / attempt / "b.txt";
  ASSERT_TRUE(fs::remove(lost)) << lost;
  const std::string message = "output file \\\"b.txt\\\" of job " + job + " (attempt " + attempt +
                              ") is missing from the server's disk";
  for (const std::string path :
       {"/download/" + job, "/v1/jobs/" + job + "/output.zip", "/v1/jobs/" + job + "/files/b.txt",
        "/v1/jobs/" + job + "/result", "/v1/jobs/" + job + "/files/a.txt"}) {
    HttpResult r = Call(admin_, "GET", path);
    EXPECT_EQ(r.status, 500) << path << ": " << r.body;
    EXPECT_NE(r.body.find(R"("code":"data_loss")"), std::string::npos) << path << ": " << r.body;
    EXPECT_NE(r.body.find(message), std::string::npos) << path << ": " << r.body;
  }
  // A file of another size than was handed in is lost too; a name never handed in is not found.
  std::ofstream(lost, std::ios::binary) << "changed\n";
  HttpResult changed = Call(admin_, "GET", "/v1/jobs/" + job + "/output.zip");
  EXPECT_EQ(changed.status, 500);
  EXPECT_NE(changed.body.find("has 8 bytes on disk, 4 were handed in"), std::string::npos)
      << changed.body;
  std::ofstream(lost, std::ios::binary) << "two\n";
  std::ofstream(lost.parent_path() / "stray.txt", std::ios::binary) << "never uploaded\n";
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/" + job + "/files/stray.txt").status, 404);
  HttpResult whole = Call(admin_, "GET", "/download/" + job);
  ASSERT_EQ(whole.status, 200);
  std::ofstream(dir_ + "/whole.zip", std::ios::binary) << whole.body;
  EXPECT_EQ(Run({"unzip", "-Z1", dir_ + "/whole.zip"}).out, "a.txt\nb.txt\n");
}

// Files larger than the server's read chunk and its window are streamed: a file with its length,
// output.zip chunked with text deflated and random bytes stored, and both read back whole.
TEST_F(FilesTest, BigOutputsAreStreamedWhole) {
  auto worker = StartWorker("w1");
  const std::string run = Write("run.sh",
                                "#!/bin/sh\nset -e\nseq 1 500000 > out/big.txt\n"
                                "head -c 3000000 /dev/urandom > out/noise.bin\n");
  CliResult up = Curl(
      admin_, {"-F", "file=@" + run, "-F", "user_id=1", "-F", "service=shell", url() + "/upload"});
  ASSERT_EQ(CurlStatus(up), 201) << up.out;
  const std::string job = std::to_string(CurlJson(up).at("id").to_number<uint64_t>());
  ASSERT_TRUE(WaitUntil([&] { return GetJob(std::stoull(job)).at("state") == "succeeded"; }));
  std::string expected;
  for (int i = 1; i <= 500000; ++i) expected += std::to_string(i) + "\n";

  HttpResult big = Call(admin_, "GET", "/v1/jobs/" + job + "/files/big.txt");
  ASSERT_EQ(big.status, 200);
  EXPECT_EQ(big.body, expected);
  const std::string noise = dir_ + "/noise.bin";
  CliResult fetched = Curl(admin_, {"-D", dir_ + "/noise.head", "-o", noise,
                                    url() + "/v1/jobs/" + job + "/files/noise.bin"});
  ASSERT_EQ(CurlStatus(fetched), 200) << fetched.out;
  EXPECT_EQ(fs::file_size(noise), 3000000u);
  EXPECT_NE(Read(dir_ + "/noise.head").find("Content-Length: 3000000"), std::string::npos);

  const std::string zip = dir_ + "/big.zip";
  CliResult zipped = Curl(
      admin_, {"-D", dir_ + "/zip.head", "-o", zip, url() + "/v1/jobs/" + job + "/output.zip"});
  ASSERT_EQ(CurlStatus(zipped), 200) << zipped.out;
  EXPECT_NE(Read(dir_ + "/zip.head").find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(Run({"unzip", "-tq", zip}).exit_code, 0);
  EXPECT_EQ(Run({"unzip", "-p", zip, "big.txt"}).out, expected);
  EXPECT_EQ(Run({"unzip", "-p", zip, "noise.bin"}).out, Read(noise));
  const std::string listing = Run({"unzip", "-Zl", zip}).out;
  EXPECT_NE(listing.find("defN"), std::string::npos) << listing;  // big.txt shrank
  EXPECT_NE(listing.find("stor"), std::string::npos) << listing;  // noise.bin did not
  EXPECT_LT(fs::file_size(zip), expected.size() / 2 + 3000000);
  EXPECT_TRUE(fs::is_empty(dir_ + "/data/spool"));  // the worker's uploads were spooled, and went
  // HEAD: the head alone, as GET would send it.
  EXPECT_EQ(Call(admin_, "HEAD", "/download/" + job).status, 200);
}

// An upload over 1 MiB goes to a spool file as it arrives, not into memory, and the spool file is
// gone once the answer is; a client cannot name a spool file of its own (the header is the
// server's), nor spool more than file_bytes_max.
TEST_F(FilesTest, BigUploadsAreSpooledAndTheSpoolHeaderIsTheServers) {
  StopServer();
  StartServer({"--file-bytes-max", "3000000"});
  auto worker = StartWorker("w1");
  const std::string go = dir_ + "/go";
  const std::string command = "while [ ! -e " + go + " ]; do sleep 0.05; done";
  HttpResult posted =
      Call(admin_, "POST", "/v1/jobs",
           json::serialize(json::object{{"type", "shell"}, {"payload", {{"command", command}}}}));
  ASSERT_EQ(posted.status, 201) << posted.body;
  const uint64_t id = Json(posted).at("id").to_number<uint64_t>();
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state") == "running"; }));
  const std::string attempt = std::to_string(GetJob(id).at("attempt_id").to_number<uint64_t>());
  const std::string files = "/v1/jobs/" + std::to_string(id) + "/attempts/" + attempt + "/files/";
  const std::vector<std::pair<std::string, std::string>> as_worker = {
      {"Authorization", "Bearer " + admin_},
      {"Baton-Worker", "w1"},
      {"Baton-Spooled-Body", "/etc/passwd"}};  // hostile: ignored
  std::string big(2'000'000, 'b');
  for (size_t i = 0; i < big.size(); i += 1000) big[i] = static_cast<char>('a' + i / 1000 % 26);
  HttpResult up = testing::HttpCall(port_, "PUT", files + "big.bin", big, as_worker);
  ASSERT_EQ(up.status, 201) << up.body;
  EXPECT_NE(up.body.find("\"size\":2000000"), std::string::npos) << up.body;
  HttpResult small = testing::HttpCall(port_, "PUT", files + "small.txt", "mine\n", as_worker);
  ASSERT_EQ(small.status, 201) << small.body;
  HttpResult over =
      testing::HttpCall(port_, "PUT", files + "over.bin", std::string(3'000'001, 'x'), as_worker);
  EXPECT_EQ(over.status, 413) << over.body;
  EXPECT_TRUE(fs::is_empty(dir_ + "/data/spool"));  // every spool file gone with its answer
  std::ofstream(go) << "";
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state") == "succeeded"; }));
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/files/big.bin").body, big);
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/files/small.txt").body,
            "mine\n");
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/files/over.bin").status, 404);
}

// A partial result of a running job: its worker sends a zip of the attempt's directory as it is
// now; 404 when no attempt runs; another user sees nothing, and another worker cannot answer.
TEST_F(FilesTest, APartialResultIsTheRunningAttemptsDirectoryAsItIsNow) {
  auto worker = StartWorker("w1");
  const std::string run = Write("partial/run.sh",
                                "#!/bin/sh\necho 'step 1 of 2' > out/report.txt\n"
                                "echo '::progress 0.5 halfway'\nexec sleep 60\n");
  CliResult up = Curl(
      admin_, {"-F", "file=@" + run, "-F", "user_id=3", "-F", "service=shell", url() + "/upload"});
  ASSERT_EQ(CurlStatus(up), 201) << up.out;
  const uint64_t id = CurlJson(up).at("id").to_number<uint64_t>();
  const std::string job = std::to_string(id);
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("progress") == 0.5; }))
      << json::serialize(GetJob(id));

  for (const std::string path :
       {"/v1/jobs/" + job + "/partial.zip", "/download/" + job + "?partial=1"}) {
    HttpResult zip = Call(admin_, "GET", path);
    ASSERT_EQ(zip.status, 200) << path << ": " << zip.body;
    const std::string file = dir_ + "/partial.zip";
    std::ofstream(file, std::ios::binary) << zip.body;
    EXPECT_EQ(Run({"unzip", "-p", file, "out/report.txt"}).out, "step 1 of 2\n") << path;
    EXPECT_NE(Run({"unzip", "-Z1", file}).out.find("run.sh"), std::string::npos) << path;
  }
  // Another user's token: no such job. Another user's worker: no reader waits for it.
  const std::string mallory = NewToken("mallory");
  EXPECT_EQ(Call(mallory, "GET", "/v1/jobs/" + job + "/partial.zip").status, 404);
  const std::string worker_token = NewWorkerToken("mallory");
  const std::string attempt = std::to_string(GetJob(id).at("attempt_id").to_number<uint64_t>());
  HttpResult forged = testing::HttpCall(
      port_, "PUT", "/v1/jobs/" + job + "/attempts/" + attempt + "/snapshot/3", "PK forged",
      {{"Authorization", "Bearer " + worker_token}, {"Baton-Worker", "w1"}});
  EXPECT_EQ(forged.status, 404) << forged.body;
  EXPECT_EQ(Call(admin_, "GET", "/download/" + job + "?partial=yes").status, 400);

  ASSERT_EQ(Call(admin_, "POST", "/v1/jobs/" + job + "/cancel").status, 200);
  HttpResult ended = Call(admin_, "GET", "/v1/jobs/" + job + "/partial.zip");
  EXPECT_EQ(ended.status, 404) << ended.body;
  EXPECT_NE(ended.body.find("job " + job + " is cancelled: no attempt runs"), std::string::npos)
      << ended.body;
}

// A handler with no working directory cannot give a partial result, and its reader is told so at
// once rather than waiting.
TEST_F(FilesTest, APartialResultOfAnAttemptWithoutADirectoryIsRefused) {
  Hold hold("t");
  InProcessWorker worker(url(), admin_, "w", 1, {{"t", [&](client::AttemptContext&) {
                                                    hold.At("t");
                                                    return client::Outcome::Succeeded();
                                                  }}});
  const uint64_t id = Submit(R"({"type":"t"})");
  ASSERT_TRUE(hold.WaitEntered());
  HttpResult r = Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/partial.zip");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("its worker sent no partial result: the attempt has no working directory"),
            std::string::npos)
      << r.body;
  hold.Release();
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state") == "succeeded"; }));
}

// A job that exits non-zero after writing out/result.json keeps that document as the attempt's
// result, next to its one-line error: the result endpoint and the attempts list show both.
TEST_F(FilesTest, AFailedJobKeepsTheResultItWrote) {
  auto worker = StartWorker("w1");
  const std::string messages =
      R"({"messages":[{"severity":"error","text":"pipe 3 has no diameter","object_id":"pipe-3"},)"
      R"({"severity":"warning","text":"unit assumed","object_id":null}]})";
  const std::string run = Write(
      "fails/run.sh", "#!/bin/sh\ncat > out/result.json <<'EOF'\n" + messages + "\nEOF\nexit 3\n");
  CliResult r = Cli({"submit", "shell", "--file", run, "--retries", "0", "--wait"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  const uint64_t id = 1;
  ASSERT_EQ(GetJob(id).at("state"), "failed") << json::serialize(GetJob(id));
  HttpResult result = Call(admin_, "GET", "/v1/jobs/1/result");
  ASSERT_EQ(result.status, 200) << result.body;
  json::object o = Json(result).as_object();
  EXPECT_EQ(o.at("state"), "failed");
  EXPECT_EQ(o.at("error"), "exit code 3 (attempts used up: 1 of 1)");
  EXPECT_EQ(o.at("result"), json::parse(messages));
  EXPECT_EQ(GetJob(id).at("result"), json::parse(messages));
  HttpResult attempts = Call(admin_, "GET", "/v1/jobs/1/attempts");
  ASSERT_EQ(attempts.status, 200) << attempts.body;
  const json::object first = Json(attempts).at("attempts").at(0).as_object();
  EXPECT_EQ(first.at("error"), "exit code 3");
  EXPECT_EQ(first.at("result"), json::parse(messages));

  // Without a result.json a failure has none, and its result endpoint says why.
  CliResult bare = Cli({"submit", "shell", "--retries", "0", "--wait", "-c", "exit 4"});
  EXPECT_NE(bare.exit_code, 0) << bare.out;
  HttpResult none = Call(admin_, "GET", "/v1/jobs/2/result");
  EXPECT_EQ(none.status, 409) << none.body;
  EXPECT_NE(none.body.find("job 2 is failed: it has no result"), std::string::npos) << none.body;
}

// A job runs with the worker's rights but not with its secrets: the worker's token is neither in
// the job's environment nor readable from the worker's command line, and a symbolic link under
// out/ cannot hand the server a file from outside the job's directory.
TEST_F(FilesTest, AJobReachesNeitherTheWorkersTokenNorFilesOutsideItsDirectory) {
  const std::string secret = Write("secret.txt", "the worker's private key\n");
  auto worker = std::make_unique<testing::ChildProcess>();
  worker->StopWith({SIGTERM, SIGINT});
  ASSERT_TRUE(worker->Start({"/usr/bin/env", "BATON_TOKEN=" + admin_, BATON_PATH, "worker",
                             "--server", url(), "--token", admin_, "--types", "shell", "--id", "w1",
                             "--workdir", dir_ + "/work-w1"}));
  ASSERT_TRUE(WaitUntil(
      [&] { return Call(admin_, "GET", "/v1/workers").body.find("\"w1\"") != std::string::npos; }));

  const uint64_t looks = Submit(R"({"type":"shell","payload":{"command":"env > out/env.txt; )"
                                R"(tr '\\0' ' ' < /proc/$PPID/cmdline > out/cmdline.txt; )"
                                R"(ln -s ../payload.json out/payload-link.json"}})");
  ASSERT_TRUE(WaitUntil([&] { return GetJob(looks).at("state") == "succeeded"; }))
      << json::serialize(GetJob(looks));
  auto file = [&](uint64_t id, const std::string& name) {
    HttpResult r = Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/files/" + name);
    EXPECT_EQ(r.status, 200) << name << ": " << r.body;
    return r.body;
  };
  const std::string env = file(looks, "env.txt");
  EXPECT_NE(env.find("BATON_JOB_ID="), std::string::npos) << env;
  EXPECT_EQ(env.find(admin_), std::string::npos) << env;
  const std::string cmdline = file(looks, "cmdline.txt");
  EXPECT_NE(cmdline.find("--token x"), std::string::npos) << cmdline;
  EXPECT_EQ(cmdline.find(admin_), std::string::npos) << cmdline;
  // A link that stays inside the job's directory is an ordinary output.
  EXPECT_NE(file(looks, "payload-link.json").find("command"), std::string::npos);

  const uint64_t leaks =
      Submit(R"({"type":"shell","payload":{"command":"ln -s )" + secret + R"( out/key.txt"}})");
  ASSERT_TRUE(WaitUntil([&] { return GetJob(leaks).at("state") == "failed"; }))
      << json::serialize(GetJob(leaks));
  EXPECT_EQ(GetJob(leaks).at("error").as_string(),
            "out/key.txt: a symbolic link to a file outside the job's directory (not retryable)");
  // Nothing of it reached the server (on SQLite, files are on disk beside the database).
  if (!OnPostgres()) {
    EXPECT_FALSE(fs::exists(dir_ + "/data/outputs/" + std::to_string(leaks)));
    EXPECT_TRUE(fs::exists(dir_ + "/data/outputs/" + std::to_string(looks)));
  }
}

}  // namespace
}  // namespace baton
