# wharf — build, test and demo targets. Run `make help` for the list.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

VERSION ?= 0.1.0
IMG ?= ghcr.io/wharf-dev/wharf:v$(VERSION)
BIN := $(CURDIR)/bin
TOOLS_BIN := $(BIN)/tools
export KUBEBUILDER_ASSETS ?= $(TOOLS_BIN)
GO ?= go
CONTROLLER_GEN := $(GO) tool controller-gen

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z_-]+:.*##/ {printf "  %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Regenerate the CRD and RBAC from the Go markers.
	$(CONTROLLER_GEN) rbac:roleName=wharf-manager crd paths="./api/..." paths="./controllers/..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	$(GO) run ./hack/crdref

.PHONY: docs
docs: ## Regenerate docs/reference.md from the CRD.
	$(GO) run ./hack/crdref

.PHONY: generate
generate: ## Regenerate deepcopy code.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths="./api/..."

.PHONY: fmt
fmt: ## go fmt.
	$(GO) fmt ./...

.PHONY: vet
vet: ## go vet.
	$(GO) vet ./...

.PHONY: lint
lint: ## staticcheck (a Go tool dependency in go.mod, like controller-gen).
	$(GO) tool staticcheck ./...

.PHONY: build
build: ## Build bin/manager.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN)/manager ./cmd

.PHONY: plugin
plugin: ## Build bin/kubectl-wharf: validate and render a ClusterNetworking as the API server would, without a cluster.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN)/kubectl-wharf ./cmd/kubectl-wharf

.PHONY: envtest
envtest: ## Build the control-plane binaries (apiserver, etcd, controller-manager, scheduler, kwok, coredns, kubectl) into bin/tools.
	bash hack/tools.sh

##@ Test

.PHONY: test
test: envtest vet lint ## Everything CI runs: vet, staticcheck, unit, envtest, end-to-end and fault tests, and a short fuzz run.
	@echo "==> go test ./...: unit, golden, envtest, end-to-end and fault tests"
	$(GO) test -count=1 -timeout 60m ./...
	@echo "==> fuzz: a short run of each fuzz target from an empty corpus"
	rm -rf bin/fuzz-corpus
	$(MAKE) fuzz FUZZTIME=5s FUZZMINIMIZE=0 FUZZCACHE=$(CURDIR)/bin/fuzz-corpus

.PHONY: test-unit
test-unit: ## Pure unit and golden tests only.
	$(GO) test -count=1 -short ./...

.PHONY: demo
demo: envtest build ## Start a local cluster, run the operator, apply the sample and show the result.
	bash hack/demo.sh

include hack/ship.mk
include hack/bench.mk

.PHONY: demo-down
demo-down: ## Stop the demo cluster and remove .demo/ (its data and logs).
	bash hack/demo-down.sh
