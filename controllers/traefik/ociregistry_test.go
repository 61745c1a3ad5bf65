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
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"

	"github.com/wharf-dev/wharf/internal/render"
	"github.com/wharf-dev/wharf/templates"
)

// startOCIRegistry serves the embedded chart, repackaged as version, as
// charts/traefik:<tag> from a minimal OCI distribution API over TLS: the
// manifests and blobs endpoints Helm's registry client pulls from.
func startOCIRegistry(t *testing.T, version string) *httptest.Server {
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
		"config":        descriptor(registry.ConfigMediaType, config),
		"layers":        []any{descriptor(registry.ChartLayerMediaType, layer)},
	})
	if err != nil {
		t.Fatal(err)
	}
	tag := strings.ReplaceAll(version, "+", "_")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "/v2/charts/traefik/"
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
	t.Cleanup(srv.Close)
	return srv
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
