# docker-magents — see README.md.
#   make up         install the plugin, build the image, start AGENTS agents (default 2) on this checkout
#   make            build and install the plugin, then build the agent image (magents/claude-agent:latest)
#   make test       provision what the tests need (engine, plugins, base images), then run every test
#   make bench      benchmarks, each against its peer (buildx bake, compose, Claude itself): one report

SHELL      := /bin/bash
GO         ?= go
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
REVISION   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
PKG        := github.com/docker-magents/docker-magents
LDFLAGS    := -s -w -X $(PKG)/internal/version.Version=$(VERSION) -X $(PKG)/internal/version.Revision=$(REVISION)
PLUGIN_DIR ?= $(HOME)/.docker/cli-plugins
# Extra CA certificates for TLS-intercepting proxies; defaults to the host's bundle when
# SSL_CERT_FILE names one.
CA_CERT    ?= $(SSL_CERT_FILE)
TARGETS    ?= latest
# ENGINES: the engines the e2e suites run against, in turn (host, current).
# E2E_RUN selects tests (a go test -run pattern); E2E_FLAGS adds go test flags.
ENGINES    ?= host current
E2E_RUN    ?= .
E2E_FLAGS  ?=

export CA_CERT

AGENTS     ?= 2

.PHONY: all up engine base-images build install image cross provision test test-quick test-unit test-fuzz test-faults test-escape test-e2e test-soak bench bench-smoke bump-claude clean docs

all: install image

# The main job on a fresh machine, each stage timed (hack/up.sh): an engine (on Debian,
# installed when none answers), the compose and buildx plugins, base images (seeded
# offline when no registry can be reached), the plugin, the image, and a fleet of
# $(AGENTS) agents.
up:
	AGENTS=$(AGENTS) bash hack/up.sh

engine:
	@bash hack/up.sh engine plugins

base-images:
	@bash hack/up.sh base-images

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/docker-magents ./plugin

# Every platform Docker Desktop runs on: the plugin built for each (bin/cross/), and
# every package it is made of, tests included, vetted for each (the tests run on Linux).
CROSS_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
cross:
	@start=$$(date +%s); pkgs=$$($(GO) list -deps ./plugin | grep '^$(PKG)'); \
	for p in $(CROSS_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os != windows ] || ext=.exe; \
		t=$$(date +%s); \
		GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/cross/docker-magents-$$os-$$arch$$ext ./plugin || exit 1; \
		GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) vet -trimpath $$pkgs || exit 1; \
		echo "cross $$p: bin/cross/docker-magents-$$os-$$arch$$ext built, tests vetted in $$(( $$(date +%s) - t ))s"; \
	done; echo "stage cross: $$(( $$(date +%s) - start ))s"

install: build
	install -d $(PLUGIN_DIR)
	install -m 0755 bin/docker-magents $(PLUGIN_DIR)/docker-magents
	@echo "installed $(PLUGIN_DIR)/docker-magents: run 'docker magents --help'"

image: install
	docker magents build $(foreach t,$(TARGETS),--target $(t)) $(if $(CA_CERT),--ca-cert $(CA_CERT))

provision:
	bash hack/provision.sh

# After provisioning, tests that need a provisioned tool (tmux, pass, a credential helper)
# fail rather than skip when it is missing.
test: provision
	$(MAKE) test-unit MAGENTS_REQUIRE_TOOLS=1
	$(MAKE) test-fuzz
	$(MAKE) test-e2e

# Each fuzz target for FUZZTIME (their seed corpora also run in test-unit); a crash leaves
# its input under testdata/fuzz/, to commit as a regression test.
FUZZTIME ?= 10s
FUZZ_TARGETS = internal/fleet:FuzzParseTasks internal/fleet:FuzzAgentNumber internal/fleet:FuzzParseUser \
	compose:FuzzPrepareEnvFile compose:FuzzRender \
	images/supervisor/agent:FuzzRecordHook images/supervisor/agent:FuzzNextState \
	internal/workspace:FuzzLinksResolveAsTheKernelDoes
