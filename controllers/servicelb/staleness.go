package servicelb

import (
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// staleGuard remembers, per Service, the resource versions the reconciler
// replaced by writing to the Service. A reconcile that reads one of them
// from the cache, which has not caught up with the write yet, stops: the
// watch event of the write brings the Service back. It only saves work:
// without it, such a reconcile decides from the old copy, and its writes,
// all conditional on that copy's resource version, are refused (a request
// and a retry, no repeated write or Event; TestCachesChangeNoResult).
type staleGuard struct {
	mu  sync.Mutex
	rvs map[types.NamespacedName][]string
}

// replaced records that a write replaced resource version rv of key.
func (g *staleGuard) replaced(key types.NamespacedName, rv string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rvs == nil {
		g.rvs = map[types.NamespacedName][]string{}
	}
	if !slices.Contains(g.rvs[key], rv) {
		g.rvs[key] = append(g.rvs[key], rv)
	}
}

// stale reports whether rv of key was replaced by a write. Reading a
// version not replaced means the cache caught up: the record is dropped.
func (g *staleGuard) stale(key types.NamespacedName, rv string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if slices.Contains(g.rvs[key], rv) {
		return true
	}
	delete(g.rvs, key)
	return false
}

// forget drops what is remembered of key.
func (g *staleGuard) forget(key types.NamespacedName) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.rvs, key)
}

// reset forgets everything.
func (g *staleGuard) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rvs = nil
}
