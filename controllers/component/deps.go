package component

import (
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
)

// FieldManager is the one server-side apply field manager wharf uses for
// every object it applies.
const FieldManager = "wharf"

// Deps are what components are built with.
type Deps struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// Reader reads from the API server directly, for objects the cache
	// does not hold (Secrets, ConfigMaps).
	Reader client.Reader
	// Applier applies with the wharf field manager.
	Applier *apply.Applier
	// Events records Events on the objects wharf acts for.
	Events events.EventRecorder
}

// OfflineRenderer is implemented by components that can render without a
// cluster: OfflineInputs returns Facts that take defaults for every cluster
// fact, for Render. `manager render` uses it.
type OfflineRenderer interface {
	OfflineInputs(cn *v1alpha1.ClusterNetworking) (Facts, error)
}

// OfflineLimiter is implemented by offline renderers that, for some specs,
// render other than the operator would: a remote chart they do not fetch,
// documents they do not read.
type OfflineLimiter interface {
	// OfflineLimits says, for people, one sentence each, what a render
	// of OfflineInputs renders other than the operator would for cn, and
	// why; nothing when it renders the same.
	OfflineLimits(cn *v1alpha1.ClusterNetworking) []string
}
