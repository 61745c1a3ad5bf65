package apply

import (
	"fmt"
	"strings"
)

// Action is what applying or pruning did to one object.
type Action string

// Actions in a ChangeSet.
const (
	// Created: the object did not exist and wharf created it.
	Created Action = "created"
	// Adopted: the object existed, created by someone else, and the
	// component declares it its own (CoreDNS's objects on K3s or kubeadm).
	Adopted Action = "adopted"
	// Configured: wharf changed an object it manages.
	Configured Action = "configured"
	// Unchanged: the object already held what is desired; nothing was sent.
	Unchanged Action = "unchanged"
	// Throttled: another writer keeps changing the object; wharf applies
	// it again later (see ThrottledError).
	Throttled Action = "throttled"
	// Deleted: a stale object wharf created was deleted.
	Deleted Action = "deleted"
	// Released: a stale object wharf adopted lost wharf's labels and
	// annotations and was left in place.
	Released Action = "released"
	// Skipped: a stale object someone else holds now was left alone.
	Skipped Action = "skipped"
)

// Change is what happened to one object.
type Change struct {
	// Object is the kind, namespace and name, as in "Deployment kube-system/coredns".
	Object string
	Action Action
}

// ChangeSet lists what one apply or prune did, in order.
type ChangeSet struct {
	Entries []Change
}

func (cs *ChangeSet) add(object string, action Action) {
	cs.Entries = append(cs.Entries, Change{Object: object, Action: action})
}

// Count returns how many entries have action.
func (cs *ChangeSet) Count(action Action) int {
	n := 0
	for _, e := range cs.Entries {
		if e.Action == action {
			n++
		}
	}
	return n
}

// String lists the changes other than Unchanged, for logs.
func (cs *ChangeSet) String() string {
	var parts []string
	for _, e := range cs.Entries {
		if e.Action != Unchanged {
			parts = append(parts, fmt.Sprintf("%s %s", e.Object, e.Action))
		}
	}
	return strings.Join(parts, ", ")
}
