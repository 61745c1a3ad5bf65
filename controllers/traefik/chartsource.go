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
	"sort"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/chartpull"
)

// ChartFetcher fetches charts named by spec.traefik.chart: from a classic
// repository (its index.yaml, then the archive it
// lists) for http and https, or from a registry for oci. A chart is
// fetched once: archives are kept in CacheDir, and loaded charts in memory.
// It is safe for concurrent use.
type ChartFetcher struct {
	// CacheDir holds the fetched archives. Empty: DefaultChartCacheDir().
	CacheDir string
	// HTTP makes the requests. Nil: a client with a 60-second timeout.
	HTTP *http.Client

	mu     sync.Mutex
	charts map[string]*chart.Chart
}

// DefaultChartCacheDir is <user cache dir>/wharf/charts, or a directory
// under the temporary directory when the user has no cache directory.
func DefaultChartCacheDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "wharf", "charts")
	}
	return filepath.Join(os.TempDir(), "wharf-charts")
}

// Fetch returns the chart src names, after checking that its Chart.yaml
// has exactly that name and version. A chart the repository does not have
// stalls the component; a repository that cannot be reached is an error
// to retry.
func (f *ChartFetcher) Fetch(ctx context.Context, src v1alpha1.ChartSource) (*chart.Chart, error) {
	key := chartKey(src)
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch, ok := f.charts[key]; ok {
		return ch, nil
	}
	ch, err := f.fromDisk(key, src)
	if err != nil {
		if ch, err = f.download(ctx, key, src); err != nil {
			return nil, err
		}
	}
	if f.charts == nil {
		f.charts = map[string]*chart.Chart{}
	}
	f.charts[key] = ch
	return ch, nil
}

// chartKey identifies a chart by repository, name and version.
func chartKey(src v1alpha1.ChartSource) string {
	sum := sha256.Sum256([]byte(src.Repository + "\x00" + src.Name + "\x00" + src.Version))
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
// downloads the archive it points to, checking its digest when the index
// gives one.
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
		return nil, component.Stalled(ReasonChartNotFound, fmt.Errorf("chart %s version %s: %w", src.Name, src.Version, err))
	}
	data, err := f.puller().Get(ctx, archiveURL, nil)
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
	idx, err := f.puller().FetchIndex(ctx, base)
	if err != nil {
		return chartpull.IndexEntry{}, fetchError(err)
	}
	var versions []string
	for _, e := range idx.Entries[src.Name] {
		if e.Version == src.Version {
			return e, nil
		}
		versions = append(versions, e.Version)
	}
	if len(versions) == 0 {
		return chartpull.IndexEntry{}, component.Stalledf(ReasonChartNotFound, "repository %s has no chart named %s", base, src.Name)
	}
	sort.Strings(versions)
	return chartpull.IndexEntry{}, component.Stalledf(ReasonChartNotFound, "repository %s has no version %s of chart %s (it has %s)",
		base, src.Version, src.Name, strings.Join(versions, ", "))
}

// fetchOCI pulls name:version from the registry path in src.Repository.
// OCI tags cannot hold '+', which Helm writes as '_'.
func (f *ChartFetcher) fetchOCI(ctx context.Context, src v1alpha1.ChartSource) ([]byte, error) {
	ref := strings.TrimSuffix(src.Repository, "/") + "/" + src.Name + ":" + strings.ReplaceAll(src.Version, "+", "_")
	data, err := f.puller().PullOCI(ctx, ref)
	if err != nil {
		return nil, fetchError(err)
	}
	return data, nil
}

func (f *ChartFetcher) puller() *chartpull.Client { return &chartpull.Client{HTTP: f.HTTP} }

// fetchError stalls on what the repository says it does not have and asks
// for a retry on anything else (the network, the server).
func fetchError(err error) error {
	if chartpull.IsNotFound(err) {
		return component.Stalled(ReasonChartNotFound, err)
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
