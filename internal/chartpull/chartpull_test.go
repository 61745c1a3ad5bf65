package chartpull

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
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
			_, _ = w.Write([]byte(strings.Repeat("x", MaxSize+1)))
		case "/broken":
			http.Error(w, "down", http.StatusBadGateway)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := &Client{}
	ctx := context.Background()
	idx, err := c.FetchIndex(ctx, srv.URL+"/")
	if err != nil || len(idx.Entries["traefik"]) != 1 || idx.Entries["traefik"][0].URLs[0] != "charts/traefik-1.0.0.tgz" {
		t.Fatalf("FetchIndex = %+v, %v", idx, err)
	}
	if u, err := ResolveURL(srv.URL, "charts/traefik-1.0.0.tgz"); err != nil || u != srv.URL+"/charts/traefik-1.0.0.tgz" {
		t.Errorf("ResolveURL = %q, %v", u, err)
	}
	if u, _ := ResolveURL(srv.URL+"/sub", "https://cdn.example/t.tgz"); u != "https://cdn.example/t.tgz" {
		t.Errorf("an absolute URL was rewritten: %q", u)
	}
	if _, err := c.Get(ctx, srv.URL+"/missing", nil); !IsNotFound(err) {
		t.Errorf("404: err %v, want a NotFoundError", err)
	}
	if _, err := c.Get(ctx, srv.URL+"/broken", nil); err == nil || IsNotFound(err) || !strings.Contains(err.Error(), "502") {
		t.Errorf("502: err %v, want a retryable error that says 502", err)
	}
	if _, err := c.Get(ctx, srv.URL+"/big", nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized: err %v", err)
	}
	if _, err := c.Get(ctx, "ftp://example/x", nil); !IsNotFound(err) {
		t.Errorf("ftp: err %v, want a NotFoundError", err)
	}
}
