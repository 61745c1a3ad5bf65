package apply

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReasonConflict is the condition reason of a component whose rendered
// objects collide with objects wharf must not take over.
const ReasonConflict = "Conflict"

// Conflict is one object a component renders but may not apply.
type Conflict struct {
	// Object is the kind, namespace and name.
	Object string
	// Claimant is the component that rendered it.
	Claimant string
	// Holder is who has it: another wharf component, or a description of
	// an object wharf did not create.
	Holder string
}

func (c Conflict) String() string {
	return fmt.Sprintf("%s is rendered by %s but %s", c.Object, c.Claimant, c.Holder)
}

// ConflictError lists the conflicts that kept a component from applying
// anything. A retry does not help until the spec or the colliding objects
// change.
type ConflictError struct {
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	parts := make([]string, 0, len(e.Conflicts))
	for _, c := range e.Conflicts {
		parts = append(parts, c.String())
	}
	sort.Strings(parts)
	return "nothing applied: " + strings.Join(parts, "; ")
}

// ConditionReason implements the frame's reasoned errors.
func (e *ConflictError) ConditionReason() string { return ReasonConflict }

// otherWritersIgnored are managers whose writes to an object's main
// resource do not make someone else its author: the controllers that keep
// annotations such as a Deployment's revision.
var otherWritersIgnored = map[string]bool{"kube-controller-manager": true}

// originOf returns what a live object wharf manages records as its origin.
// Objects applied before wharf recorded origins count as created when no
// manager but wharf (and the cluster's controllers) ever wrote the object
// itself, else as adopted: an unsure answer keeps the object.
func originOf(live metav1.Object, fieldManager string) string {
	switch o := live.GetAnnotations()[OriginAnnotation]; o {
	case OriginCreated, OriginAdopted:
		return o
	}
	for _, mf := range live.GetManagedFields() {
		if mf.Subresource != "" || mf.Manager == fieldManager || strings.HasPrefix(mf.Manager, fieldManager+"-") || otherWritersIgnored[mf.Manager] {
			continue
		}
		return OriginAdopted
	}
	return OriginCreated
}

// Claims reports, for the objects rendered by several components at once,
// which component keeps each: the one whose inventory already holds it,
// else the first in order. The others get a Conflict naming both.
// rendered maps each component, in reconcile order, to its objects'
// identities; inventories maps components to what they hold now.
func Claims(order []string, rendered map[string][]string, holds func(component, identity string) bool) map[string][]Conflict {
	claimants := map[string][]string{}
	var ids []string
	for _, c := range order {
		for _, id := range rendered[c] {
			if len(claimants[id]) == 0 {
				ids = append(ids, id)
			}
			if len(claimants[id]) == 0 || claimants[id][len(claimants[id])-1] != c {
				claimants[id] = append(claimants[id], c)
			}
		}
	}
	out := map[string][]Conflict{}
	for _, id := range ids {
		cs := claimants[id]
		if len(cs) < 2 {
			continue
		}
		keeper := cs[0]
		for _, c := range cs {
			if holds(c, id) {
				keeper = c
				break
			}
		}
		for _, c := range cs {
			if c == keeper {
				continue
			}
			out[c] = append(out[c], Conflict{
				Object:   describeIdentity(id),
				Claimant: c,
				Holder:   fmt.Sprintf("the %s component renders it too and keeps it", keeper),
			})
		}
	}
	return out
}

// describeIdentity turns "group/Kind/namespace/name" into "Kind namespace/name".
func describeIdentity(id string) string {
	parts := strings.SplitN(id, "/", 4)
	if len(parts) != 4 {
		return id
	}
	if parts[2] == "" {
		return parts[1] + " " + parts[3]
	}
	return parts[1] + " " + parts[2] + "/" + parts[3]
}
