package bench

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestParsePath(t *testing.T) {
	cases := []struct {
		path string
		want PathInfo
	}{
		{"/api/v1/namespaces/bench/services/lb-1/status", PathInfo{Resource: "services", Subresource: "status", Namespace: "bench", Name: "lb-1"}},
		{"/api/v1/namespaces/bench/services", PathInfo{Resource: "services", Namespace: "bench"}},
		{"/api/v1/namespaces/bench", PathInfo{Resource: "namespaces", Name: "bench"}},
		{"/api/v1/nodes", PathInfo{Resource: "nodes"}},
		{"/apis/apps/v1/namespaces/kube-system/daemonsets/svclb-a", PathInfo{Group: "apps", Resource: "daemonsets", Namespace: "kube-system", Name: "svclb-a"}},
		{"/apis/networking.wharf.dev/v1alpha1/clusternetworkings/cluster/status", PathInfo{Group: "networking.wharf.dev", Resource: "clusternetworkings", Name: "cluster", Subresource: "status"}},
		{"/healthz", PathInfo{}},
		{"/apis", PathInfo{}},
	}
	for _, c := range cases {
		if got := ParsePath(c.path); got != c.want {
			t.Errorf("ParsePath(%q) = %+v, want %+v", c.path, got, c.want)
		}
	}
}

// TestProxyCounts sends requests through the proxy to a fake API server
// and checks what the proxy recorded.
func TestProxyCounts(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/missing") {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte("{}"))
	}))
	defer upstream.Close()
	p, err := StartProxy(&rest.Config{Host: upstream.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	do := func(method, path string) {
		req, _ := http.NewRequest(method, p.URL+path, strings.NewReader("{}"))
		if strings.HasPrefix(path, "/observer") {
			// The observer's requests pass, uncounted.
			path = strings.TrimPrefix(path, "/observer")
			req, _ = http.NewRequest(method, p.URL+path, nil)
			req.Header.Set("User-Agent", ObserverAgent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	do(http.MethodGet, "/observer/api/v1/namespaces/a/pods")
	do(http.MethodGet, "/api/v1/namespaces/a/services")
	do(http.MethodGet, "/api/v1/namespaces/a/services?watch=true")
	do(http.MethodGet, "/api/v1/namespaces/a/services/missing")
	do(http.MethodPost, "/apis/events.k8s.io/v1/namespaces/a/events")
	do(http.MethodPatch, "/api/v1/namespaces/a/services/s/status")
	do(http.MethodDelete, "/apis/apps/v1/namespaces/kube-system/daemonsets")
	// A request is recorded once its answer is complete.
	deadline := time.Now().Add(5 * time.Second)
	for len(p.Requests()) < 6 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var got []string
	for _, r := range p.Requests() {
		got = append(got, r.Verb+" "+r.Resource+" "+http.StatusText(r.Code))
	}
	want := []string{
		"list services OK",
		"watch services ",
		"get services Not Found",
		"create events.k8s.io/events OK",
		"patch services/status OK",
		"deletecollection apps/daemonsets OK",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("recorded:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	reqs := p.Requests()
	for _, r := range reqs {
		if (r.Verb == "watch") != (r.Took == 0) {
			t.Errorf("%s %s took %v: want the answer's time for all but a watch", r.Verb, r.Resource, r.Took)
		}
	}
	if n := countRequests(reqs, reqs[0].At, reqs[len(reqs)-1].At.Add(1), 2).Writes; n != 3 {
		t.Errorf("%d writes counted, want 3", n)
	}
}
