package traefik

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/wharf-dev/wharf/internal/chartpull"
	"github.com/wharf-dev/wharf/internal/render"
	"github.com/wharf-dev/wharf/templates"
)

// ociRegistry is a minimal OCI distribution API over TLS that serves one
// chart and, as public registries do, wants an anonymous bearer token.
type ociRegistry struct {
	*httptest.Server
	// TokenRequests counts the token requests.
	TokenRequests atomic.Int32
}

// startOCIRegistry serves the embedded chart, repackaged as version, as
// charts/traefik:<tag>: the manifests and blobs endpoints a pull reads,
// behind a Bearer challenge answered by its /token endpoint.
func startOCIRegistry(t *testing.T, version string) *ociRegistry {
	t.Helper()
	ch, err := render.LoadChart(templates.Traefik, "traefik")
	if err != nil {
		t.Fatal(err)
	}
	ch.Metadata.Version = version
	path, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	layer, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	config, err := json.Marshal(ch.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[string][]byte{digestOf(layer): layer, digestOf(config): config}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor(chartpull.ConfigMediaType, config),
		"layers":        []any{descriptor(chartpull.ChartLayerMediaType, layer)},
	})
	if err != nil {
		t.Fatal(err)
	}
	tag := strings.ReplaceAll(version, "+", "_")
	const token = "anonymous-pull-token"
	reg := &ociRegistry{}
	reg.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "/v2/charts/traefik/"
		if r.URL.Path == "/token" {
			reg.TokenRequests.Add(1)
			if r.URL.Query().Get("scope") != "repository:charts/traefik:pull" {
				http.Error(w, "bad scope", http.StatusBadRequest)
				return
			}
			_, _ = w.Write([]byte(`{"token":"` + token + `"}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", `Bearer realm="https://`+r.Host+`/token",service="test",scope="repository:charts/traefik:pull"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		ref, ok := strings.CutPrefix(r.URL.Path, prefix+"manifests/")
		switch {
		case ok && (ref == tag || ref == digestOf(manifest)):
			serveContent(w, r, "application/vnd.oci.image.manifest.v1+json", manifest)
		case strings.HasPrefix(r.URL.Path, prefix+"blobs/") && blobs[strings.TrimPrefix(r.URL.Path, prefix+"blobs/")] != nil:
			serveContent(w, r, "application/octet-stream", blobs[strings.TrimPrefix(r.URL.Path, prefix+"blobs/")])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(reg.Close)
	return reg
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func descriptor(mediaType string, b []byte) map[string]any {
	return map[string]any{"mediaType": mediaType, "digest": digestOf(b), "size": len(b)}
}

func serveContent(w http.ResponseWriter, r *http.Request, mediaType string, b []byte) {
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Docker-Content-Digest", digestOf(b))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}
