# microlb: see README.md. `make demo` runs the main job, `make test` runs the tests.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
# MICROLB_CONSUL tells the integration tests which consul binary to start.
export MICROLB_CONSUL ?= $(BIN)/consul

.PHONY: all build test unit lint consul proto bench bench-smoke fuzz demo clean

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

## test: unit and integration tests (real Consul), with the race detector
test: consul
	$(GO) test -race -count=1 ./...

## unit: the tests that need no Consul
unit:
	MICROLB_SKIP_INTEGRATION=1 $(GO) test -race -count=1 ./...

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

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
