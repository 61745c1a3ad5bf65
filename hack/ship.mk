# Shipping wharf: the one-file install, the container image and the OLM
# bundle. The Makefile includes this file (`include hack/ship.mk`) and
# provides VERSION, IMG, GO and TOOLS_BIN.

##@ Ship

# The digest of the pushed manager image (sha256:...): dist/install.yaml and
# the bundle then run IMG by digest, e.g.
#   make build-installer bundle IMG=registry.example.com/wharf:v0.1.0 IMG_DIGEST=sha256:...
IMG_DIGEST ?=
# Container engine for the image targets: docker or podman.
CONTAINER_TOOL ?= docker
# kubectl with kustomize built in (`make envtest` builds bin/tools/kubectl).
KUBECTL ?= $(TOOLS_BIN)/kubectl
# Platforms of docker-buildx.
PLATFORMS ?= linux/amd64,linux/arm64
# OLM bundle image and channels.
BUNDLE_IMG ?= ghcr.io/wharf-dev/wharf-bundle:v$(VERSION)
BUNDLE_CHANNELS ?= alpha
BUNDLE_DEFAULT_CHANNEL ?= alpha

.PHONY: build-installer
build-installer: manifests ## Write dist/install.yaml: CRD, namespace wharf-system, RBAC and the manager running IMG (by IMG_DIGEST when set).
	IMG=$(IMG) IMG_DIGEST=$(IMG_DIGEST) KUBECTL=$(KUBECTL) bash hack/build-installer.sh

.PHONY: bundle
bundle: manifests ## Write the OLM bundle (bundle/, bundle.Dockerfile) for VERSION and IMG.
	VERSION=$(VERSION) IMG=$(IMG) IMG_DIGEST=$(IMG_DIGEST) KUBECTL=$(KUBECTL) GO=$(GO) \
		CHANNELS=$(BUNDLE_CHANNELS) DEFAULT_CHANNEL=$(BUNDLE_DEFAULT_CHANNEL) bash hack/bundle.sh

.PHONY: images
images: ## Print the images to mirror for an air-gapped cluster (the bundle's relatedImages).
	@awk '/^  relatedImages:/ {on=1; next} on && /^  [^ -]/ {on=0} on && $$2 == "image:" {print $$3}' bundle/manifests/wharf.clusterserviceversion.yaml

.PHONY: docker-build
docker-build: ## Build the manager image IMG from the Dockerfile (needs docker or podman: CONTAINER_TOOL).
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the manager image IMG.
	$(CONTAINER_TOOL) push $(IMG)

.PHONY: docker-buildx
docker-buildx: ## Build and push IMG for every platform in PLATFORMS (docker buildx).
	$(CONTAINER_TOOL) buildx build --platform=$(PLATFORMS) --build-arg VERSION=$(VERSION) -t $(IMG) --push .

.PHONY: bundle-build
bundle-build: ## Build the OLM bundle image BUNDLE_IMG from bundle.Dockerfile.
	$(CONTAINER_TOOL) build -f bundle.Dockerfile -t $(BUNDLE_IMG) .

.PHONY: bundle-push
bundle-push: ## Push the OLM bundle image BUNDLE_IMG.
	$(CONTAINER_TOOL) push $(BUNDLE_IMG)
