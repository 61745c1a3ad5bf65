package controllers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/wharf-dev/wharf/controllers"
)

// TestRESTConfigAsksForNoGzip: the manager's clients ask for uncompressed
// responses, over plain http too, where client-go's transport ignores
// DisableCompression (the test serves plain http, as a local proxy does).
func TestRESTConfigAsksForNoGzip(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Accept-Encoding"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"NamespaceList","apiVersion":"v1","metadata":{},"items":[]}`))
	}))
	defer srv.Close()

	for _, tc := range []struct {
		name string
		cfg  *rest.Config
		want string
	}{
		{"client-go's default", &rest.Config{Host: srv.URL}, "gzip"},
		{"the manager's", controllers.RESTConfig(&rest.Config{Host: srv.URL}), "identity"},
	} {
		cs, err := kubernetes.NewForConfig(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		seen = nil
		mu.Unlock()
		if _, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		mu.Lock()
		if len(seen) != 1 || seen[0] != tc.want {
			t.Errorf("%s config: Accept-Encoding %q, want %q", tc.name, seen, tc.want)
		}
		mu.Unlock()
	}
}
