// `baton bench download`: what a big output costs the server to serve. A shell job writes
// --output-mib MiB into out/ (64 MiB files, half text that deflates, half random bytes that are
// stored), which the worker uploads; then output.zip and one file are downloaded with curl, the
// zip is checked with `unzip -t`, and the server's peak resident memory during the uploads and
// during each download is read from /proc/PID/status (VmHWM, reset through /proc/PID/clear_refs
// before each).
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/bench.h"
#include "bench/bench_process.h"
#include "bench/calibration.h"
#include "client/client.h"

namespace baton::cli {

namespace {

namespace json = boost::json;
using Steady = std::chrono::steady_clock;

void Say(const std::string& text) { bench::Say("download", text); }

// The peak resident set starts again from the current one.
bool ResetPeak(pid_t pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
  return static_cast<bool>(out);
}

int Shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

int RunDownload(const BenchOptions& o) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(o.dir) / ("baton-download-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string data = (dir / "data").string();
  bench::ServerProcess server;
  std::vector<pid_t> workers;
  auto fail = [&](const std::string& why) {
    Say(why);
    bench::StopWorkers(&workers);
    server.Stop(SIGKILL);
    fs::remove_all(dir);
    return 4;
  };
  std::string error;
  if (!server.Start({"--data", data, "--listen", "127.0.0.1:0"}, 60, &error)) return fail(error);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  std::string token;
  std::getline(std::ifstream(data + "/admin.token"), token);
  client::Client c(client::Endpoint::Parse(url).value(), token);
  workers.push_back(bench::SpawnShellWorker(url, token, "download", (dir / "work").string()));

  const uint64_t files = std::max<uint64_t>(1, o.output_mib / 64);
  const std::string command =
      "mkdir -p out && i=0; while [ $i -lt " + std::to_string(files) +
      " ]; do if [ $((i % 2)) -eq 0 ]; then yes 'a line of a log, as jobs write them' | "
      "head -c 64M > out/text$i.txt; else head -c 64M /dev/urandom > out/random$i.bin; fi; "
      "i=$((i + 1)); done";
  Say("a job writes " + std::to_string(files) + " files of 64 MiB");
  if (!ResetPeak(server.pid())) return fail("cannot reset the server's peak memory");
  Result<json::value> submitted =
      c.Submit(json::object{{"type", "shell"}, {"payload", {{"command", command}}}});
  if (!submitted.ok()) return fail("submit: " + submitted.status().ToString());
  const uint64_t id = submitted->at("id").to_number<uint64_t>();
  Result<json::value> done = c.Wait(id, nullptr);
  if (!done.ok()) return fail("wait: " + done.status().ToString());
  if (done->at("state").as_string() != "succeeded") {
    return fail("the job did not succeed: " + json::serialize(*done));
  }
  const int64_t upload_peak = server.PeakRssKb().value_or(0);  // the worker's uploads
  const int64_t rss_before = server.RssKb().value_or(0);

  auto download = [&](const std::string& target, const std::string& file, double* seconds,
                      int64_t* peak) {
    if (!ResetPeak(server.pid())) return false;
    const auto t0 = Steady::now();
    const int rc =
        Shell("curl -sf -H 'Authorization: Bearer " + token + "' -o " + file + " " + url + target);
    *seconds = bench::Seconds(t0, Steady::now());
    *peak = server.PeakRssKb().value_or(0);
    return rc == 0;
  };
  const std::string zip = (dir / "out.zip").string();
  double zip_seconds = 0, file_seconds = 0;
  int64_t zip_peak = 0, file_peak = 0;
  Say("downloading output.zip");
  if (!download("/v1/jobs/" + std::to_string(id) + "/output.zip", zip, &zip_seconds, &zip_peak)) {
    return fail("the download of output.zip failed");
  }
  const uint64_t zip_bytes = fs::file_size(zip);
  const bool zip_ok = Shell("unzip -tq " + zip + " > /dev/null") == 0;
  fs::remove(zip);
  const std::string one = (dir / "one").string();
  if (!download("/v1/jobs/" + std::to_string(id) + "/files/text0.txt", one, &file_seconds,
                &file_peak)) {
    return fail("the download of one file failed");
  }
  bench::StopWorkers(&workers);
  server.Stop(SIGTERM);
  fs::remove_all(dir);

  const uint64_t output_bytes = files * (uint64_t{64} << 20);
  json::object out{{"output_bytes", output_bytes},
                   {"zip_bytes", zip_bytes},
                   {"zip_valid", zip_ok},
                   {"zip_seconds", zip_seconds},
                   {"zip_mib_per_s", static_cast<double>(output_bytes) / (1 << 20) / zip_seconds},
                   {"server_peak_rss_kib_uploads", upload_peak},
                   {"server_rss_kib_before", rss_before},
                   {"server_peak_rss_kib_zip", zip_peak},
                   {"file_bytes", uint64_t{64} << 20},
                   {"file_seconds", file_seconds},
                   {"server_peak_rss_kib_file", file_peak}};
  std::printf("%s\n", json::serialize(json::object{{"download", out}}).c_str());
  return zip_ok ? 0 : 1;
}

}  // namespace baton::cli
