package traefik

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/chartpull"
)

// ChartFetcher fetches charts named by spec.traefik.chart: from a classic
// repository (its index.yaml, then the archive it lists) for http and
// https, or from a registry for oci. A chart is fetched once: archives are
// kept in CacheDir, and loaded charts in memory. It is safe for concurrent
// use.
//
// Start fetches in the background, so that a slow or hanging repository
// never holds up a reconcile: it answers at once with the chart, with
// ChartFetching while a fetch runs, or with the error of the last fetch
// until its backoff ends. Fetch is the same, in the foreground.
type ChartFetcher struct {
	// CacheDir holds the fetched archives. Empty: DefaultChartCacheDir().
	CacheDir string
	// HTTP makes the requests. Nil: a client with a 60-second timeout.
	HTTP *http.Client
	// Timeout bounds one background fetch, every request included. Zero:
	// fetchTimeout.
	Timeout time.Duration
	// Notify is called, from another goroutine, when a background fetch
	// ends and when the backoff after a failed one ends: the caller looks
	// again.
	Notify func()

	mu      sync.Mutex
	fetches map[string]*fetchState
}

// fetchState is what is known of one chart (a chartKey).
type fetchState struct {
	chart    *chart.Chart
	running  bool
	err      error
	failures int
	retryAt  time.Time
}

// Backoff of failed background fetches: fetchBackoff after the first,
// doubling up to maxFetchBackoff. fetchTimeout bounds one fetch.
const (
	fetchBackoff    = 10 * time.Second
	maxFetchBackoff = 5 * time.Minute
	fetchTimeout    = 2 * time.Minute
)

// DefaultChartCacheDir is <user cache dir>/wharf/charts, or a directory
// under the temporary directory when the user has no cache directory.
func DefaultChartCacheDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "wharf", "charts")
	}
	return filepath.Join(os.TempDir(), "wharf-charts")
}

// Fetch returns the chart src names, after checking that its Chart.yaml
// has exactly that name and version (and its archive the pinned digest).
// A chart the repository does not have, or that wharf refuses, stalls the
// component; a repository that cannot be reached is an error to retry.
func (f *ChartFetcher) Fetch(ctx context.Context, src v1alpha1.ChartSource) (*chart.Chart, error) {
	if err := checkSource(src); err != nil {
		return nil, err
	}
	key := chartKey(src)
	f.mu.Lock()
	defer f.mu.Unlock()
	if st := f.fetches[key]; st != nil && st.chart != nil {
		return st.chart, nil
	}
	ch, err := f.fromDisk(key, src)
	if err != nil {
		if ch, err = f.download(ctx, key, src); err != nil {
			return nil, err
		}
	}
	f.state(key).chart = ch
	return ch, nil
}

// Start returns the chart src names if it was fetched (or is in the disk
// cache). Otherwise it starts fetching it in the background, unless a
// fetch runs or the last one failed less than its backoff ago, and returns
// an error with reason ChartFetching, or the last fetch's error.
func (f *ChartFetcher) Start(src v1alpha1.ChartSource) (*chart.Chart, error) {
	if err := checkSource(src); err != nil {
		return nil, err
	}
	key := chartKey(src)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgetAllBut(key)
	st := f.state(key)
	switch {
	case st.chart != nil:
		return st.chart, nil
	case st.running:
		return nil, fetchingError(src)
	case st.err != nil && time.Now().Before(st.retryAt):
		return nil, fmt.Errorf("%w (attempt %d; the next at %s)", st.err, st.failures, st.retryAt.UTC().Format(time.RFC3339))
	}
	if ch, err := f.fromDisk(key, src); err == nil {
		st.chart = ch
		return ch, nil
	}
	st.running = true
	go f.background(key, src, st)
	return nil, fetchingError(src)
}

func fetchingError(src v1alpha1.ChartSource) error {
	return &component.WaitingError{Reason: ReasonChartFetching,
		Err: fmt.Errorf("fetching chart %s version %s from %s", src.Name, src.Version, src.Repository)}
}

