package metricsauth_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
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
	steady := testenv.ServiceAccountToken(ctx, t, cs, "steady", reader.Name)
	revoked := testenv.ServiceAccountToken(ctx, t, cs, "revoked", reader.Name)

	counted, counter := testenv.Counting(env.Config)
	httpClient, err := rest.HTTPClientFor(counted)
	if err != nil {
		t.Fatal(err)
	}
	g, err := metricsauth.New(counted, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	g.AllowTTL, g.DenyTTL = allowTTL, denyTTL
	guarded, err := g.Filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "# HELP the metrics\n")
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(guarded)
	t.Cleanup(srv.Close)
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

	var steadyStatuses []int
	var revokedAt, refusedAt time.Time
	var servedAfterRefusal int
	for tick := time.NewTicker(interval); time.Since(began) < floodFor; <-tick.C {
		if revokedAt.IsZero() && time.Since(began) >= revokeAt {
			if err := cs.RbacV1().ClusterRoleBindings().Delete(ctx, reader.Name+"-revoked", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			revokedAt = time.Now()
		}
		status, body := get(t, url, "Bearer "+steady)
		steadyStatuses = append(steadyStatuses, status)
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
		took.Round(time.Millisecond), statuses, len(steadyStatuses), since(began, refusedAt), since(began, revokedAt), reviews)
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
