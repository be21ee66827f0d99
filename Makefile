# microlb: see README.md. `make demo` runs the main job, `make test` runs the tests.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
# MICROLB_CONSUL tells the integration tests which consul binary to start.
export MICROLB_CONSUL ?= $(BIN)/consul

.PHONY: all build test unit lint consul proto bench bench-smoke soak fuzz demo clean

all: build

# --version of each binary: the commit, whether the tree had changes, and
# VERSION when set (else the module version Go records).
VERSION ?=
BUILDINFO := github.com/microlb/microlb/internal/buildinfo
LDFLAGS := -X $(BUILDINFO).commit=$(shell git rev-parse HEAD 2>/dev/null) \
	-X $(BUILDINFO).modified=$(shell git diff --quiet HEAD 2>/dev/null && echo false || echo true) \
	$(if $(VERSION),-X $(BUILDINFO).version=$(VERSION))

## build: compile every binary into bin/
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./api-gateway ./services/producer ./services/consumer

## demo: the main job: Consul, 3 producers, the gateway and the consumer across all strategies (Ctrl-C stops it)
demo:
	@scripts/demo.sh

## consul: put a Consul binary at bin/consul (PATH's consul >= 1.13, or the pinned v1.13.9 build)
consul:
	@scripts/consul.sh $(BIN)/consul

## proto: regenerate proto/**/*.pb.go and *.pb.micro.go
proto:
	@scripts/proto.sh

# MODULES are the module directories: the root and the selector, which is a
# module of its own (selector/go.mod) so that its users need only go-micro.
MODULES := . selector

## test: unit and integration tests (real Consul), with the race detector, in both modules; then the 50,000-call soak against stock go-micro
test: consul
	@set -e; for m in $(MODULES); do echo "== $$m"; (cd $$m && $(GO) test -race -count=1 ./...); done
	$(GO) test -count=1 -run '^TestSoakStockMucp$$' ./api-gateway/rpc/

## soak: 1,000,000 calls through the gateway's pooled connections to a stock go-micro v4.11.0 node (progress every 5 s)
SOAK_CALLS ?= 1000000
soak:
	set -o pipefail; MICROLB_SOAK_CALLS=$(SOAK_CALLS) $(GO) test -count=1 -timeout 60m -v -run '^TestSoakStockMucp$$' ./api-gateway/rpc/ 2>&1 | grep -E '^(soak:|--- |ok|FAIL|PASS)|_test.go'

## unit: the tests that need no Consul, in both modules
unit:
	@set -e; for m in $(MODULES); do echo "== $$m"; (cd $$m && MICROLB_SKIP_INTEGRATION=1 $(GO) test -race -count=1 ./...); done

## lint: gofmt, and go vet in both modules
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do echo "== vet $$m"; (cd $$m && $(GO) vet ./...); done

## bench: the full benchmark suite against go-micro, nginx, HAProxy and Caddy (slow; writes bench/results/)
bench: consul
	@scripts/bench.sh

## bench-smoke: a ~30 s run of the same harness, so it cannot rot (CI runs it)
bench-smoke: consul
	@scripts/bench.sh --smoke

## fuzz: run every fuzz target for a bounded time (FUZZTIME, default 20s each)
FUZZTIME ?= 20s
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf $(BIN)
