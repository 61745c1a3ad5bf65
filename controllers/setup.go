// Package controllers wires wharf's reconcilers into a controller-runtime
// manager: the ClusterNetworking reconciler with its components, and the
// Service reconciler of ServiceLB.
package controllers

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/wharf-dev/wharf/controllers/clusternetworking"
	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/controllers/coredns"
	"github.com/wharf-dev/wharf/controllers/servicelb"
	"github.com/wharf-dev/wharf/controllers/traefik"
	"github.com/wharf-dev/wharf/internal/apply"
)

// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Components returns the components in the order they are reconciled.
func Components(deps component.Deps) []component.Component {
	return []component.Component{coredns.New(deps), traefik.New(deps), servicelb.New(deps)}
}

// Setup registers every wharf reconciler with mgr.
func Setup(mgr ctrl.Manager) error {
	// Every reconciler reads through a client that refuses to list the
	// kinds the cache holds in part beyond that part (see cacheScopes).
	c := ScopedClient(mgr.GetClient())
	deps := component.Deps{
		Client:  c,
		Reader:  mgr.GetAPIReader(),
		Applier: apply.New(c, mgr.GetAPIReader(), component.FieldManager),
		Events:  mgr.GetEventRecorder("wharf"),
	}
	r := &clusternetworking.Reconciler{Client: c, Reader: deps.Reader, Applier: deps.Applier, Components: Components(deps)}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the clusternetworking controller: %w", err)
	}
	if err := servicelb.Setup(mgr, deps); err != nil {
		return err
	}
	return nil
}