test-fuzz:
	@start=$$(date +%s); for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t#*:}; \
		ok=0; for try in 1 2; do \
			if $(GO) test ./$$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) >/tmp/magents-fuzz.log 2>&1; then ok=1; break; fi; \
			grep -q 'Failing input written' /tmp/magents-fuzz.log && break; \
			echo "fuzz $$pkg $$fn: the fuzzing engine stopped without a failing input (go's own deadline race); running it again"; \
		done; [ $$ok = 1 ] || { cat /tmp/magents-fuzz.log; exit 1; }; \
		echo "fuzz $$pkg $$fn: $$(grep -o 'execs: [0-9]*' /tmp/magents-fuzz.log | tail -1)"; \
	done; echo "stage test-fuzz: $$(( $$(date +%s) - start ))s"

test-unit:
	@export MAGENTS_REQUIRE_TOOLS=$(MAGENTS_REQUIRE_TOOLS); start=$$(date +%s); \
	unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "not gofmt'ed (run gofmt -w): $$unformatted"; exit 1; fi; \
	$(GO) vet ./... && $(GO) test -count=1 ./...; rc=$$?; \
	echo "stage test-unit: $$(( $$(date +%s) - start ))s"; exit $$rc

# The inner loop: unit tests, a fuzz smoke (2 s a target) and the e2e tests the change
# touches (uncommitted files, else the last commit) on the machine's engine.
test-quick:
	bash hack/test-quick.sh

# The fault suite alone (it is part of test-e2e too), on each engine.
test-faults:
	E2E_RUN='TestFault|TestFleetUpAttachScaleDown' E2E_K8S=0 bash hack/test-e2e.sh $(ENGINES)

# The hostile-agent suite alone (it is part of test-e2e too), on each engine; it ends with
# the line "escape attempts: N, escapes: 0".
test-escape:
	E2E_RUN='TestEscape' E2E_K8S=0 bash hack/test-e2e.sh $(ENGINES)

test-e2e:
	E2E_RUN='$(E2E_RUN)' E2E_FLAGS='$(E2E_FLAGS)' bash hack/test-e2e.sh $(ENGINES)

# A test that fails once in a few runs is found here before it reaches a user or CI:
# SOAK_TARGET (default test-e2e; test for the whole of make test) SOAK times in a row
# (default 3), every run to its end; a summary of each run's time and what failed.
SOAK        ?= 3
SOAK_TARGET ?= test-e2e
test-soak: provision
	SOAK=$(SOAK) SOAK_TARGET=$(SOAK_TARGET) bash hack/test-soak.sh

# Each benchmark repeats what it measures itself (-benchtime 1x); the run ends with one
# report: a markdown table, also written with its JSON under bench/results/.
# The command reference (docs/reference/), written again from the commands; make test
# fails while it is stale.
docs:
	go test ./plugin -run TestCommandReferenceIsCurrent -update-reference

bench: provision
	$(MAKE) image TARGETS="latest dev cloudrun"
	$(GO) test -tags e2e -run '^$$' -bench . -benchtime 1x -timeout 120m ./bench/

# CI's check that the benchmarks and their report work: each at its smallest.
bench-smoke: provision
	$(MAKE) image
	MAGENTS_BENCH_SMOKE=1 $(GO) test -tags e2e -run '^$$' -bench . -benchtime 1x -timeout 20m ./bench/

# Pin another Claude Code release: its version, and the sha512 of each architecture's npm
# package the build checks the download against (from the registry's dist.integrity).
bump-claude:
	@[ "$(origin VERSION)" = "command line" ] || { echo "usage: make bump-claude VERSION=X.Y.Z" >&2; exit 2; }
	bash hack/bump-claude.sh '$(VERSION)'

clean:
	rm -rf bin
