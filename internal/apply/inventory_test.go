package apply_test

import (
	"strings"
	"testing"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/internal/apply"
)

// TestInventoryDiff: what leaves a component's set is what pruning
// deletes, so Stale must list exactly the entries of the old inventory
// the new one lacks, and OfComponent only that component's.
func TestInventoryDiff(t *testing.T) {
	e := func(comp, kind, ns, name string) v1alpha1.InventoryEntry {
		return v1alpha1.InventoryEntry{Component: comp, Version: "v1", Kind: kind, Namespace: ns, Name: name}
	}
	old := []v1alpha1.InventoryEntry{
		e("traefik", "ConfigMap", "kube-system", "a"),
		e("traefik", "Service", "kube-system", "traefik"),
		e("coredns", "ConfigMap", "kube-system", "coredns"),
	}
	current := []v1alpha1.InventoryEntry{e("traefik", "Service", "kube-system", "traefik")}
	stale := apply.Stale(apply.OfComponent(old, "traefik"), current)
	if len(stale) != 1 || stale[0].Name != "a" {
		t.Errorf("stale = %+v, want only ConfigMap a", stale)
	}
	if got := apply.OfComponent(old, "coredns"); len(got) != 1 || got[0].Name != "coredns" {
		t.Errorf("OfComponent(coredns) = %+v", got)
	}
	inv := append([]v1alpha1.InventoryEntry(nil), old...)
	apply.SortEntries(inv)
	if inv[0].Component != "coredns" {
		t.Errorf("sorted inventory starts with %+v, want coredns's entries first", inv[0])
	}
}

// TestClaims: an object two components render stays with the one whose
// inventory holds it, else the first in reconcile order; the other gets a
// conflict that names both.
func TestClaims(t *testing.T) {
	order := []string{"coredns", "traefik", "servicelb"}
	rendered := map[string][]string{
		"coredns":   {"v1/ConfigMap kube-system/shared", "v1/ConfigMap kube-system/mine"},
		"traefik":   {"v1/ConfigMap kube-system/shared", "v1/Service kube-system/held"},
		"servicelb": {"v1/Service kube-system/held"},
	}
	held := func(comp, id string) bool { return comp == "servicelb" && id == "v1/Service kube-system/held" }
	claims := apply.Claims(order, rendered, held)
	if len(claims["coredns"]) != 0 || len(claims["servicelb"]) != 0 {
		t.Errorf("claims %+v: coredns renders first and servicelb holds its Service, neither conflicts", claims)
	}
	got := claims["traefik"]
	if len(got) != 2 {
		t.Fatalf("traefik's conflicts = %+v, want 2", got)
	}
	msg := (&apply.ConflictError{Conflicts: got}).Error()
	for _, want := range []string{"kube-system/shared", "coredns", "kube-system/held", "servicelb"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the conflict does not name %s: %s", want, msg)
		}
	}
}
