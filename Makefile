# codex32 — every task a user or CI runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_BIN := node_modules/.bin
CODEX32 := bin/codex32
export CONTAINER_STORAGE_DIR ?= $(CURDIR)/.codex32
SHIM := build/codex32-shim
STAMP := node_modules/.install-stamp

.PHONY: help setup install install-cli db-setup build shim run demo run-prod serve test test-unit test-coverage format lint type-check \
        container-list container-cli clean docs bench bench-anchors test-guest \
        native-sanitize fuzz fuzz-build

help: ## list every target
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: ## all set-up: system tools, npm deps, build, storage dir, database
	@./setup.sh

$(STAMP): package.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $(STAMP)

install: $(STAMP) ## install npm dependencies

NATIVE_SRC := $(wildcard native/*.c)
NATIVE_HDR := $(wildcard native/*.h)
# the spec keys and run-directory files the supervisor shares with the engine, generated from the
# engine's declaration (plain node, no build output needed): a key the C reads undeclared fails to compile
CONTRACT_H := native/contract.h
$(CONTRACT_H): src/runtime/contract.json scripts/gen-contract.mjs
	node scripts/gen-contract.mjs

# what Debian's dpkg-buildflags gives its packages (conmon and crun among them): both binaries run as
# root and read what others wrote. No start-up cost measurable (A/B of in-process starts: within noise)
HARDEN := -Wformat -Wformat-security -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection \
          -fcf-protection -Wl,-z,relro,-z,now

# one binary from every native/*.c; any source or header change rebuilds it. Linked statically: no
# dynamic loader at each start (0.5 ms of every container start here), and a thousand shims share one
# text instead of each relocating libc (93 kB PSS per idle shim against 125 kB; docs/supervisor.md).
# static-pie, not -static: the supervisor reads what containers send, and keeps its address randomised
$(SHIM): $(NATIVE_SRC) $(NATIVE_HDR) $(CONTRACT_H) Makefile
	@mkdir -p build
	cc -O2 -Wall -Wextra -Werror $(HARDEN) -static-pie -o $(SHIM) $(NATIVE_SRC) -lseccomp

shim: $(SHIM) ## build the per-container supervisor (C)

# checked builds of the supervisor: AddressSanitizer and UndefinedBehaviorSanitizer, every finding
# fatal. Linked dynamically: the sanitizers' runtimes cannot go into a static-pie (docs/supervisor.md).
# clang, not gcc: gcc's separate UBSan runtime ignores log_path and reports on a stderr the engine
# sends to /dev/null, where clang's one runtime writes every report to the run's report directory
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_SHIM := build/sanitize/codex32-shim

$(SAN_SHIM): $(NATIVE_SRC) $(NATIVE_HDR) Makefile
	@mkdir -p build/sanitize
	clang -O1 -g -Wall -Wextra -Werror $(SANITIZE) -o $(SAN_SHIM) $(NATIVE_SRC) -lseccomp

native-sanitize: build $(SAN_SHIM) ## the supervisor's tests against its ASan+UBSan build; a finding fails (SANITIZE_TESTS= to choose)
	@./scripts/native-sanitize.sh

# libFuzzer targets (native/fuzz/fuzz_*.c) with clang, each linked with the supervisor but its main
# (fuzz_attach.c and fuzz_log.c include the file they check, to reach its static state)
FUZZ_TARGETS := spec log attach archive stamp
FUZZ_BINS := $(addprefix build/fuzz/fuzz_,$(FUZZ_TARGETS))
FUZZ_SECONDS ?= 60

build/fuzz/fuzz_%: native/fuzz/fuzz_%.c $(NATIVE_SRC) $(NATIVE_HDR) Makefile
	@mkdir -p build/fuzz
	clang -O1 -g -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
	  -fno-sanitize-recover=all -o $@ $< $(filter-out native/main.c $(if $(filter attach log,$*),native/$*.c),$(NATIVE_SRC)) -lseccomp

fuzz-build: $(FUZZ_BINS) ## build the fuzz targets (clang and libFuzzer: scripts/test-setup.sh installs them)

fuzz: $(FUZZ_BINS) ## run each fuzz target FUZZ_SECONDS (60) from its seed corpus; a crash fails
	@./scripts/native-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

build: install shim ## compile TypeScript to dist/ (the library), the CLI bundle and the supervisor to build/
	$(NODE_BIN)/tsc -p tsconfig.build.json
	@node scripts/bundle.mjs

db-setup: build ## create or migrate the state database
	@./setup_database.sh

run: setup ## set up everything and run the bot runner with the sample bots (PORT=, HOST= or .env's CODEX32_PORT/CODEX32_HOST)
	node bin/codex32 serve --apply bots/ecosystem.yaml $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))

install-cli: build ## put `codex32` on the PATH (a launcher in /usr/local/bin pointing at this checkout)
	@printf '#!/bin/sh\nexec %s/bin/codex32 "$$@"\n' "$(CURDIR)" > /usr/local/bin/codex32 && chmod 755 /usr/local/bin/codex32
	@echo "codex32 is on the PATH: $$(command -v codex32)"

demo: setup ## a sample bot in a container, shown with ps, logs and inspect, then stopped
	@./scripts/demo.sh

run-prod: build ## run the bot runner service with production settings
	NODE_ENV=production LOG_LEVEL=info $(CODEX32) serve

serve: build ## run the bot runner service (HTTP API and dashboard)
	$(CODEX32) serve

test: setup ## set up everything (the browser test's chromium too) and run all tests: the suite, the soak alone, the guest pass
	@./scripts/test-setup.sh
	$(NODE_BIN)/vitest run
	CODEX32_TEST_ALONE=1 $(NODE_BIN)/vitest run
	@./scripts/guest/run.sh

# a Debian 12 guest with systemd and cgroup v2 under qemu runs the files in scripts/guest/files (docs/hosts.md)
test-guest: build ## the guest pass: chosen tests in a systemd + cgroup v2 guest under qemu (GUEST_FILES= to choose)
	@./scripts/test-setup.sh
	@./scripts/guest/run.sh

test-unit: build ## unit tests only (beside the code in src/)
	$(NODE_BIN)/vitest run src

test-coverage: setup ## all tests with a coverage report in coverage/
	@./scripts/test-setup.sh
	$(NODE_BIN)/vitest run --coverage

format: install ## format the sources with prettier
	$(NODE_BIN)/prettier --write "src/**/*.ts" "test/**/*.ts" "bench/**/*.ts"

lint: install ## strict type-check with unused-code checks
	$(NODE_BIN)/tsc -p tsconfig.json --noEmit --noUnusedLocals --noUnusedParameters

type-check: install ## TypeScript type-check
	$(NODE_BIN)/tsc -p tsconfig.json --noEmit

container-list: build ## list every container
	$(CODEX32) ps -a

container-cli: build ## the CLI's help (then run: node bin/codex32 <command>)
	$(CODEX32) --help

docs: ## where the documentation is
	@echo "README.md, CUSTOM_CONTAINER_ENGINE.md and docs/*.md"; ls docs

# containers on one user network in `make bench`: every start and stop rewrites every member's /etc/hosts,
# so 1000 take over ten minutes on 2 cores under load (`node bench/scale.mjs --user-network` runs 1000)
USERNET_COUNT ?= 200
# idle bots on the default private network: 10000 is the target's count (about half an hour on 2 cores);
# `make bench SCALE_COUNT=1000` for a shorter run
SCALE_COUNT ?= 10000

bench: build ## benchmarks: medians and ratios against anchors measured in the same run, then 10000 containers at scale
	node --expose-gc bench/run.mjs
	node bench/scale.mjs --count $(SCALE_COUNT)
	node bench/network.mjs
	node bench/images.mjs
	node bench/dockerapi.mjs
	node bench/bots.mjs
	node bench/eventloop.mjs
	node bench/cluster.mjs
	node bench/tenants.mjs
	node bench/compose.mjs
	node bench/build.mjs
	node bench/soak.mjs
	node bench/scale.mjs --user-network --count $(USERNET_COUNT)

bench-anchors: ## install the anchors the benchmarks compare against (bubblewrap, runc, podman, the docker.io daemon, docker-compose, a registry, buildah, pm2)
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap runc podman docker.io docker-compose docker-registry buildah
	command -v pm2 >/dev/null || npm install -g pm2

clean: ## remove build output, the local storage dir and test artifacts
	rm -rf dist build coverage test-artifacts bench/results
	@if [ -d .codex32 ]; then CONTAINER_STORAGE_DIR=$(CURDIR)/.codex32 $(CODEX32) prune >/dev/null 2>&1 || true; rm -rf .codex32; fi
