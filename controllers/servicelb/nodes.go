package servicelb

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// nodeSnapshot is the Nodes as one reconcile sees them: the list, the same
// by name, and the facts they establish. It is shared and read-only.
type nodeSnapshot struct {
	items  []corev1.Node
	byName map[string]*corev1.Node
	facts  Facts
}

// nodeCache hands every reconcile the same snapshot of the Nodes until a
// Node event arrives. Listing the Nodes copies each one out of the cache,
// and with every Service reconciled at least three times on creation that
// was most of what the manager allocated.
type nodeCache struct {
	// version counts Node events; a snapshot built at an older version is
	// rebuilt.
	version atomic.Uint64

	mu    sync.Mutex
	built uint64
	snap  *nodeSnapshot
}

// get returns the current snapshot, listing the Nodes from reader when a
// Node changed since the last one was built.
func (c *nodeCache) get(ctx context.Context, reader client.Reader) (*nodeSnapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Read the version before listing: an event that lands during the list
	// leaves a snapshot marked older than it, so the next call lists again.
	v := c.version.Load()
	if c.snap != nil && c.built == v {
		return c.snap, nil
	}
	list := &corev1.NodeList{}
	if err := reader.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	c.snap = &nodeSnapshot{items: list.Items, byName: nodesByName(list.Items), facts: FactsFromNodes(list.Items)}
	c.built = v
	return c.snap, nil
}

// invalidate is a predicate that lets every Node event through after
// marking the snapshot stale. It goes first among the Node watch's
// predicates, so that no event escapes it.
func (c *nodeCache) invalidate() predicate.Predicate {
	bump := func() bool { c.version.Add(1); return true }
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return bump() },
		UpdateFunc:  func(event.UpdateEvent) bool { return bump() },
		DeleteFunc:  func(event.DeleteEvent) bool { return bump() },
		GenericFunc: func(event.GenericEvent) bool { return bump() },
	}
}

func nodesByName(nodes []corev1.Node) map[string]*corev1.Node {
	m := make(map[string]*corev1.Node, len(nodes))
	for i := range nodes {
		m[nodes[i].Name] = &nodes[i]
	}
	return m
}
