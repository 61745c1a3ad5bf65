package servicelb

import (
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// staleGuard remembers, per Service, the resource versions the reconciler
// replaced by writing to the Service. A reconcile that reads one of them
// from the cache, which has not caught up with the write yet, stops: the
// watch event of the write brings the Service back, and writing again from
// the old copy would repeat the write (and its Event) or conflict.
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
