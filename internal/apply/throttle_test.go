package apply

import (
	"fmt"
	"testing"
	"time"
)

// A writer fighting wharf over one object gets a few rewrites at once,
// then ever longer waits; new content is always written at once.
func TestSafetyThrottleBacksOffRewrites(t *testing.T) {
	now := time.Unix(0, 0)
	th := newThrottle()
	th.now = func() time.Time { return now }
	writes := 0
	// Another writer changes the object every 100 ms for 10 minutes.
	for i := 0; i < 6000; i++ {
		if _, _, ok := th.admit("k", "a"); ok {
			writes++
			th.record("k", "a", fmt.Sprint(2*i), fmt.Sprint(2*i+1))
		}
		now = now.Add(100 * time.Millisecond)
		if i == 599 && writes > 6 {
			t.Fatalf("%d writes in the first minute", writes)
		}
	}
	if writes > 12 {
		t.Errorf("%d writes in 10 minutes of fighting, want at most 12", writes)
	}
	// Applies that change nothing (the object was as desired) are no rewrites.
	quiet := newThrottle()
	for range 100 {
		if _, _, ok := quiet.admit("k", "a"); !ok {
			t.Fatal("applies that changed nothing were throttled")
		}
		quiet.record("k", "a", "7", "7")
	}
	if _, _, ok := th.admit("k", "b"); !ok {
		t.Error("new content was throttled")
	}
	if _, _, ok := th.admit("other", "a"); !ok {
		t.Error("another object was throttled")
	}
}