// background downloads the chart and records the outcome in st.
func (f *ChartFetcher) background(key string, src v1alpha1.ChartSource, st *fetchState) {
	timeout := f.Timeout
	if timeout == 0 {
		timeout = fetchTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	ch, err := f.download(ctx, key, src)
	cancel()
	f.mu.Lock()
	st.running = false
	if err == nil {
		st.chart, st.err, st.failures = ch, nil, 0
	} else {
		st.failures++
		backoff := fetchBackoff << min(st.failures-1, 10)
		backoff = min(backoff, maxFetchBackoff)
		st.err, st.retryAt = err, time.Now().Add(backoff)
		if _, stalled := component.AsStalled(err); !stalled && f.Notify != nil {
			time.AfterFunc(backoff, f.Notify)
		}
	}
	f.mu.Unlock()
	if f.Notify != nil {
		f.Notify()
	}
}

// state returns key's state, created if needed; f.mu is held.
func (f *ChartFetcher) state(key string) *fetchState {
	if f.fetches == nil {
		f.fetches = map[string]*fetchState{}
	}
	st := f.fetches[key]
	if st == nil {
		st = &fetchState{}
		f.fetches[key] = st
	}
	return st
}

// forgetAllBut drops the charts and errors of other sources than key, so
// that only the chart in use stays in memory. Running fetches finish into
// their dropped state. f.mu is held.
func (f *ChartFetcher) forgetAllBut(key string) {
	for k := range f.fetches {
		if k != key {
			delete(f.fetches, k)
		}
	}
}

// checkSource refuses what the API server also refuses, for sources that
// did not come through it: plain http without insecure, a malformed digest.
func checkSource(src v1alpha1.ChartSource) error {
	if strings.HasPrefix(src.Repository, "http://") && !src.Insecure {
		return component.Stalledf(ReasonChartRefused, "repository %s is plain http: use https, or set spec.traefik.chart.insecure: true to accept that", src.Repository)
	}
	if src.Digest != "" && !digestPattern.MatchString(src.Digest) {
		return component.Stalledf(ReasonChartRefused, "spec.traefik.chart.digest %q is not sha256: followed by 64 lowercase hex digits", src.Digest)
	}
	return nil
}

var digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// chartKey identifies a chart by repository, name, version and pinned
// digest.
func chartKey(src v1alpha1.ChartSource) string {
	sum := sha256.Sum256([]byte(src.Repository + "\x00" + src.Name + "\x00" + src.Version + "\x00" + src.Digest))
	return hex.EncodeToString(sum[:8]) + "-" + src.Name + "-" + src.Version
}

func (f *ChartFetcher) cacheDir() string {
	if f.CacheDir != "" {
		return f.CacheDir
	}
	return DefaultChartCacheDir()
}

func (f *ChartFetcher) archivePath(key string) string {
	return filepath.Join(f.cacheDir(), key+".tgz")
}

// fromDisk loads a cached archive. A missing or unusable one is an error,
// and an unusable one is removed.
func (f *ChartFetcher) fromDisk(key string, src v1alpha1.ChartSource) (*chart.Chart, error) {
	path := f.archivePath(key)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := checkPin(data, src, path); err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	ch, err := loadArchive(data, src)
	if err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	return ch, nil
}

// download fetches, checks and caches the archive.
func (f *ChartFetcher) download(ctx context.Context, key string, src v1alpha1.ChartSource) (*chart.Chart, error) {
	var data []byte
	var err error
	if strings.HasPrefix(src.Repository, "oci://") {
		data, err = f.fetchOCI(ctx, src)
	} else {
		data, err = f.fetchFromIndex(ctx, src)
	}
	if err != nil {
		return nil, err
	}
	if err := checkPin(data, src, src.Repository); err != nil {
		return nil, err
	}
	ch, err := loadArchive(data, src)
	if err != nil {
		return nil, err
	}
	f.store(key, data)
	return ch, nil
}

// store writes the archive to the cache; the cache is an optimisation, so
// a failure only means the chart is downloaded again after a restart.
func (f *ChartFetcher) store(key string, data []byte) {
	dir := f.cacheDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, key+".*.tmp")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), f.archivePath(key)) != nil {
		_ = os.Remove(tmp.Name())
	}
}

