# Baton's front door. `make run` runs Baton, `make test` runs every test; both install what is
# missing first (Debian packages through apt-get).
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FORMAT_FILES = $(shell git ls-files '*.h' '*.cc' 2>/dev/null)

.PHONY: all deps configure build test run bench bench-scale bench-store format format-check clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900

run: build
	@scripts/run.sh $(BUILD_DIR)/src/cli/baton

bench: build
	@$(BUILD_DIR)/src/cli/baton bench

bench-scale: build
	@$(BUILD_DIR)/src/cli/baton bench scale

bench-store: build
	@$(BUILD_DIR)/bench/bench_store

format: deps
	clang-format -i $(FORMAT_FILES)

format-check: deps
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: $(words $(FORMAT_FILES)) files clean"

clean:
	rm -rf $(BUILD_DIR)
