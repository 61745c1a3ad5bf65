package servicelb

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/wharf-dev/wharf/controllers/component"
)

// Setup registers the Service reconciler with mgr. It shares the Tracker of
// the ServiceLB component among comps, so that the ClusterNetworking status
// reports what the reconciler finds; without that component among comps it
// fails (a Tracker nobody reads would leave the status blind).
func Setup(mgr ctrl.Manager, deps component.Deps, comps []component.Component) error {
	var tracker *Tracker
	for _, c := range comps {
		if slb, ok := c.(*Component); ok {
			tracker = slb.Tracker()
		}
	}
	if tracker == nil {
		return fmt.Errorf("set up the servicelb controller: the ServiceLB component is not among the ClusterNetworking's components")
	}
	pods, err := NewPodIndex(mgr.GetConfig())
	if err != nil {
		return err
	}
	if err := mgr.Add(pods); err != nil {
		return fmt.Errorf("run the svclb pod index: %w", err)
	}
	r := &Reconciler{Client: deps.Client, Reader: deps.Reader, Applier: deps.Applier, Events: deps.Events, Tracker: tracker, Pods: pods}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the servicelb controller: %w", err)
	}
	return nil
}
