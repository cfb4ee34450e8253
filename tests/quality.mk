# Fuzzing, memory checks, benchmarks and the glibc check, included by the Makefile.
# `make test` runs test-quality: short smokes of the fuzzers and the memory
# harness, the shim's tests under the race detector and cgocheck2, and the
# glibc symbol check. `make fuzz`, `make memcheck` and `make bench` are the long runs.

CARGO_FUZZ_VERSION := 0.13.2
CARGO_FUZZ := $(PD_TOOLS)/bin/cargo-fuzz
FUZZ_DIR := tests/fuzz
# The fuzz build instruments the core, so it gets a target folder of its own.
FUZZ_TARGET_DIR := $(PD_CACHE_DIR)/fuzz-target
FUZZ_CORPUS := $(PD_CACHE_DIR)/fuzz-corpus
FUZZ_TARGETS := ffi_handle ffi_host_reply oauth_callback_query dialog_submission stored_records
GO_FUZZ_TARGETS := FuzzHostDispatch FuzzExecuteCommand FuzzServeHTTP
# Seconds per target: FUZZ_SECONDS for `make fuzz`, FUZZ_SMOKE_SECONDS for `make test`.
FUZZ_SECONDS ?= 120
FUZZ_SMOKE_SECONDS ?= 3
# cargo fuzz on the stable toolchain: no sanitizer (that needs nightly);
# memory errors at the C ABI are the memcheck harness's job.
CARGO_FUZZ_RUN = PATH="$(PD_TOOLS)/bin:$$PATH" CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) \
  cargo fuzz run --fuzz-dir $(FUZZ_DIR) --sanitizer none --release

MEMCHECK_TARGET_DIR := $(PD_CACHE_DIR)/memcheck-target
MEMCHECK_BIN := $(MEMCHECK_TARGET_DIR)/release/pd-memcheck
PDSIM_BIN := $(PD_CACHE_DIR)/bin/pdsim
# Calls per entry point and path: MEMCHECK_CALLS without network,
# MEMCHECK_SIM_FLOWS whole connect flows against the simulator.
MEMCHECK_CALLS ?= 10000
MEMCHECK_SIM_FLOWS ?= 300
VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect

.PHONY: bench fuzz fuzz-build fuzz-smoke memcheck memcheck-smoke memcheck-build glibc-check shim-race test-quality

$(CARGO_FUZZ):
	cargo install --quiet --locked --root $(PD_TOOLS) cargo-fuzz --version $(CARGO_FUZZ_VERSION)

## glibc-check: the bundle's binary needs no glibc symbol newer than GLIBC_MIN
glibc-check: server
	@newest=$$(objdump -T $(SERVER_BINARY) | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1); \
	if [ "$$(printf '%s\n%s\n' "$$newest" "$(GLIBC_MIN)" | sort -V | tail -n 1)" != "$(GLIBC_MIN)" ]; then \
	  echo "$(SERVER_BINARY) needs glibc $$newest, newer than $(GLIBC_MIN):"; \
	  objdump -T $(SERVER_BINARY) | grep "GLIBC_$$newest"; exit 1; fi; \
	echo "glibc-check: $(SERVER_BINARY) needs glibc $$newest at most (limit $(GLIBC_MIN))"

fuzz-build: $(CARGO_FUZZ)
	PATH="$(PD_TOOLS)/bin:$$PATH" CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) \
	  cargo fuzz build --fuzz-dir $(FUZZ_DIR) --sanitizer none --release