// fetchFromIndex reads the repository's index, finds the exact version and
// downloads the archive it points to, on the repository's host, checking
// its digest when the index gives one. The index's digest guards against
// a broken download, not against the repository: only
// spec.traefik.chart.digest pins the archive (see checkPin).
func (f *ChartFetcher) fetchFromIndex(ctx context.Context, src v1alpha1.ChartSource) ([]byte, error) {
	base := strings.TrimSuffix(src.Repository, "/")
	entry, err := f.findInIndex(ctx, base, src)
	if err != nil {
		return nil, err
	}
	if len(entry.URLs) == 0 {
		return nil, component.Stalledf(ReasonChartNotFound, "chart %s version %s in %s has no download URL", src.Name, src.Version, base)
	}
	archiveURL, err := chartpull.ResolveURL(base, entry.URLs[0])
	if err != nil {
		return nil, fetchError(fmt.Errorf("chart %s version %s: %w", src.Name, src.Version, err))
	}
	data, err := f.puller(src).Get(ctx, archiveURL, nil, chartpull.MaxArchiveSize)
	if err != nil {
		return nil, fetchError(err)
	}
	if entry.Digest != "" {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, strings.TrimPrefix(entry.Digest, "sha256:")) {
			return nil, &reasonError{reason: ReasonChartFetchFailed,
				err: fmt.Errorf("chart %s version %s from %s: digest %s, the index says %s", src.Name, src.Version, archiveURL, got, entry.Digest)}
		}
	}
	return data, nil
}

func (f *ChartFetcher) findInIndex(ctx context.Context, base string, src v1alpha1.ChartSource) (chartpull.IndexEntry, error) {
	cv, err := f.puller(src).FindChart(ctx, base, src.Name, src.Version)
	if err != nil {
		return chartpull.IndexEntry{}, fetchError(err)
	}
	if cv.Found {
		return cv.Entry, nil
	}
	if len(cv.Versions) == 0 {
		return chartpull.IndexEntry{}, component.Stalledf(ReasonChartNotFound, "repository %s has no chart named %s", base, src.Name)
	}
	versions := slices.Compact(slices.Sorted(slices.Values(cv.Versions)))
	if len(versions) > 20 {
		versions = append([]string{"..."}, versions[len(versions)-20:]...)
	}
	return chartpull.IndexEntry{}, component.Stalledf(ReasonChartNotFound, "repository %s has no version %s of chart %s (it has %s)",
		base, src.Version, src.Name, strings.Join(versions, ", "))
}

// checkPin refuses an archive whose sha256 is not the one
// spec.traefik.chart.digest pins; from names where it came from.
func checkPin(data []byte, src v1alpha1.ChartSource, from string) error {
	if src.Digest == "" {
		return nil
	}
	if got := chartpull.Digest(data); got != src.Digest {
		return component.Stalledf(ReasonChartDigestMismatch,
			"chart %s version %s from %s has digest %s, but spec.traefik.chart.digest pins %s: the archive was refused",
			src.Name, src.Version, from, got, src.Digest)
	}
	return nil
}

// fetchOCI pulls name:version from the registry path in src.Repository.
// OCI tags cannot hold '+', which Helm writes as '_'.
func (f *ChartFetcher) fetchOCI(ctx context.Context, src v1alpha1.ChartSource) ([]byte, error) {
	ref := strings.TrimSuffix(src.Repository, "/") + "/" + src.Name + ":" + strings.ReplaceAll(src.Version, "+", "_")
	data, err := f.puller(src).PullOCI(ctx, ref)
	if err != nil {
		return nil, fetchError(err)
	}
	return data, nil
}

func (f *ChartFetcher) puller(src v1alpha1.ChartSource) *chartpull.Client {
	return &chartpull.Client{HTTP: f.HTTP, AllowHTTP: src.Insecure}
}

// fetchError stalls on what the repository says it does not have or
// sends what wharf refuses, and asks for a retry on anything else (the
// network, the server).
func fetchError(err error) error {
	if chartpull.IsNotFound(err) {
		return component.Stalled(ReasonChartNotFound, err)
	}
	if chartpull.IsRefused(err) {
		return component.Stalled(ReasonChartRefused, err)
	}
	return &reasonError{reason: ReasonChartFetchFailed, err: err}
}

// loadArchive loads a chart archive and checks it is the chart asked for.
func loadArchive(data []byte, src v1alpha1.ChartSource) (*chart.Chart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, &reasonError{reason: ReasonChartFetchFailed, err: fmt.Errorf("chart %s version %s is not a valid chart archive: %w", src.Name, src.Version, err)}
	}
	if ch.Metadata == nil || ch.Metadata.Name != src.Name || ch.Metadata.Version != src.Version {
		got := "no Chart.yaml"
		if ch.Metadata != nil {
			got = ch.Metadata.Name + " version " + ch.Metadata.Version
		}
		return nil, component.Stalledf(ReasonChartNotFound, "the archive fetched for chart %s version %s holds %s", src.Name, src.Version, got)
	}
	return ch, nil
}
