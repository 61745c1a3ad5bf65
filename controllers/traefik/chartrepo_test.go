package traefik

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/wharf-dev/wharf/internal/render"
	"github.com/wharf-dev/wharf/templates"
)

// ChartRepo is a classic Helm chart repository served by a test.
type ChartRepo struct {
	*httptest.Server
	// Hits counts requests.
	Hits atomic.Int32
}

// StartChartRepo serves the embedded chart, repackaged as version, from
// an index.yaml that lists it under a relative URL with its digest. The
// index also lists, for failure tests, version+"-liar" (an archive
// holding another version) and version+"-tampered" (a wrong digest).
func StartChartRepo(t testing.TB, version string, useTLS bool) *ChartRepo {
	t.Helper()
	archive := ChartArchive(t, version)
	ch, err := render.LoadChart(templates.Traefik, "traefik")
	if err != nil {
		t.Fatal(err)
	}
	ch.Metadata.Version = version
	sum := sha256.Sum256(archive)
	idx := repo.NewIndexFile()
	file := "charts/traefik-" + version + ".tgz"
	if err := idx.MustAdd(ch.Metadata, file, "", hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	liar := *ch.Metadata
	liar.Version = version + "-liar"
	tampered := *ch.Metadata
	tampered.Version = version + "-tampered"
	idx.Entries["traefik"] = append(idx.Entries["traefik"],
		&repo.ChartVersion{Metadata: &liar, URLs: []string{file}},
		&repo.ChartVersion{Metadata: &tampered, URLs: []string{file}, Digest: hex.EncodeToString(make([]byte, 32))})
	index, err := yaml.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	r := &ChartRepo{}
	mux := http.NewServeMux()
	mux.HandleFunc("/index.yaml", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(index) })
	mux.HandleFunc("/"+file, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(archive) })
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.Hits.Add(1)
		mux.ServeHTTP(w, req)
	})
	if useTLS {
		r.Server = httptest.NewTLSServer(handler)
	} else {
		r.Server = httptest.NewServer(handler)
	}
	t.Cleanup(r.Close)
	return r
}

// ChartArchive is the embedded chart packaged as version.
func ChartArchive(t testing.TB, version string) []byte {
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
	archive, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return archive
}
