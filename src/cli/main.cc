// baton: the command. `baton server` runs the server; the client commands follow.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "server/server.h"

namespace {

int RunServer(baton::server::ServerOptions options, const std::string& listen) {
  const std::string data = options.data_dir;
  if (auto s = baton::server::ParseListen(listen, &options.host, &options.port); !s.ok()) {
    std::fprintf(stderr, "baton server: %s\n", s.message().c_str());
    return 2;
  }
  // SIGINT and SIGTERM are taken by sigwait below, on this thread; every thread started from
  // here on inherits the block.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = baton::server::Server::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "baton server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::printf("baton server: listening on http://%s:%u (data in %s)\n", options.host.c_str(),
              static_cast<unsigned>((*server)->port()), data.c_str());
  std::printf("baton server: the administrator's token is in %s\n",
              (*server)->admin_token_path().c_str());
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  std::printf("baton server: %s received, stopping\n", received == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  (*server)->Stop();
  std::printf("baton server: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"baton: a durable job orchestrator"};
  app.require_subcommand(1);
  baton::server::ServerOptions options;
  std::string listen = "127.0.0.1:7070";
  CLI::App* server = app.add_subcommand("server", "run the Baton server");
  server->add_option("--data", options.data_dir, "data directory (SQLite database)")
      ->capture_default_str();
  server->add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  baton::server::HttpLimits& http = options.http;
  server->add_option("--header-bytes-max", http.header_bytes_max, "largest request head")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 20));
  server->add_option("--body-bytes-max", http.body_bytes_max, "largest request body")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 32));
  server->add_option("--connections-max", http.connections_max, "open connections at once")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  server
      ->add_option("--idle-timeout-ms", http.idle_timeout_ms, "close a connection silent this long")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{100}, int64_t{24} * 3600 * 1000));
  server
      ->add_option("--finished-jobs-max", options.runtime.engine.finished_jobs_max,
                   "finished jobs kept in memory (all stay in the database)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{10'000'000}));
  server->add_option("--batch-max", options.batch_max, "jobs in one POST /v1/jobs")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  server
      ->add_option("--synchronous", options.sqlite.synchronous,
                   "SQLite durability: FULL, NORMAL or OFF")
      ->capture_default_str()
      ->check(CLI::IsMember({"FULL", "NORMAL", "EXTRA", "OFF"}));
  CLI11_PARSE(app, argc, argv);
  if (server->parsed()) return RunServer(std::move(options), listen);
  return 2;
}
