# Build, test and demo the Mattermost PagerDuty plugin.
# `make demo` sets up, builds the bundle and plays the main flow; `make test` runs every test.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := dist

PLUGIN_ID := $(shell sed -n 's/^ *"id": *"\([^"]*\)".*/\1/p' plugin.json | head -n 1)
PLUGIN_VERSION := $(shell sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' plugin.json | head -n 1)
BUNDLE := dist/$(PLUGIN_ID)-$(PLUGIN_VERSION).tar.gz

# Slow cold builds (Cargo's target folder, the Mattermost server) live outside the repository.
export PD_CACHE_DIR ?= $(HOME)/.cache/mattermost-pagerduty
export CARGO_TARGET_DIR ?= $(PD_CACHE_DIR)/cargo-target

# The bundle's binary links glibc dynamically and must load on glibc 2.28
# (RHEL 8). Zig's C toolchain links against glibc 2.28's symbol versions, so
# cargo-zigbuild builds the core and `zig cc` links the Go binary.
GLIBC_MIN := 2.28
CORE_TARGET := x86_64-unknown-linux-gnu
PD_TOOLS := $(PD_CACHE_DIR)/tools
ZIGLANG_VERSION := 0.17.1
CARGO_ZIGBUILD_VERSION := 0.24.1
ZIG := $(PD_TOOLS)/bin/zig
CARGO_ZIGBUILD := $(PD_TOOLS)/bin/cargo-zigbuild
CORE_LIB := $(CARGO_TARGET_DIR)/$(CORE_TARGET)/release/libpagerduty_core.a
export CGO_ENABLED := 1
# Go's build cache does not look at the contents of libraries named in
# CGO_LDFLAGS, so a define carrying the library's hash forces a relink
# whenever the core changes.
CORE_HASH = $(shell sha256sum $(CORE_LIB) | cut -c1-16)
# CGO_LDFLAGS is set only for the shim: exported to every recipe, it would
# also reach the Mattermost server build in tests/scripts/setup.sh.
SHIM_ENV = CGO_CFLAGS="-DPAGERDUTY_CORE_SHA256=$(CORE_HASH)" CGO_LDFLAGS="$(CORE_LIB)"

STAGE := dist/stage/$(PLUGIN_ID)
SERVER_BINARY := $(STAGE)/server/dist/plugin-linux-amd64

.PHONY: dist core server webapp header check test test-unit test-e2e setup demo deploy clean

## dist: build the installable bundle dist/<id>-<version>.tar.gz
dist: $(BUNDLE)

core: $(ZIG) $(CARGO_ZIGBUILD)
	PATH="$(PD_TOOLS)/bin:$$PATH" cargo zigbuild --release --locked --target $(CORE_TARGET).$(GLIBC_MIN)

# Zig's libunwind provides the _Unwind_* symbols that Rust's panic handling needs.
server: core
	mkdir -p $(dir $(SERVER_BINARY))
	cd go-shim && $(SHIM_ENV) CC="$(ZIG) cc -target x86_64-linux-gnu.$(GLIBC_MIN)" CGO_LDFLAGS="$(CORE_LIB) -lunwind" \
	  GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "-s -w" -o ../$(SERVER_BINARY) .

# Zig comes from PyPI's ziglang package, in a virtualenv under the cache.
$(ZIG):
	python3 -m venv $(PD_TOOLS)/ziglang-venv
	$(PD_TOOLS)/ziglang-venv/bin/pip install --quiet --disable-pip-version-check ziglang==$(ZIGLANG_VERSION)
	mkdir -p $(dir $@)
	ln -sf "$$($(PD_TOOLS)/ziglang-venv/bin/python -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))')/zig" $@

$(CARGO_ZIGBUILD):
	cargo install --quiet --locked --root $(PD_TOOLS) cargo-zigbuild --version $(CARGO_ZIGBUILD_VERSION)

webapp/node_modules/.package-lock.json: webapp/package-lock.json
	cd webapp && npm ci --no-audit --no-fund --loglevel=error

webapp: webapp/node_modules/.package-lock.json
	cd webapp && npm run --silent build

$(BUNDLE): server webapp
	mkdir -p $(STAGE)/webapp/dist
	cp plugin.json $(STAGE)/
	cp -r assets $(STAGE)/
	cp webapp/dist/main.js $(STAGE)/webapp/dist/
	tar -C dist/stage -czf $@ $(PLUGIN_ID)
	@echo "Built $@ ($$(du -k $@ | cut -f1) KiB)"

## header: regenerate go-shim/pagerduty_core.h from src/ffi.rs
header:
	UPDATE_C_HEADER=1 cargo test --locked --test c_header

## check: formatting and lint (rustfmt, clippy, gofmt, go vet, the webapp's lint)
check: core webapp/node_modules/.package-lock.json
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings
	@unformatted=$$(gofmt -l go-shim tests/pdsim $$(test -d tests/e2e && echo tests/e2e)); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	cd go-shim && $(SHIM_ENV) go vet ./...
	cd tests/pdsim && go vet ./...
	cd webapp && npm run --silent lint

## test-unit: Rust, Go and webapp unit tests (no servers)
test-unit: core webapp/node_modules/.package-lock.json
	cargo test --locked
	cd go-shim && $(SHIM_ENV) go test -count=1 ./...
	cd tests/pdsim && go test -count=1 ./...
	cd webapp && npm test --silent

## setup: install Chromium and PostgreSQL when missing and build the Mattermost server (cached)
setup:
	bash tests/scripts/setup.sh

## test-e2e: the end-to-end suite against a real Mattermost server
test-e2e: dist setup
	cd tests/e2e && go vet ./...
	cd tests/e2e && PD_BUNDLE=$(CURDIR)/$(BUNDLE) go test -count=1 -timeout 30m ./...

## test: every test, style checks and end-to-end included (setup first: the webapp browser test needs Chromium)
test: setup check test-unit test-quality test-e2e

## demo: set up, build the bundle and play the whole flow against a local server and the simulator
demo: dist setup
	cd tests/e2e && PD_BUNDLE=$(CURDIR)/$(BUNDLE) PD_TRANSCRIPT=1 go test -count=1 -v -run '^TestMainFlow$$' .

## deploy: upload and enable the bundle on MM_SERVICESETTINGS_SITEURL with MM_ADMIN_TOKEN
# The variables are checked before the bundle is built, so a missing one fails fast.
deploy:
	@test -n "$${MM_SERVICESETTINGS_SITEURL:-}" || { echo "Set MM_SERVICESETTINGS_SITEURL to the server's URL."; exit 1; }
	@test -n "$${MM_ADMIN_TOKEN:-}" || { echo "Set MM_ADMIN_TOKEN to a system admin's personal access token."; exit 1; }
	@$(MAKE) --no-print-directory dist
	@reply=$$(mktemp); trap 'rm -f "$$reply"' EXIT; \
	status=$$(curl -sS -o "$$reply" -w '%{http_code}' -H "Authorization: Bearer $$MM_ADMIN_TOKEN" \
	  -F "plugin=@$(BUNDLE)" -F force=true "$$MM_SERVICESETTINGS_SITEURL/api/v4/plugins") || { \
	  echo "Could not reach $$MM_SERVICESETTINGS_SITEURL; check the URL and that the server is running."; exit 1; }; \
	if [ "$$status" != 201 ]; then \
	  echo "Upload failed with HTTP $$status: $$(cat "$$reply")"; \
	  echo "Uploads need PluginSettings.EnableUploads=true and, for this unsigned bundle, RequirePluginSignature=false; the token must belong to a system admin."; \
	  exit 1; fi; \
	status=$$(curl -sS -o "$$reply" -w '%{http_code}' -X POST -H "Authorization: Bearer $$MM_ADMIN_TOKEN" \
	  "$$MM_SERVICESETTINGS_SITEURL/api/v4/plugins/$(PLUGIN_ID)/enable"); \
	if [ "$$status" != 200 ]; then echo "Enable failed with HTTP $$status: $$(cat "$$reply")"; exit 1; fi
	@echo "Uploaded and enabled $(PLUGIN_ID) $(PLUGIN_VERSION) on $$MM_SERVICESETTINGS_SITEURL"

clean:
	rm -rf dist webapp/dist

# bench, fuzz, memcheck and test-quality (the smokes that `make test` runs).
include tests/quality.mk
