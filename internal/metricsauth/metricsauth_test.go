package metricsauth_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/wharf-dev/wharf/internal/metricsauth"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// TestGuardAgainstAPIServer puts a handler behind the Guard and calls it as
// a scraper would, with tokens of real ServiceAccounts of a real API
// server whose RBAC decides.
func TestGuardAgainstAPIServer(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	reader := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader"},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, reader, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	scraper := testenv.ServiceAccountToken(ctx, t, cs, "scraper", reader.Name)
	stranger := testenv.ServiceAccountToken(ctx, t, cs, "stranger", "")

	counted, counter := testenv.Counting(env.Config)
	httpClient, err := rest.HTTPClientFor(counted)
	if err != nil {
		t.Fatal(err)
	}
	filter, err := metricsauth.FilterProvider(counted, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	guarded, err := filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "# HELP the metrics\n")
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(guarded)
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name, header, path string
		want               int
	}{
		{"no token", "", "/metrics", http.StatusUnauthorized},
		{"not a bearer token", "Basic " + scraper, "/metrics", http.StatusUnauthorized},
		{"a made-up token", "Bearer not-a-token", "/metrics", http.StatusUnauthorized},
		{"a user without the grant", "Bearer " + stranger, "/metrics", http.StatusForbidden},
		{"the reader on another path", "Bearer " + scraper, "/debug/pprof/", http.StatusForbidden},
		{"the reader", "Bearer " + scraper, "/metrics", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, srv.URL+tc.path, tc.header)
			if status != tc.want {
				t.Fatalf("status %d, want %d: %s", status, tc.want, body)
			}
			if (status == http.StatusOK) != strings.Contains(body, "# HELP") {
				t.Errorf("status %d with body %q", status, body)
			}
		})
	}

	t.Run("a scraper costs two reviews per TTL, not per scrape", func(t *testing.T) {
		counter.Reset()
		fresh := testenv.ServiceAccountToken(ctx, t, cs, "scraper2", reader.Name)
		for range 10 {
			if status, body := get(t, srv.URL+"/metrics", "Bearer "+fresh); status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
		}
		if n := counter.Count(http.MethodPost); n != 2 {
			t.Errorf("10 scrapes made %d review requests, want 2 (one TokenReview, one SubjectAccessReview):\n%s", n, counter.WritePaths())
		}
	})

	t.Run("a flood of made-up tokens costs a bounded number of reviews", func(t *testing.T) {
		const n = 300
		counter.Reset()
		statuses, took := flood(t, srv.URL+"/metrics", n)
		reviews := counter.Count(http.MethodPost)
		bound := metricsauth.ReviewBurst + int(math.Ceil(metricsauth.ReviewQPS*took.Seconds()))
		t.Logf("%d made-up tokens in %v: %d TokenReviews (bound %d), statuses %v", n, took.Round(time.Millisecond), reviews, bound, statuses)
		if reviews > bound {
			t.Errorf("%d TokenReviews for %d made-up tokens in %v, want at most %d:\n%s", reviews, n, took, bound, counter.WritePaths())
		}
		if statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests] != n {
			t.Errorf("statuses %v, want only 401 (reviewed) and 429 (over the limit)", statuses)
		}
		if statuses[http.StatusUnauthorized] != reviews {
			t.Errorf("%d answered 401 but %d reviewed: a refusal without a review, or a review without an answer", statuses[http.StatusUnauthorized], reviews)
		}
		// A scraper the Guard remembers is not held back by the flood.
		if status, body := get(t, srv.URL+"/metrics", "Bearer "+scraper); status != http.StatusOK {
			t.Errorf("the remembered scraper right after the flood: status %d: %s", status, body)
		}
		// A new one gets through as soon as the limit allows a review.
		fresh := testenv.ServiceAccountToken(ctx, t, cs, "scraper3", reader.Name)
		deadline := time.Now().Add(2 * time.Second)
		for {
			status, body := get(t, srv.URL+"/metrics", "Bearer "+fresh)
			if status == http.StatusOK {
				break
			}
			if status != http.StatusTooManyRequests || time.Now().After(deadline) {
				t.Fatalf("a new scraper after the flood: status %d: %s", status, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// flood sends n requests with distinct made-up tokens, 20 at a
// time, and returns how many got each status and how long it took.
func flood(t *testing.T, url string, n int) (map[int]int, time.Duration) {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	began := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 20)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			status, _ := get(t, url, fmt.Sprintf("Bearer made-up-%d", i))
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return statuses, time.Since(began)
}

func get(t *testing.T, url, authorization string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
