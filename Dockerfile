# syntax=docker/dockerfile:1
# The wharf manager image: one static Go binary on a distroless base that
# has no shell and no package manager, running as the nonroot user.
#
#   make docker-build IMG=ghcr.io/wharf-dev/wharf:v0.1.0
#   (docker build --build-arg VERSION=0.1.0 -t $IMG .)
#
# Multi-platform: docker buildx build --platform linux/amd64,linux/arm64 ...
# compiles natively on the build platform and cross-compiles (no emulation).

# Build stage: the same command as `make build`.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /workspace
# Dependencies first, so that source changes reuse the module cache layer.
COPY go.mod go.sum ./
RUN go mod download
# Only the packages the manager is built from (test/ checks this list).
COPY api/ api/
COPY cmd/ cmd/
COPY config/crd/ config/crd/
COPY controllers/ controllers/
COPY internal/ internal/
COPY templates/ templates/
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/manager ./cmd

# Final stage: the binary alone. UID/GID 65532 is distroless' "nonroot".
FROM gcr.io/distroless/static:nonroot
LABEL org.opencontainers.image.title="wharf" \
      org.opencontainers.image.description="Kubernetes operator for CoreDNS, Traefik and ServiceLB, driven by one ClusterNetworking resource" \
      org.opencontainers.image.source="https://github.com/wharf-dev/wharf"
WORKDIR /
COPY --from=build /out/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
