package traefik

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/chartpull"
)

// indexFor is an index listing traefik version at url with digest.
func indexFor(version, url, digest string) string {
	return fmt.Sprintf("apiVersion: v1\nentries:\n  traefik:\n  - name: traefik\n    version: %s\n    urls:\n    - %s\n    digest: %s\n", version, url, digest)
}

// TestChartFetcherRefusesPlainHTTP: an http:// repository without
// insecure: true is refused in the code too, not only by the API server,
// and nothing is requested.
func TestChartFetcherRefusesPlainHTTP(t *testing.T) {
	srv := StartChartRepo(t, "9.9.9", false)
	f := &ChartFetcher{CacheDir: t.TempDir()}
	src := v1alpha1.ChartSource{Repository: srv.URL, Name: "traefik", Version: "9.9.9"}
	_, err := f.Fetch(context.Background(), src)
	checkReason(t, err, ReasonChartRefused, true)
	if !strings.Contains(err.Error(), "insecure: true") {
		t.Errorf("the error does not say how to accept http: %v", err)
	}
	_, err = f.Start(src)
	checkReason(t, err, ReasonChartRefused, true)
	if n := srv.Hits.Load(); n != 0 {
		t.Errorf("%d requests went to the http repository", n)
	}
}

// TestChartFetcherRefusesOtherHosts: neither an index URL nor a redirect
// takes the fetch to another host, and a redirect from https to http is
// refused; the other host gets no request.
func TestChartFetcherRefusesOtherHosts(t *testing.T) {
	archive := ChartArchive(t, "9.9.9")
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		otherHits.Add(1)
		_, _ = w.Write(archive)
	}))
	defer other.Close()
	var index atomic.Value
	repo := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index.yaml":
			_, _ = w.Write([]byte(index.Load().(string)))
		case "/redirect.tgz":
			http.Redirect(w, r, other.URL+"/traefik.tgz", http.StatusFound)
		case "/index-redirect/index.yaml":
			http.Redirect(w, r, other.URL+"/index.yaml", http.StatusMovedPermanently)
		}
	}))
	defer repo.Close()
	for _, tc := range []struct{ name, repo, index string }{
		{"absolute URL on another host", repo.URL, indexFor("9.9.9", other.URL+"/traefik.tgz", "")},
		{"absolute URL on the host over http", repo.URL, indexFor("9.9.9", strings.Replace(repo.URL, "https:", "http:", 1)+"/traefik.tgz", "")},
		{"archive redirected to http on another host", repo.URL, indexFor("9.9.9", "redirect.tgz", "")},
		{"index redirected to http on another host", repo.URL + "/index-redirect", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			index.Store(tc.index)
			f := &ChartFetcher{CacheDir: t.TempDir(), HTTP: repo.Client()}
			src := v1alpha1.ChartSource{Repository: tc.repo, Name: "traefik", Version: "9.9.9", Insecure: true}
			_, err := f.Fetch(context.Background(), src)
			checkReason(t, err, ReasonChartRefused, true)
		})
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
}

