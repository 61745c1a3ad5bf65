package servicelb

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/internal/apply"
)

// DropCaches empties the reconciler's caches that only save work (the
// staleness guard, the build memo, the node snapshot) and gives it a new
// Applier, which remembers nothing, as after a restart.
func (r *Reconciler) DropCaches(a *apply.Applier) {
	r.stale.reset()
	r.built.reset()
	r.nodes.mu.Lock()
	r.nodes.snap, r.nodes.versions = nil, nil
	r.nodes.mu.Unlock()
	r.Applier = a
}

// IndexDaemonSets indexes the svclb DaemonSets of a cache by Service, as
// SetupWithManager does for the manager's.
func IndexDaemonSets(indexer client.FieldIndexer) error { return indexDaemonSets(indexer) }
