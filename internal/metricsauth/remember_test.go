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
	g := &Guard{MaxRemembered: 3, remembered: map[[sha256.Size]byte]entry{}, now: func() time.Time { return now }}
	key := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte{byte(i)}) }
	for i := range 10 {
		g.remember(key(i), decision{status: http.StatusUnauthorized, until: now.Add(10 * time.Second)})
	}
	if n := len(g.remembered); n != 3 {
		t.Fatalf("%d decisions remembered, want at most 3", n)
	}
	if _, ok, _ := g.recall(key(9)); ok {
		t.Error("a decision made while the memory was full was remembered")
	}
	if d, ok, _ := g.recall(key(0)); !ok || d.status != http.StatusUnauthorized {
		t.Errorf("recall(0) = %v, %v; want the remembered 401", d, ok)
	}
	now = now.Add(11 * time.Second)
	if _, ok, _ := g.recall(key(0)); ok {
		t.Error("an expired decision was recalled")
	}
	g.remember(key(20), decision{status: http.StatusOK, until: now.Add(time.Minute)})
	if n := len(g.remembered); n != 1 {
		t.Errorf("%d decisions remembered after the others expired, want 1", n)
	}
}

// A token that was allowed is re-reviewed once its decision expires without
// the shared limit, one review at a time, until a review refuses it; a
// flood's refusals cannot push it out of a full memory.
func TestAllowedTokensAreRenewable(t *testing.T) {
	now := time.Unix(1000, 0)
	g := &Guard{MaxRemembered: 3, DenyTTL: 10 * time.Second, remembered: map[[sha256.Size]byte]entry{}, now: func() time.Time { return now }}
	key := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte{byte(i)}) }
	g.remember(key(0), decision{status: http.StatusOK, until: now.Add(time.Minute)})
	g.remember(key(1), decision{status: http.StatusUnauthorized, until: now.Add(10 * time.Second)})
	if _, ok, renew := g.recall(key(0)); !ok || renew {
		t.Fatalf("recall(allowed) = %v, %v within its TTL; want remembered", ok, renew)
	}

	now = now.Add(2 * time.Minute)
	for i := 10; i < 20; i++ { // a flood's refusals, the memory full
		g.remember(key(i), decision{status: http.StatusUnauthorized, until: now.Add(10 * time.Second)})
	}
	if _, ok, renew := g.recall(key(1)); ok || renew {
		t.Errorf("recall(expired refusal) = %v, %v; want neither remembered nor renewable", ok, renew)
	}
	if _, ok, renew := g.recall(key(0)); ok || !renew {
		t.Fatalf("recall(expired allow) after a flood = %v, %v; want a renewal", ok, renew)
	}
	if _, _, renew := g.recall(key(0)); renew {
		t.Error("a second renewal was granted while the first one runs")
	}
	now = now.Add(10 * time.Second)
	if _, _, renew := g.recall(key(0)); !renew {
		t.Error("no renewal DenyTTL after one that did not answer")
	}

	g.remember(key(0), decision{status: http.StatusForbidden, until: now.Add(10 * time.Second)})
	now = now.Add(11 * time.Second)
	if _, ok, renew := g.recall(key(0)); ok || renew {
		t.Errorf("recall(refused on renewal, expired) = %v, %v; want the shared limit", ok, renew)
	}
}

// In a full memory, a refusal cannot take the place of an expired allowed
// token; a newly allowed token can (the scraper it was is gone).
func TestAllowedTokensMakeRoomForAllowedOnly(t *testing.T) {
	now := time.Unix(1000, 0)
	g := &Guard{MaxRemembered: 2, remembered: map[[sha256.Size]byte]entry{}, now: func() time.Time { return now }}
	key := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte{byte(i)}) }
	g.remember(key(0), decision{status: http.StatusOK, until: now.Add(time.Minute)})
	g.remember(key(1), decision{status: http.StatusOK, until: now.Add(time.Minute)})
	now = now.Add(2 * time.Minute)
	g.remember(key(2), decision{status: http.StatusUnauthorized, until: now.Add(10 * time.Second)})
	if _, ok, _ := g.recall(key(2)); ok {
		t.Error("a refusal took the place of an allowed token")
	}
	g.remember(key(3), decision{status: http.StatusOK, until: now.Add(time.Minute)})
	if _, ok, _ := g.recall(key(3)); !ok {
		t.Error("an allowed token was not kept in place of expired allowed ones")
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
