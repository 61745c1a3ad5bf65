package servicelb

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/wharf-dev/wharf/controllers/component"
)

// Setup registers the Service reconciler with mgr, with the index of the
// svclb pods it reads.
func Setup(mgr ctrl.Manager, deps component.Deps) error {
	pods, err := NewPodIndex(mgr.GetConfig())
	if err != nil {
		return err
	}
	if err := mgr.Add(pods); err != nil {
		return fmt.Errorf("run the svclb pod index: %w", err)
	}
	r := &Reconciler{Client: deps.Client, Reader: deps.Reader, Applier: deps.Applier, Events: deps.Events, Pods: pods}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the servicelb controller: %w", err)
	}
	return nil
}
