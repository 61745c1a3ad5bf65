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
	fx := newFixture(t)
	ctx, cs, counter := fx.ctx, fx.cs, fx.counter
	scraper := testenv.ServiceAccountToken(ctx, t, cs, "scraper", readerRole)
	stranger := testenv.ServiceAccountToken(ctx, t, cs, "stranger", "")
	srv := fx.serve(t)

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
		fresh := testenv.ServiceAccountToken(ctx, t, cs, "scraper2", readerRole)
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
		fresh := testenv.ServiceAccountToken(ctx, t, cs, "scraper3", readerRole)
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

// TestScrapersThroughAFlood floods the Guard with distinct made-up tokens
// for longer than AllowTTL while two scrapers, allowed before the flood,
// scrape every few hundred milliseconds: the one that keeps its grant is
// served every time, the one whose ClusterRoleBinding is deleted mid-flood
// is refused within AllowTTL, and the API server sees a bounded number of
// reviews.
func TestScrapersThroughAFlood(t *testing.T) {
	const (
		allowTTL = 2 * time.Second
		denyTTL  = time.Second
		interval = 250 * time.Millisecond
		floodFor = 3*allowTTL + allowTTL/2
		revokeAt = allowTTL / 2
	)
	fx := newFixture(t)
	ctx, cs, counter := fx.ctx, fx.cs, fx.counter
	steady := testenv.ServiceAccountToken(ctx, t, cs, "steady", readerRole)
	revoked := testenv.ServiceAccountToken(ctx, t, cs, "revoked", readerRole)
	fx.guard.AllowTTL, fx.guard.DenyTTL = allowTTL, denyTTL
	srv := fx.serve(t)
	url := srv.URL + "/metrics"

	// Both scrapers were served before the flood began.
	for _, token := range []string{steady, revoked} {
		if status, body := get(t, url, "Bearer "+token); status != http.StatusOK {
			t.Fatalf("before the flood: status %d: %s", status, body)
		}
	}

	counter.Reset()
	began := time.Now()
	floodStatuses := floodUntil(url, began.Add(floodFor), 4)

	var scrapes, servedAfterRefusal int
	var revokedAt, refusedAt time.Time
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for ; time.Since(began) < floodFor; <-tick.C {
		if revokedAt.IsZero() && time.Since(began) >= revokeAt {
			if err := cs.RbacV1().ClusterRoleBindings().Delete(ctx, readerRole+"-revoked", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			revokedAt = time.Now()
		}
		status, body := get(t, url, "Bearer "+steady)
		scrapes++
		if status != http.StatusOK {
			t.Errorf("the steady scraper %v into the flood: status %d: %s", time.Since(began).Round(time.Millisecond), status, body)
		}
		switch status, _ := get(t, url, "Bearer "+revoked); {
		case status == http.StatusForbidden && refusedAt.IsZero():
			refusedAt = time.Now()
		case status == http.StatusOK && !refusedAt.IsZero():
			servedAfterRefusal++
		}
	}
	statuses := <-floodStatuses
	took := time.Since(began)
	reviews := counter.Count(http.MethodPost)

	t.Logf("%v of flood: %v; the steady scraper: %d scrapes; the revoked one refused at %v, its binding deleted at %v; %d review requests",
		took.Round(time.Millisecond), statuses, scrapes, since(began, refusedAt), since(began, revokedAt), reviews)
	if statuses[http.StatusTooManyRequests] == 0 {
		t.Fatalf("the flood got no 429 (%v): it did not exhaust the rate limit, so the test proves nothing", statuses)
	}
	switch {
	case refusedAt.IsZero():
		t.Errorf("the scraper whose binding was deleted %v into the flood was never refused", revokeAt)
	case refusedAt.Sub(revokedAt) > allowTTL+interval+time.Second:
		t.Errorf("the scraper whose binding was deleted was refused %v later, want within AllowTTL %v", refusedAt.Sub(revokedAt), allowTTL)
	}
	if servedAfterRefusal > 0 {
		t.Errorf("the revoked scraper was served %d times after it was refused", servedAfterRefusal)
	}

	// The flood's made-up tokens are reviewed through the shared limit
	// (one TokenReview each, answered 401); each scraper costs at most two
	// review requests per DenyTTL (the revoked one, refused, re-enters
	// through the shared limit once DenyTTL is over), and far fewer while
	// allowed: two per AllowTTL.
	floodBound := metricsauth.ReviewBurst + int(math.Ceil(metricsauth.ReviewQPS*took.Seconds()))
	if statuses[http.StatusUnauthorized] > floodBound {
		t.Errorf("%d made-up tokens were reviewed in %v, want at most %d", statuses[http.StatusUnauthorized], took, floodBound)
	}
	scraperBound := 2 * 2 * (int(math.Ceil(took.Seconds()/denyTTL.Seconds())) + 1)
	if n := reviews - statuses[http.StatusUnauthorized]; n > scraperBound {
		t.Errorf("the two scrapers cost %d review requests in %v, want at most %d:\n%s", n, took, scraperBound, counter.WritePaths())
	}
}

// since returns how long after began at was, or "never" for a zero at.
func since(began, at time.Time) string {
	if at.IsZero() {
		return "never"
	}
	return at.Sub(began).Round(time.Millisecond).String()
}

// floodUntil sends requests with distinct made-up tokens from workers
// goroutines until deadline, and then sends how many got each status.
func floodUntil(url string, deadline time.Time, workers int) <-chan map[int]int {
	out := make(chan map[int]int, 1)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				status := -1
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("Authorization", fmt.Sprintf("Bearer made-up-%d-%d", w, i))
				if resp, err := http.DefaultClient.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				mu.Lock()
				statuses[status]++
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	go func() { wg.Wait(); out <- statuses }()
	return out
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

// readerRole is the ClusterRole of newFixture that grants GET /metrics.
const readerRole = "metrics-reader"

// fixture is a real API server with the ClusterRole readerRole, and a
// Guard that asks it through a counting client.
type fixture struct {
	ctx     context.Context
	cs      kubernetes.Interface
	guard   *metricsauth.Guard
	counter *testenv.Counter
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Start(t)
	fx := &fixture{ctx: context.Background(), cs: kubernetes.NewForConfigOrDie(env.Config)}
	reader := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: readerRole},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}
	if _, err := fx.cs.RbacV1().ClusterRoles().Create(fx.ctx, reader, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	counted, counter := testenv.Counting(env.Config)
	httpClient, err := rest.HTTPClientFor(counted)
	if err != nil {
		t.Fatal(err)
	}
	if fx.guard, err = metricsauth.New(counted, httpClient); err != nil {
		t.Fatal(err)
	}
	fx.counter = counter
	return fx
}

// serve starts a server of a metrics handler behind fx.guard.
func (fx *fixture) serve(t *testing.T) *httptest.Server {
	t.Helper()
	guarded, err := fx.guard.Filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "# HELP the metrics\n")
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(guarded)
	t.Cleanup(srv.Close)
	return srv
}
