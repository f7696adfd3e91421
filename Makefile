# Entry points (see README.md). Every target installs what it needs first (idempotent).
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DEMO_DATA ?= ../shared/data/nci5k_rdkit.parquet
DEMO_OUT ?= demo_output

.PHONY: all deps configure build install test test-fast format-check fuzz fuzz-sanitize demo bench sanitize sanitize-build cuda-build cuda-test format clean

# With nvcc on PATH or at /usr/local/cuda, the release build (build, test, demo) includes the CUDA
# backend (docs/GPU.md); `make CUDA=OFF ...` leaves it out. The sanitizer build never has it, so
# `make test` compiles and tests both configurations.
NVCC ?= $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
CUDA ?= $(if $(NVCC),ON,OFF)
CUDA_FLAGS = $(if $(filter ON,$(CUDA)),-DDESCPIPE_ENABLE_CUDA=ON -DCMAKE_CUDA_COMPILER=$(NVCC),-DDESCPIPE_ENABLE_CUDA=OFF)
# What `make cuda-build` compiles (build-cuda/, for scripts/gpu-bundle.sh): the library with its
# .cu files, the CLI, the GPU tests and benchmark, the planted-data tools.
CUDA_TARGETS = descpipe_cli descpipe_make_data descpipe_check_recovery descpipe_gpu_tests descpipe_gpu_bench

all: build

deps:
	bash scripts/bootstrap.sh

$(BUILD_DIR)/CMakeCache.txt: CMakeLists.txt | deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CUDA_FLAGS) $(CMAKE_FLAGS)

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CUDA_FLAGS) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# PREFIX/bin/descpipe (RUNPATH $ORIGIN/../lib), PREFIX/lib/libduckdb.so and libdescpipe.a,
# PREFIX/include/descpipe (README.md, "Install"). Idempotent; builds first when needed (as
# `make build` does). DESTDIR stages the tree for a package, as usual.
PREFIX ?= /usr/local

install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD_DIR) --prefix "$(PREFIX)"

# The release suite (with CUDA when nvcc exists: the GPU tests report "Skipped" without a GPU),
# then the sanitizer stage (ASan + UBSan + LeakSanitizer, no CUDA) over every unit and integration
# test. Left to `make sanitize` (every test), to keep `make test` under 25 minutes on 2 cores: the
# comparisons with Python peers, whose time is the peers'; the kill sweep (a run killed at dozens
# of moments: the same paths as one kill, which ResumeTest's other cases run under the
# sanitizers); and the one-against-two-threads determinism check (a release-build property).
# The Python package's tests run in the release stage only (the sanitizer build has no module).
# Both stages run Fuzz.OptionsAndTables (tests/fuzz/options_fuzz.cpp) for a fixed time:
# 40 s in the release stage (60 s until issue 18 added the Python tests), 30 s under the
# sanitizers (where a case costs ~4x as much, and a memory error in an odd path is worth the
# most). `make fuzz` runs it for 10 minutes.
SANITIZE_SKIP = Comparison\.|ResumeTest\.KilledAtAnyMomentResumesToTheSameBytes|RealTableTest\.SameBytesWithOneAndTwoThreads|Report\.Browser

test: build format-check
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory sanitize-build
	cd $(BUILD_DIR)-asan && ctest --output-on-failure -j $(JOBS) -E '$(SANITIZE_SKIP)'

# The inner loop: the release build and the tests labelled `fast` (tests/CMakeLists.txt: no
# sweeps, kills, memory-limit runs, corrupted-file sweeps, fuzz or Python comparisons; the golden
# outputs are in). Under 3 minutes on 2 cores once built; `make test` before pushing.
test-fast: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L '^fast$$'

# Fuzz.OptionsAndTables for longer than `make test` does (FUZZ_SECONDS; FUZZ_SEED: another case
# stream, default the test's fixed seed). A failure prints the case number and how to replay it.
# fuzz-sanitize: the same under ASan + UBSan (build-asan).
FUZZ_SECONDS ?= 600
FUZZ_SEED ?=
FUZZ_ENV = DESCPIPE_FUZZ_SECONDS=$(FUZZ_SECONDS) $(if $(FUZZ_SEED),DESCPIPE_FUZZ_SEED=$(FUZZ_SEED))

fuzz: build
	$(FUZZ_ENV) $(BUILD_DIR)/tests/descpipe_fuzz_tests

fuzz-sanitize: sanitize-build
	$(FUZZ_ENV) $(BUILD_DIR)-asan/tests/descpipe_fuzz_tests

demo: build
	bash scripts/demo.sh $(BUILD_DIR)/descpipe "$(DEMO_DATA)" "$(DEMO_OUT)"

bench: deps
	cmake -S . -B $(BUILD_DIR)-bench -DCMAKE_BUILD_TYPE=Release -DDESCPIPE_BUILD_BENCH=ON -DDESCPIPE_BUILD_TESTS=OFF
	cmake --build $(BUILD_DIR)-bench -j $(JOBS)
	bash bench/run_all.sh $(BUILD_DIR)-bench

# Build type "Sanitize": no -g (faster; reports still name functions) and no -DNDEBUG.
sanitize-build: deps
	cmake -S . -B $(BUILD_DIR)-asan -DCMAKE_BUILD_TYPE=Sanitize -DDESCPIPE_SANITIZE=ON -DDESCPIPE_ENABLE_CUDA=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR)-asan -j $(JOBS)

sanitize: sanitize-build
	cd $(BUILD_DIR)-asan && ctest --output-on-failure -j $(JOBS)

# A separate CUDA build (docs/GPU.md), whatever CUDA says; cuda-test runs its GPU tests (each
# reports "Skipped" on a machine without a GPU; the device-choice tests run).
cuda-build: deps
	@if [ -z "$(NVCC)" ]; then echo "cuda-build: no nvcc on PATH or in /usr/local/cuda/bin: CUDA build skipped"; else \
	  cmake -S . -B $(BUILD_DIR)-cuda -DCMAKE_BUILD_TYPE=Release -DDESCPIPE_ENABLE_CUDA=ON -DDESCPIPE_BUILD_BENCH=ON \
	    -DCMAKE_CUDA_COMPILER=$(NVCC) $(CMAKE_FLAGS) && \
	  cmake --build $(BUILD_DIR)-cuda -j $(JOBS) --target $(CUDA_TARGETS); fi

cuda-test: cuda-build
	@if [ -n "$(NVCC)" ]; then cd $(BUILD_DIR)-cuda && ctest --output-on-failure -j $(JOBS) -R '^(GpuTest|DeviceChoice)\.'; fi

FORMAT_FILES = $$(git ls-files '*.cpp' '*.hpp' '*.cu' '*.cuh')

format:
	clang-format -i $(FORMAT_FILES)

# Every C++/CUDA file as .clang-format has it (Debian 12's clang-format 14); part of `make test`.
# A failure lists the files: `make format` fixes them.
format-check: deps
	@clang-format --dry-run --Werror $(FORMAT_FILES) 2>&1 | grep -o '^[^:]*:[0-9]*:[0-9]*: error' | \
	  cut -d: -f1 | sort -u | sed 's/^/not formatted: /' | grep . && \
	  { echo "run 'make format'"; exit 1; } || true

clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR)-bench $(BUILD_DIR)-asan $(BUILD_DIR)-cuda
