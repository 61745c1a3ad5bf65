# Performance targets, included by the Makefile (`include hack/bench.mk`).
# Neither is part of `make test`; the fuzz seeds are (go test runs them).

GO ?= go
FUZZTIME ?= 10s
# FUZZCACHE: where the fuzzer keeps the inputs it found interesting (default:
# Go's build cache, so runs build on each other). `make test` passes an empty
# directory: the fuzzer first re-runs every cached input, and a corpus grown
# over many runs would eat a short FUZZTIME before fuzzing starts.
FUZZCACHE ?=
FUZZARGS = $(if $(FUZZCACHE),-args -test.fuzzcachedir=$(FUZZCACHE))
# FUZZMINIMIZE: how long the fuzzer may spend minimizing an input it found.
# The short run of make test sets 0: on a loaded machine, a 5 s run that
# had just found new inputs failed with "context deadline exceeded" while
# no input had failed. A crash found is still kept, unminimized.
FUZZMINIMIZE ?= 60s

##@ Performance

.PHONY: bench
bench: envtest build ## ServiceLB at scale on kwok (N=500 M=50 PODS=5000 POOL=2; override any): test/bench/results/latest.{json,png}. POOL=all: every node serves every Service (K3s's default; about 30 minutes): every-node.{json,png}.
	bash hack/bench.sh

.PHONY: bench-go
bench-go: ## Go benchmarks of rendering (Corefile, CoreDNS objects, Traefik chart, render cache) with allocations.
	$(GO) test -run '^$$' -bench . -benchmem ./controllers/coredns/ ./controllers/traefik/

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (10s); a crash found is kept under testdata/fuzz as a seed.
	$(GO) test -run '^$$' -fuzz '^FuzzRenderCorefile$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) ./controllers/coredns/ $(FUZZARGS)
	$(GO) test -run '^$$' -fuzz '^FuzzMergeValues$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) ./controllers/traefik/ $(FUZZARGS)

.PHONY: bench-hostile-index
bench-hostile-index: envtest build ## The manager fetches a hostile 30 MiB chart index.yaml from a local server; fails if its peak RSS grows past the bound: test/bench/results/hostile-index.json.
	BENCH_ARGS="-scenario hostile-index" bash hack/bench.sh
