# dnsgrpcd: `make demo` runs the gateway against a local knotd; `make test` runs every test.
#   make build        swift build
#   make test         deps, protobuf-c freshness check, swift build, swift test, integration tests (pytest)
#   make integration  only the integration tests, against the binary already built
#   make demo         deps, swift build, scripts/demo.sh (Ctrl-C stops it; DEMO_ONESHOT=1 exits after the queries)
#   make bench        deps, release build, bench/bench.py: dnsgrpcd side by side with dnsdist (bench/README.md)
#   make fuzz         libFuzzer + ASan build of fuzz/, each target FUZZ_TIME seconds (fuzz/README.md)
#   make soak         release build, bench/soak.py: 60 s of good and hostile clients at once, RSS every 5 s
#   make clean        removes .build, generated Python stubs, caches and run/
# DNSGRPCD=path/to/dnsgrpcd runs the integration tests and the demo against another binary (e.g. a release build).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

SWIFT ?= swift
PYTHON ?= python3
SWIFT_BUILD_FLAGS ?=
# Two pytest-xdist workers, a test file each at a time (its module fixtures start once): the integration tests
# mostly wait on processes, so two halve the suite's time on two cores. PYTEST_FLAGS=-q runs them one by one.
PYTEST_FLAGS ?= -q -n 2 --dist loadfile
DNSGRPCD ?= $(CURDIR)/.build/debug/dnsgrpcd
export DNSGRPCD PYTHON

.PHONY: all build test integration demo bench fuzz soak deps-build deps-demo deps-test deps-bench clean

all: build

deps-build deps-demo deps-test deps-bench: deps-%:
	scripts/install-deps.sh $*

build: deps-build
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

test: deps-test
	Protos/generate.sh --check
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)
	$(SWIFT) test $(SWIFT_BUILD_FLAGS)
	$(PYTHON) -m pytest $(PYTEST_FLAGS) Tests/integration

integration: deps-test
	$(PYTHON) -m pytest $(PYTEST_FLAGS) Tests/integration

# A scratch path of its own, so a release build never invalidates the debug one the tests use.
RELEASE_PATH ?= $(CURDIR)/.build-release
bench: deps-bench
	$(SWIFT) build -c release --scratch-path $(RELEASE_PATH) --product dnsgrpcd
	$(SWIFT) build -c release --scratch-path $(RELEASE_PATH) --product grpc-ceiling
	$(PYTHON) bench/bench.py --binary $(RELEASE_PATH)/release/dnsgrpcd --ceiling $(RELEASE_PATH)/release/grpc-ceiling $(BENCH_FLAGS)

# The harness is a package of its own (fuzz/Package.swift): libFuzzer supplies main, so plain builds never see it.
FUZZ_TIME ?= 120
FUZZ_SANITIZERS := -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
fuzz: deps-test
	cd fuzz && $(SWIFT) build -c release $(FUZZ_SANITIZERS) 2>&1 | { grep -v 'Cannot export local symbol' || true; }
	FUZZ_TIME=$(FUZZ_TIME) fuzz/run.sh $(CURDIR)/fuzz/.build/release/dnsgrpcd-fuzz $(FUZZ_TARGETS)

# dnsperf and knotd come with the bench dependencies, prometheus_client (its /metrics parser) with the test ones.
soak: deps-bench deps-test
	$(SWIFT) build -c release --scratch-path $(RELEASE_PATH) --product dnsgrpcd
	$(PYTHON) bench/soak.py --binary $(RELEASE_PATH)/release/dnsgrpcd $(SOAK_FLAGS)

demo: deps-demo
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)
	scripts/demo.sh

clean:
	rm -rf .build Tests/integration/generated .pytest_cache run fuzz/.build fuzz/.work
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