// TestChartFetcherDigestPin: with spec.traefik.chart.digest set, an
// archive with another sha256 is refused, even when the repository's
// index agrees with the archive it serves; the pinned one is used, from
// the repository and from the disk cache, and a cached archive that no
// longer matches is not.
func TestChartFetcherDigestPin(t *testing.T) {
	good := ChartArchive(t, "9.9.9")
	evil := ChartArchive(t, "9.9.9")
	evil = append(evil[:len(evil):len(evil)], 0) // another digest
	var serve atomic.Value
	serve.Store(good)
	repo := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		archive := serve.Load().([]byte)
		switch r.URL.Path {
		case "/index.yaml":
			_, _ = w.Write([]byte(indexFor("9.9.9", "traefik-9.9.9.tgz", chartpull.Digest(archive))))
		case "/traefik-9.9.9.tgz":
			_, _ = w.Write(archive)
		}
	}))
	defer repo.Close()
	pinned := v1alpha1.ChartSource{Repository: repo.URL, Name: "traefik", Version: "9.9.9", Digest: chartpull.Digest(good)}
	cache := t.TempDir()

	serve.Store(evil)
	_, err := (&ChartFetcher{CacheDir: cache, HTTP: repo.Client()}).Fetch(context.Background(), pinned)
	checkReason(t, err, ReasonChartDigestMismatch, true)
	if err != nil && (!strings.Contains(err.Error(), chartpull.Digest(evil)) || !strings.Contains(err.Error(), "pins "+pinned.Digest)) {
		t.Errorf("the error does not name both digests: %v", err)
	}
	// Unpinned, the same repository is trusted.
	if _, err := (&ChartFetcher{CacheDir: t.TempDir(), HTTP: repo.Client()}).Fetch(context.Background(),
		v1alpha1.ChartSource{Repository: repo.URL, Name: "traefik", Version: "9.9.9"}); err != nil && strings.Contains(err.Error(), "pins") {
		t.Errorf("an unpinned chart was checked against a pin: %v", err)
	}

	serve.Store(good)
	ch, err := (&ChartFetcher{CacheDir: cache, HTTP: repo.Client()}).Fetch(context.Background(), pinned)
	if err != nil || chartName(ch) != "traefik-9.9.9" {
		t.Fatalf("the pinned archive: %v, %v", ch, err)
	}
	// The cache serves it after a restart, while it matches the pin.
	repo.Close()
	if _, err := (&ChartFetcher{CacheDir: cache}).Fetch(context.Background(), pinned); err != nil {
		t.Fatalf("from the cache: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(cache, "*.tgz"))
	if len(files) != 1 {
		t.Fatalf("cache holds %v", files)
	}
	if err := os.WriteFile(files[0], evil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The repository is gone: the altered archive is dropped, not used.
	_, err = (&ChartFetcher{CacheDir: cache}).Fetch(context.Background(), pinned)
	checkReason(t, err, ReasonChartFetchFailed, false)
	if _, err := os.Stat(files[0]); !os.IsNotExist(err) {
		t.Errorf("the altered archive is still cached (%v)", err)
	}
}

// TestChartFetcherStartInBackground: Start never waits for the
// repository. While a fetch hangs it answers ChartFetching at once; a
// failed fetch is remembered with its error, and not tried again before
// its backoff; Notify says when a fetch ended; a fetched chart is
// returned.
func TestChartFetcherStartInBackground(t *testing.T) {
	archive := ChartArchive(t, "9.9.9")
	release := make(chan struct{})
	var mode atomic.Value // "hang", "fail", "ok"
	mode.Store("hang")
	var hits atomic.Int32
	repo := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch mode.Load() {
		case "hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
			http.Error(w, "gave up", http.StatusBadGateway)
		case "fail":
			http.Error(w, "down", http.StatusServiceUnavailable)
		default:
			switch r.URL.Path {
			case "/index.yaml":
				_, _ = w.Write([]byte(indexFor("9.9.9", "t.tgz", chartpull.Digest(archive))))
			case "/t.tgz":
				_, _ = w.Write(archive)
			}
		}
	}))
	defer repo.Close()
	defer close(release)
	notified := make(chan struct{}, 10)
	f := &ChartFetcher{CacheDir: t.TempDir(), HTTP: repo.Client(), Timeout: 300 * time.Millisecond,
		Notify: func() { notified <- struct{}{} }}
	src := v1alpha1.ChartSource{Repository: repo.URL, Name: "traefik", Version: "9.9.9"}

	start := time.Now()
	_, err := f.Start(src)
	checkReason(t, err, ReasonChartFetching, false)
	_, err = f.Start(src)
	checkReason(t, err, ReasonChartFetching, false)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Start waited %s for a hanging repository", d)
	}
	waitNotified(t, notified)
	// The timeout ended the fetch: ChartFetchFailed, remembered.
	_, err = f.Start(src)
	checkReason(t, err, ReasonChartFetchFailed, false)
	n := hits.Load()
	for range 5 {
		_, err = f.Start(src)
		checkReason(t, err, ReasonChartFetchFailed, false)
	}
	if hits.Load() != n {
		t.Errorf("a remembered failure was fetched again before its backoff")
	}
	if !strings.Contains(err.Error(), "the next at") {
		t.Errorf("the error does not say when the next try is: %v", err)
	}

	// The backoff over, the next Start fetches again.
	mode.Store("ok")
	f.mu.Lock()
	f.fetches[chartKey(src)].retryAt = time.Now()
	f.mu.Unlock()
	_, err = f.Start(src)
	checkReason(t, err, ReasonChartFetching, false)
	waitNotified(t, notified)
	ch, err := f.Start(src)
	if err != nil || chartName(ch) != "traefik-9.9.9" {
		t.Fatalf("after the fetch: %v, %v", ch, err)
	}
}

func waitNotified(t *testing.T, notified chan struct{}) {
	t.Helper()
	select {
	case <-notified:
	case <-time.After(10 * time.Second):
		t.Fatal("Notify was not called")
	}
}
