package metricsauth

import (
	"crypto/sha256"
	"net/http"
	"testing"
	"time"
)

// A flood of made-up tokens must not grow the remembered decisions past
// MaxRemembered, and expired decisions make room again.
func TestRememberedDecisionsAreBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	g := &Guard{MaxRemembered: 3, remembered: map[[sha256.Size]byte]decision{}, now: func() time.Time { return now }}
	key := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte{byte(i)}) }
	for i := range 10 {
		g.remember(key(i), decision{status: http.StatusUnauthorized, until: now.Add(10 * time.Second)})
	}
	if n := len(g.remembered); n != 3 {
		t.Fatalf("%d decisions remembered, want at most 3", n)
	}
	if _, ok := g.recall(key(9)); ok {
		t.Error("a decision made while the memory was full was remembered")
	}
	if d, ok := g.recall(key(0)); !ok || d.status != http.StatusUnauthorized {
		t.Errorf("recall(0) = %v, %v; want the remembered 401", d, ok)
	}
	now = now.Add(11 * time.Second)
	if _, ok := g.recall(key(0)); ok {
		t.Error("an expired decision was recalled")
	}
	g.remember(key(20), decision{status: http.StatusOK, until: now.Add(time.Minute)})
	if n := len(g.remembered); n != 1 {
		t.Errorf("%d decisions remembered after the others expired, want 1", n)
	}
}

func TestBearerToken(t *testing.T) {
	for header, want := range map[string]string{
		"":             "",
		"Bearer abc":   "abc",
		"bearer abc":   "abc",
		"Bearer  abc ": "abc",
		"Basic abc":    "",
		"Bearerabc":    "",
		"Bearer":       "",
	} {
		r, _ := http.NewRequest(http.MethodGet, "/metrics", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		if got := bearerToken(r); got != want {
			t.Errorf("bearerToken(%q) = %q, want %q", header, got, want)
		}
	}
}
