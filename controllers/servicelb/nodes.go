package servicelb

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// nodeSnapshot is the Nodes as one reconcile sees them: the list, the same
// by name, and the facts they establish. It is shared and read-only.
type nodeSnapshot struct {
	items  []corev1.Node
	byName map[string]*corev1.Node
	facts  Facts
}

// nodeCache hands every reconcile the same snapshot of the Nodes while
// the Nodes in the manager's Node informer keep their resource versions.
// Listing the Nodes copies each one out of the cache, and with every
// Service reconciled at least three times on creation that was most of
// what the manager allocated; comparing resource versions copies nothing.
// The snapshot is keyed by what the informer holds, so it cannot be stale:
// the informer's store is updated before the event that starts a
// reconcile is handed out. Without a store (nothing set it up) every get
// lists, and the results are the same (TestNodeCacheChangesNoResult).
type nodeCache struct {
	// store is the Node informer's store.
	store toolscache.Store

	mu       sync.Mutex
	snap     *nodeSnapshot
	versions map[string]string
}

// get returns the snapshot of the Nodes as the store holds them now,
// built again when a Node came, went or changed; without a store it
// lists the Nodes from reader.
func (c *nodeCache) get(ctx context.Context, reader client.Reader) (*nodeSnapshot, error) {
	if c.store == nil {
		list := &corev1.NodeList{}
		if err := reader.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("list nodes: %w", err)
		}
		return newNodeSnapshot(list.Items), nil
	}
	objs := c.store.List()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap != nil && sameVersions(objs, c.versions) {
		return c.snap, nil
	}
	items := make([]corev1.Node, 0, len(objs))
	versions := make(map[string]string, len(objs))
	for _, o := range objs {
		if n, ok := o.(*corev1.Node); ok {
			items = append(items, *n)
			versions[n.Name] = n.ResourceVersion
		}
	}
	c.snap, c.versions = newNodeSnapshot(items), versions
	return c.snap, nil
}

// sameVersions reports whether objs are the Nodes of versions, each at its
// resource version.
func sameVersions(objs []any, versions map[string]string) bool {
	if len(objs) != len(versions) {
		return false
	}
	for _, o := range objs {
		n, ok := o.(*corev1.Node)
		if !ok || versions[n.Name] != n.ResourceVersion {
			return false
		}
	}
	return true
}

func newNodeSnapshot(items []corev1.Node) *nodeSnapshot {
	return &nodeSnapshot{items: items, byName: nodesByName(items), facts: FactsFromNodes(items)}
}

func nodesByName(nodes []corev1.Node) map[string]*corev1.Node {
	m := make(map[string]*corev1.Node, len(nodes))
	for i := range nodes {
		m[nodes[i].Name] = &nodes[i]
	}
	return m
}
