# Baton's front door. `make run` runs Baton, `make test` runs every test; both install what is
# missing first (Debian packages through apt-get).
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FORMAT_FILES = $(shell git ls-files '*.h' '*.cc' 2>/dev/null)

.PHONY: all deps configure build test test-asan test-tsan chaos test-ha fuzz lint load run bench bench-pg bench-scale bench-store bench-download format format-check clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt | deps
	@echo "cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)" >&2
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >&2

configure: deps $(BUILD_DIR)/build.ninja

# The build talks on stderr, so that what a bench target prints on stdout is its JSON alone.
build: configure
	@echo "cmake --build $(BUILD_DIR) -j $(JOBS)" >&2
	@cmake --build $(BUILD_DIR) -j $(JOBS) >&2

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900

# The same tests under sanitizers, each in a build directory of its own (-O1: faster to build
# and closer to the source in reports; -g1: line tables are all a report's stack needs, and the
# build is a fifth faster than with -g). Any report from any process fails the run
# (scripts/san-test.sh).
SAN_CMAKE = -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1"
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS ?= halt_on_error=1:second_deadlock_stack=1

test-asan: deps
	cmake -S . -B build-asan $(SAN_CMAKE) -DBATON_SANITIZE=address,undefined
	cmake --build build-asan -j $(JOBS)
	scripts/san-test.sh build-asan $(JOBS)

test-tsan: deps
	cmake -S . -B build-tsan $(SAN_CMAKE) -DBATON_SANITIZE=thread
	cmake --build build-tsan -j $(JOBS)
	scripts/san-test.sh build-tsan $(JOBS)

# libFuzzer over every parser of outside input, SECONDS each (clang, ASan + UBSan).
SECONDS ?= 60
fuzz: deps
	cmake -S . -B build-fuzz $(SAN_CMAKE) -DCMAKE_CXX_COMPILER=clang++ -DBATON_FUZZ=ON \
	  -DBATON_SANITIZE=address,undefined
	cmake --build build-fuzz -j $(JOBS) --target fuzz_all
	scripts/fuzz.sh build-fuzz $(SECONDS)

# clang-tidy (.clang-tidy) over src/, and the format check.
lint: build format-check
	scripts/lint.sh $(BUILD_DIR)

# The chaos tests' long form: ROUNDS rounds of faults over SQLite, then over PostgreSQL with two
# servers (SEED=S replays a schedule).
ROUNDS ?= 30
chaos: build
	BATON_CHAOS_ROUNDS=$(ROUNDS) $(if $(SEED),BATON_SEED=$(SEED)) $(BUILD_DIR)/tests/chaos_test
	BATON_CHAOS_ROUNDS=$(ROUNDS) $(if $(SEED),BATON_SEED=$(SEED)) $(BUILD_DIR)/tests/pg_chaos_test \
	  --gtest_filter='*TwoServers*'

# The HA test's long form: etcd and two PostgreSQL nodes under Patroni; the primary's postmaster
# is SIGKILLed HA_ROUNDS times while jobs flow, and every acknowledged job completes once.
HA_ROUNDS ?= 10
test-ha: build
	BATON_CHAOS_ROUNDS=$(HA_ROUNDS) $(BUILD_DIR)/tests/pg_chaos_test --gtest_filter='*Patroni*'

run: build
	@scripts/run.sh $(BUILD_DIR)/src/cli/baton

bench: build
	@$(BUILD_DIR)/src/cli/baton bench

bench-scale: build
	@$(BUILD_DIR)/src/cli/baton bench scale

load: build
	@$(BUILD_DIR)/src/cli/baton bench load --clients 200 --seconds 60 --workers 4

# baton bench over a PostgreSQL of its own with default settings (bench/bench_pg.sh): JSON.
bench-pg: build
	@bench/bench_pg.sh $(BUILD_DIR)/src/cli/baton

bench-store: build
	@$(BUILD_DIR)/bench/bench_store

# A job's 1 GiB output downloaded as output.zip and as one file: the server's peak memory.
bench-download: build
	@$(BUILD_DIR)/src/cli/baton bench download

format: deps
	clang-format -i $(FORMAT_FILES)

format-check: deps
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: $(words $(FORMAT_FILES)) files clean"

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan build-fuzz
