package traefik

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
)

func TestChartFetcherHTTPS(t *testing.T) {
	srv := StartChartRepo(t, "9.9.9", true)
	transport := srv.Client().Transport.(*http.Transport)
	cache := t.TempDir()
	f := &ChartFetcher{CacheDir: cache, HTTP: &http.Client{Transport: transport}}
	src := v1alpha1.ChartSource{Repository: srv.URL, Name: "traefik", Version: "9.9.9"}
	ch, err := f.Fetch(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if chartName(ch) != "traefik-9.9.9" {
		t.Errorf("fetched %s, want traefik-9.9.9", chartName(ch))
	}
	if len(ch.CRDObjects()) == 0 {
		t.Errorf("the fetched chart lost its CRDs")
	}
	hits := srv.Hits.Load()
	if _, err := f.Fetch(context.Background(), src); err != nil || srv.Hits.Load() != hits {
		t.Errorf("a second fetch went to the repository (err %v)", err)
	}

	// Another fetcher (an operator restart) finds the archive on disk.
	srv.Close()
	again := &ChartFetcher{CacheDir: cache}
	ch2, err := again.Fetch(context.Background(), src)
	if err != nil {
		t.Fatalf("the cached archive was not used: %v", err)
	}
	objs, err := renderDefaulted(t, v1alpha1.TraefikSpec{}, Inputs{Chart: ch2})
	if err != nil {
		t.Fatal(err)
	}
	if l := find(objs, "Deployment", "traefik").GetLabels()["helm.sh/chart"]; l != "traefik-9.9.9" {
		t.Errorf("rendered the wrong chart: helm.sh/chart=%s", l)
	}
}

func TestChartFetcherHTTPTrailingSlash(t *testing.T) {
	srv := StartChartRepo(t, "2.0.0", false)
	f := &ChartFetcher{CacheDir: t.TempDir()}
	ch, err := f.Fetch(context.Background(), v1alpha1.ChartSource{Repository: srv.URL + "/", Name: "traefik", Version: "2.0.0", Insecure: true})
	if err != nil || chartName(ch) != "traefik-2.0.0" {
		t.Fatalf("Fetch = %v, %v", ch, err)
	}
}

func TestChartFetcherFailures(t *testing.T) {
	srv := StartChartRepo(t, "9.9.9", false)
	for _, tc := range []struct {
		name, chartName, version string
		reason                   string
		stalled                  bool
		message                  string
	}{
		{name: "unknown version", chartName: "traefik", version: "9.9.10", reason: ReasonChartNotFound, stalled: true, message: "9.9.9"},
		{name: "unknown chart", chartName: "nginx", version: "1.0.0", reason: ReasonChartNotFound, stalled: true, message: "no chart named nginx"},
		{name: "not exactly the version", chartName: "traefik", version: "v9.9.9", reason: ReasonChartNotFound, stalled: true},
		{name: "archive of another version", chartName: "traefik", version: "9.9.9-liar", reason: ReasonChartNotFound, stalled: true, message: "holds traefik version 9.9.9"},
		{name: "wrong digest", chartName: "traefik", version: "9.9.9-tampered", reason: ReasonChartFetchFailed, message: "digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &ChartFetcher{CacheDir: t.TempDir()}
			_, err := f.Fetch(context.Background(), v1alpha1.ChartSource{Repository: srv.URL, Name: tc.chartName, Version: tc.version, Insecure: true})
			checkReason(t, err, tc.reason, tc.stalled)
			if err != nil && !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
		})
	}
	srv.Close()
	f := &ChartFetcher{CacheDir: t.TempDir()}
	_, err := f.Fetch(context.Background(), v1alpha1.ChartSource{Repository: srv.URL, Name: "traefik", Version: "9.9.9", Insecure: true})
	checkReason(t, err, ReasonChartFetchFailed, false)
}

func checkReason(t *testing.T, err error, reason string, stalled bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want reason %s", reason)
	}
	if s, ok := component.AsStalled(err); ok {
		if !stalled || s.Reason != reason {
			t.Errorf("err = %v: stalled with %s, want reason %s stalled=%v", err, s.Reason, reason, stalled)
		}
		return
	}
	var re interface{ ConditionReason() string }
	if stalled || !errors.As(err, &re) || re.ConditionReason() != reason {
		t.Errorf("err = %v, want reason %s stalled=%v", err, reason, stalled)
	}
}

func TestChartFetcherOCI(t *testing.T) {
	srv := startOCIRegistry(t, "7.0.0+wharf")
	transport := srv.Client().Transport.(*http.Transport)
	f := &ChartFetcher{CacheDir: t.TempDir(), HTTP: &http.Client{Transport: transport}}
	repo := "oci://" + strings.TrimPrefix(srv.URL, "https://") + "/charts"
	ch, err := f.Fetch(context.Background(), v1alpha1.ChartSource{Repository: repo, Name: "traefik", Version: "7.0.0+wharf"})
	if err != nil {
		t.Fatal(err)
	}
	if chartName(ch) != "traefik-7.0.0+wharf" {
		t.Errorf("fetched %s", chartName(ch))
	}
	if srv.TokenRequests.Load() == 0 {
		t.Error("the pull did not answer the registry's bearer challenge")
	}
	// A tag the registry does not have stalls until the spec changes.
	_, err = f.Fetch(context.Background(), v1alpha1.ChartSource{Repository: repo, Name: "traefik", Version: "7.0.1"})
	checkReason(t, err, ReasonChartNotFound, true)
	// A registry that fails is retried.
	srv.Close()
	_, err = (&ChartFetcher{CacheDir: t.TempDir(), HTTP: &http.Client{Transport: transport}}).Fetch(context.Background(),
		v1alpha1.ChartSource{Repository: repo, Name: "traefik", Version: "7.0.0+wharf"})
	checkReason(t, err, ReasonChartFetchFailed, false)
}
