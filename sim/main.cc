// baton_sim: runs the deterministic simulation from the command line.
//   baton_sim [--runtime] [--seed N] [--jobs N] [--workers N] [--runs N]
// --runtime: the runtime and worker hub simulation (RunRuntimeSimulation), not the engine's.
// Prints one summary line per run; exits 1 if any invariant broke (the seed replays it).
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "sim/simulation.h"

int main(int argc, char** argv) {
  baton::sim::SimOptions o;
  o.seed = std::random_device{}();
  int runs = 1;
  bool runtime = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runtime") == 0) {
      runtime = true;
      continue;
    }
    auto value = [&](const char* flag) -> const char* {
      if (std::strcmp(argv[i], flag) != 0) return nullptr;
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (const char* v = value("--seed")) {
      o.seed = std::stoull(v);
    } else if (const char* v = value("--jobs")) {
      o.jobs = static_cast<uint32_t>(std::stoul(v));
    } else if (const char* v = value("--workers")) {
      o.workers = static_cast<uint32_t>(std::stoul(v));
    } else if (const char* v = value("--runs")) {
      runs = std::stoi(v);
    } else {
      std::fprintf(stderr,
                   "usage: baton_sim [--runtime] [--seed N] [--jobs N] [--workers N] [--runs N]\n");
      return 2;
    }
  }
  bool ok = true;
  for (int r = 0; r < runs; ++r, ++o.seed) {
    baton::sim::SimReport report =
        runtime ? baton::sim::RunRuntimeSimulation(o) : baton::sim::RunSimulation(o);
    std::printf("%s\n", report.Summary().c_str());
    for (const std::string& v : report.violations) std::printf("  violation: %s\n", v.c_str());
    std::fflush(stdout);
    ok &= report.ok();
  }
  return ok ? 0 : 1;
}
