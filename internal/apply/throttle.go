package apply

import (
	"fmt"
	"sync"
	"time"
)

// Rewrites of the same content to one object are throttled: wharf applies
// an object again with what it applied before only when someone else
// changed it. A few such rewrites a minute are reverted at once (a hand
// edit, a deleted object); past that another writer is fighting wharf over
// the object, and each further rewrite waits twice as long as the last,
// up to maxRewriteDelay. A new desired content (the spec changed) is
// always written at once.
const (
	rewriteWindow     = time.Minute
	freeRewrites      = 3
	firstRewriteDelay = 10 * time.Second
	maxRewriteDelay   = 5 * time.Minute
)

// ThrottledError is returned instead of writing an object that wharf
// rewrote too often with the same content.
type ThrottledError struct {
	Object string
	// Rewrites is how many times the same content was written in the last minute.
	Rewrites int
	After    time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%s was changed by another writer and applied again %d times within a minute; "+
		"wharf applies it again in %s", e.Object, e.Rewrites, e.After.Round(time.Second))
}

// RetryAfter says when to try again.
func (e *ThrottledError) RetryAfter() time.Duration { return e.After }

// ConditionReason implements the frame's reasoned errors.
func (e *ThrottledError) ConditionReason() string { return "Throttled" }

type writeHistory struct {
	last     string      // the content last written
	version  string      // the resource version that write left
	rewrites []time.Time // writes of last within the window that changed the object
	delay    time.Duration
	next     time.Time
}

type throttle struct {
	mu   sync.Mutex
	now  func() time.Time
	byID map[string]*writeHistory
}

func newThrottle() *throttle {
	return &throttle{now: time.Now, byID: map[string]*writeHistory{}}
}

// admit reports whether desired may be written to key now. Otherwise it
// says how long to wait and how many rewrites the window holds.
func (t *throttle) admit(key, desired string) (time.Duration, int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.byID[key]
	if h == nil || h.last != desired {
		return 0, 0, true
	}
	now := t.now()
	if now.Before(h.next) {
		return h.next.Sub(now), len(h.rewrites), false
	}
	return 0, len(h.rewrites), true
}

// record notes a write of desired to key that left resource version
// after; before is the version read just before, or empty. A write that
// changed nothing (the version stayed) is no rewrite.
func (t *throttle) record(key, desired, before, after string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.byID[key]
	if h == nil || h.last != desired {
		// New content: written at once, and any fight starts over.
		t.byID[key] = &writeHistory{last: desired, version: after}
		return
	}
	if before == "" {
		before = h.version
	}
	h.version = after
	if after == before {
		return
	}
	now := t.now()
	if len(h.rewrites) > 0 && now.Sub(h.rewrites[len(h.rewrites)-1]) > 2*maxRewriteDelay {
		h.delay, h.next = 0, time.Time{}
	}
	kept := h.rewrites[:0]
	for _, at := range h.rewrites {
		if now.Sub(at) < rewriteWindow {
			kept = append(kept, at)
		}
	}
	h.rewrites = append(kept, now)
	if len(h.rewrites) >= freeRewrites || h.delay > 0 {
		if h.delay == 0 {
			h.delay = firstRewriteDelay
		} else {
			h.delay = min(2*h.delay, maxRewriteDelay)
		}
		h.next = now.Add(h.delay)
	}
}

// forget drops the history of key: the object was deleted by wharf.
func (t *throttle) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byID, key)
}