# Each target first replays its seeds and saved crash inputs (regressions/),
# then fuzzes for the given time. A crash input lands in $(FUZZ_CORPUS)/artifacts.
define run_fuzzers
	for target in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_CORPUS)/$$target $(FUZZ_CORPUS)/artifacts/$$target $(FUZZ_DIR)/regressions/$$target; \
	  echo "cargo fuzz: $$target for $(1) s"; \
	  log=$(FUZZ_CORPUS)/$$target.log; \
	  if ! $(CARGO_FUZZ_RUN) $$target $(FUZZ_CORPUS)/$$target $(FUZZ_DIR)/seeds/$$target $(FUZZ_DIR)/regressions/$$target -- \
	    -max_total_time=$(1) -artifact_prefix=$(FUZZ_CORPUS)/artifacts/$$target/ > $$log 2>&1; then \
	    tail -n 40 $$log; echo "cargo fuzz: $$target failed; full log in $$log"; exit 1; fi; \
	  grep '^Done' $$log; \
	done
	cd go-shim && for target in $(GO_FUZZ_TARGETS); do \
	  echo "go test -fuzz: $$target for $(1) s"; \
	  $(SHIM_ENV) go test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(1)s . || exit 1; \
	done
endef

## fuzz: every fuzz target for FUZZ_SECONDS (default 120) each
fuzz: fuzz-build core
	$(call run_fuzzers,$(FUZZ_SECONDS))

fuzz-smoke: fuzz-build core
	$(call run_fuzzers,$(FUZZ_SMOKE_SECONDS))

## shim-race: the Go shim's tests under the race detector and cgocheck2
shim-race: core
	cd go-shim && $(SHIM_ENV) GOEXPERIMENT=cgocheck2 go test -race -count=1 ./...

$(PDSIM_BIN): $(wildcard tests/pdsim/*.go tests/pdsim/cmd/pdsim/*.go)
	mkdir -p $(dir $@)
	cd tests/pdsim && go build -o $@ ./cmd/pdsim

memcheck-build:
	CARGO_TARGET_DIR=$(MEMCHECK_TARGET_DIR) cargo build --quiet --release --locked --manifest-path tests/memcheck/Cargo.toml

## memcheck: the C ABI harness under valgrind, MEMCHECK_CALLS calls per path
memcheck: memcheck-build $(PDSIM_BIN)
	$(VALGRIND) $(MEMCHECK_BIN) --calls $(MEMCHECK_CALLS) --sim-flows $(MEMCHECK_SIM_FLOWS) --pdsim $(PDSIM_BIN)

memcheck-smoke: memcheck-build $(PDSIM_BIN)
	$(VALGRIND) $(MEMCHECK_BIN) --calls 50 --sim-flows 5 --pdsim $(PDSIM_BIN)

## test-quality: the short smokes and checks that `make test` runs
test-quality: glibc-check fuzz-smoke memcheck-smoke shim-race

CGOBARE_BIN := $(PD_CACHE_DIR)/bin/cgobare

## bench: print each figure with its unit and the command that made it
bench: core memcheck-build dist setup
	cd tests/bench && CGO_LDFLAGS="$(CORE_LIB)" go build -o $(CGOBARE_BIN) ./cgobare
	$(CGOBARE_BIN) -calls 10000000
	cd go-shim && $(SHIM_ENV) go test -run '^$$' -bench '^(BenchmarkABIRoundTripCommand|BenchmarkExecuteCommandHelp)$$' -benchtime 20000x -count 3 . | grep -E '^Benchmark'
	@echo "(command: cd go-shim && go test -run '^\$$' -bench 'BenchmarkABIRoundTripCommand|BenchmarkExecuteCommandHelp' -benchtime 20000x -count 3 .)"
	$(MEMCHECK_TARGET_DIR)/release/pd-core-bench 20000
	@echo "bundle: $$(stat -c %s $(BUNDLE)) bytes compressed, binary $$(stat -c %s $(SERVER_BINARY)) bytes (command: stat -c %s $(BUNDLE) $(SERVER_BINARY))"
	@# The server benchmarks against a real Mattermost server: REST latency
	@# next to a pure-Go baseline plugin, connect flows per second, the
	@# plugin's resident memory and enable-to-ready times.
	cd tests/e2e && PD_BENCH=1 PD_BUNDLE=$(CURDIR)/$(BUNDLE) go test -count=1 -v -timeout 30m -run '^TestServerBenchmarks$$' . \
	  | grep -E '^(command|load|setup|bench):|_test\.go:[0-9]+:|^--- |^(ok|FAIL)'
