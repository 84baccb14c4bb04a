# fargo's front door: `make up` sets up this machine and starts a cluster,
# `make test` runs the whole test suite. Both install what is missing first.

GO       ?= go
BIN      := $(CURDIR)/bin
FARGO    := $(BIN)/fargo
DATA_DIR ?= /var/lib/fargo
UP_FLAGS ?=

K8S_VERSION   := $(shell $(GO) list -m -f '{{.Version}}' k8s.io/kubernetes 2>/dev/null)
K8S_MINOR     := $(word 2,$(subst ., ,$(K8S_VERSION)))
FARGO_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BUILD_DATE    := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

# kubectl and the apiserver report the Kubernetes version they were built
# from; upstream sets it at link time, and so do we.
K8S_LDFLAGS = $(foreach pkg,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
	-X $(pkg).gitVersion=$(K8S_VERSION) -X $(pkg).gitMajor=1 -X $(pkg).gitMinor=$(K8S_MINOR) \
	-X $(pkg).gitTreeState=clean -X $(pkg).buildDate=$(BUILD_DATE))
LDFLAGS = -s -w -X github.com/fargo-dev/fargo/internal/version.Fargo=$(FARGO_VERSION) $(K8S_LDFLAGS)

TEST_TIMEOUT ?= 40m

.PHONY: all deps test-deps build up down test unit bench conformance clean

all: build

deps:
	./hack/install-deps.sh

# The log receivers the log router's tests send to: kinesalite (a local
# Kinesis, from npm) and VictoriaLogs (its Elasticsearch bulk and Loki push
# endpoints, built from its Go module).
test-deps:
	./hack/install-kinesalite.sh
	./hack/install-victorialogs.sh

# Same compiler flags as `go test` (no -trimpath): the tests then reuse the
# binary's compiled packages instead of compiling Kubernetes a second time.
build: deps
	$(GO) build -ldflags '$(LDFLAGS)' -o $(FARGO) ./cmd/fargo
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/fargo-shim ./cmd/fargo-shim
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/fargo-init ./cmd/fargo-init

up: build
	$(FARGO) up --data-dir $(DATA_DIR) $(UP_FLAGS)

# Stops what `make up` left running (Ctrl-C keeps the pods for adoption).
down: build
	$(FARGO) down --data-dir $(DATA_DIR)

# The end-to-end tests run the binary built above, as a user would; then
# the quick subset of upstream's node conformance specs (test/conformance,
# a module of its own).
test: build test-deps
	FARGO_BIN=$(FARGO) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	cd test/conformance && FARGO_BIN=$(FARGO) $(GO) test -count=1 -timeout 30m -run TestNodeConformanceQuick .

# Every applicable [NodeConformance] spec of upstream's e2e suite against a
# fresh `fargo up`; writes test/conformance/RESULTS.md. About half an hour.
# CONFORMANCE_TIER picks a sandbox tier once a host has several.
CONFORMANCE_PROCS ?= 8
CONFORMANCE_TIER  ?=
conformance: build
	cd test/conformance && FARGO_BIN=$(FARGO) $(GO) test -count=1 -timeout 150m -run 'TestNodeConformance$$' -v . \
		-args -full -procs $(CONFORMANCE_PROCS) $(if $(CONFORMANCE_TIER),-tier $(CONFORMANCE_TIER))

# Medians of 5 starts, one idle-memory reading, 3 scheduling bursts, pod
# starts (100 sequential, a burst of 100) and where their time and CPU
# go, the same pods on a stock node (upstream kubelet, containerd) beside
# fargo's, 5 cold pulls, and the kubelet
# API: 50 exec round trips, a 50 MB log, port-forward against direct.
bench: build
	FARGO_BIN=$(FARGO) $(GO) test ./bench -run '^$$' -bench 'ServerStart|UpStart' -benchtime 5x -timeout 30m -v
	FARGO_BIN=$(FARGO) $(GO) test ./bench -run '^$$' -bench 'ServerIdleRSS|UpIdleRSS' -benchtime 1x -timeout 10m
	FARGO_BIN=$(FARGO) $(GO) test ./bench -run '^$$' -bench SchedulingBurst -benchtime 3x -timeout 30m
	FARGO_BIN=$(FARGO) $(GO) test ./bench -run '^$$' -bench '^BenchmarkPodStart$$' -benchtime 1x -timeout 30m
	FARGO_BIN=$(FARGO) $(GO) test ./bench -run '^$$' -bench PodStartBreakdown -benchtime 1x -timeout 30m -v
	./hack/install-stock-node.sh
	FARGO_BIN=$(FARGO) $(GO) test ./bench -run '^$$' -bench StockNodeSideBySide -benchtime 1x -timeout 60m -v
	FARGO_BIN=$(FARGO) $(GO) test ./bench -run '^$$' -bench MicroVMPodStart -benchtime 1x -timeout 30m
	FARGO_BIN=$(FARGO) $(GO) test ./bench -run '^$$' -bench ColdPull -benchtime 5x -timeout 30m
	FARGO_BIN=$(FARGO) $(GO) test ./bench -run '^$$' -bench 'ExecRoundTrip|LogsThroughput|PortForwardThroughput|ServicePath' -benchtime 1x -timeout 30m
	FARGO_BIN=$(FARGO) $(GO) test ./bench -run '^$$' -bench LogRouter -benchtime 1x -timeout 15m

clean:
	rm -rf $(BIN)
