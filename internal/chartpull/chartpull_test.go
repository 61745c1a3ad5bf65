package chartpull

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

func TestParseReference(t *testing.T) {
	for ref, want := range map[string]Reference{
		"oci://ghcr.io/traefik/helm/traefik:37.1.1":   {Host: "ghcr.io", Path: "traefik/helm/traefik", Tag: "37.1.1"},
		"oci://localhost:5000/charts/traefik:1.0.0_a": {Host: "localhost:5000", Path: "charts/traefik", Tag: "1.0.0_a"},
	} {
		got, err := ParseReference(ref)
		if err != nil || got != want {
			t.Errorf("ParseReference(%q) = %+v, %v; want %+v", ref, got, err, want)
		}
		if got.String() != ref {
			t.Errorf("String() = %q, want %q", got.String(), ref)
		}
	}
	for _, bad := range []string{"https://ghcr.io/a:1", "oci://ghcr.io", "oci://ghcr.io/traefik", "oci://ghcr.io/traefik:", "oci:///a:1"} {
		if _, err := ParseReference(bad); !IsNotFound(err) {
			t.Errorf("ParseReference(%q): err %v, want a NotFoundError", bad, err)
		}
	}
}

func TestParseChallenge(t *testing.T) {
	got := parseChallenge(`realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"`)
	want := map[string]string{"realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:a/b:pull,push"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseChallenge = %v, want %v", got, want)
	}
	if got := parseChallenge(`Realm=https://x/token, service=x`); got["realm"] != "https://x/token" || got["service"] != "x" {
		t.Errorf("unquoted values: %v", got)
	}
}

func TestGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index.yaml":
			_, _ = w.Write([]byte("entries:\n  traefik:\n  - name: traefik\n    version: 1.0.0\n    urls: [charts/traefik-1.0.0.tgz]\n    digest: abc\n"))
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("x", 1001)))
		case "/broken":
			http.Error(w, "down", http.StatusBadGateway)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := &Client{AllowHTTP: true}
	ctx := context.Background()
	cv, err := c.FindChart(ctx, srv.URL+"/", "traefik", "1.0.0")
	if err != nil || !cv.Found || cv.Entry.URLs[0] != "charts/traefik-1.0.0.tgz" {
		t.Fatalf("FindChart = %+v, %v", cv, err)
	}
	if u, err := ResolveURL(srv.URL, "charts/traefik-1.0.0.tgz"); err != nil || u != srv.URL+"/charts/traefik-1.0.0.tgz" {
		t.Errorf("ResolveURL = %q, %v", u, err)
	}
	if _, err := c.Get(ctx, srv.URL+"/missing", nil, 1000); !IsNotFound(err) {
		t.Errorf("404: err %v, want a NotFoundError", err)
	}
	if _, err := c.Get(ctx, srv.URL+"/broken", nil, 1000); err == nil || IsNotFound(err) || !strings.Contains(err.Error(), "502") {
		t.Errorf("502: err %v, want a retryable error that says 502", err)
	}
	if _, err := c.Get(ctx, srv.URL+"/big", nil, 1000); !IsRefused(err) || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Errorf("oversized: err %v, want a RefusedError naming the cap", err)
	}
	if _, err := c.Get(ctx, "ftp://example/x", nil, 1000); !IsNotFound(err) {
		t.Errorf("ftp: err %v, want a NotFoundError", err)
	}
}

// TestPlainHTTPNeedsAllowHTTP: an http:// URL is refused unless the client
// allows it, before any request is made.
func TestPlainHTTPNeedsAllowHTTP(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, err := (&Client{}).Get(context.Background(), srv.URL+"/index.yaml", nil, 1000)
	if !IsRefused(err) || !strings.Contains(err.Error(), "plain http") {
		t.Errorf("err %v, want a RefusedError about plain http", err)
	}
	if _, err := (&Client{}).FindChart(context.Background(), srv.URL, "traefik", "1.0.0"); !IsRefused(err) {
		t.Errorf("FindChart: err %v, want a RefusedError", err)
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests went out over plain http", hits.Load())
	}
}

// TestResolveURLStaysOnTheRepository: relative URLs resolve against the
// repository; an absolute URL on another host, port or scheme is refused.
func TestResolveURLStaysOnTheRepository(t *testing.T) {
	for _, tc := range []struct{ repo, ref, want string }{
		{"https://charts.example/sub", "traefik-1.0.0.tgz", "https://charts.example/sub/traefik-1.0.0.tgz"},
		{"https://charts.example/sub/", "/other/traefik-1.0.0.tgz", "https://charts.example/other/traefik-1.0.0.tgz"},
		{"https://charts.example/sub", "https://CHARTS.example/sub/t.tgz", "https://CHARTS.example/sub/t.tgz"},
	} {
		if got, err := ResolveURL(tc.repo, tc.ref); err != nil || got != tc.want {
			t.Errorf("ResolveURL(%q, %q) = %q, %v; want %q", tc.repo, tc.ref, got, err, tc.want)
		}
	}
	for _, ref := range []string{
		"https://cdn.example/t.tgz",
		"//169.254.169.254/latest/meta-data",
		"http://charts.example/sub/t.tgz",
		"https://charts.example:8443/sub/t.tgz",
		"https://charts.example.evil.example/t.tgz",
	} {
		if got, err := ResolveURL("https://charts.example/sub", ref); !IsRefused(err) {
			t.Errorf("ResolveURL(%q) = %q, %v; want a RefusedError", ref, got, err)
		}
	}
}

// TestRedirects: a redirect on the same host is followed; one to another
// host, or from https to http, is refused before the request is sent.
func TestRedirects(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		_, _ = w.Write([]byte("secret"))
	}))
	defer other.Close()
	var tlsSrv *httptest.Server
	tlsSrv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/final":
			_, _ = w.Write([]byte("ok"))
		case "/cross":
			http.Redirect(w, r, strings.Replace(tlsSrv.URL, "127.0.0.1", "localhost", 1)+"/final", http.StatusFound)
		case "/downgrade":
			http.Redirect(w, r, other.URL+"/x", http.StatusFound)
		}
	}))
	defer tlsSrv.Close()
	c := &Client{HTTP: tlsSrv.Client(), AllowHTTP: true}
	ctx := context.Background()
	if b, err := c.Get(ctx, tlsSrv.URL+"/same", nil, 100); err != nil || string(b) != "ok" {
		t.Errorf("same-host redirect: %q, %v", b, err)
	}
	for _, path := range []string{"/cross", "/downgrade"} {
		if b, err := c.Get(ctx, tlsSrv.URL+path, nil, 100); !IsRefused(err) {
			t.Errorf("%s: %q, %v; want a RefusedError", path, b, err)
		}
	}
	// Plain http to another host, allowed or not.
	redirector := httptest.NewServer(http.RedirectHandler(other.URL+"/x", http.StatusFound))
	defer redirector.Close()
	if b, err := c.Get(ctx, redirector.URL, nil, 100); !IsRefused(err) {
		t.Errorf("http cross-host: %q, %v; want a RefusedError", b, err)
	}
	if otherHits.Load() != 0 {
		t.Errorf("the other server got %d requests", otherHits.Load())
	}
}
