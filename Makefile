# microlb: see README.md. `make demo` runs the main job, `make test` runs the tests.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
# MICROLB_CONSUL tells the integration tests which consul binary to start.
export MICROLB_CONSUL ?= $(BIN)/consul

.PHONY: all build test unit lint consul proto bench bench-smoke fuzz demo clean

all: build

## build: compile every binary into bin/
build:
	$(GO) build -o $(BIN)/ ./api-gateway ./services/producer ./services/consumer

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

## test: unit and integration tests (real Consul), with the race detector, in both modules
test: consul
	@set -e; for m in $(MODULES); do echo "== $$m"; (cd $$m && $(GO) test -race -count=1 ./...); done

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
