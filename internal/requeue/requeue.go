// Package requeue combines the results of a reconcile's phases. A phase
// that wants to be looked at again later says so in its ctrl.Result, never
// through an error or by sleeping in the worker.
//
// Written here rather than imported: the rule is cluster-api's
// (sigs.k8s.io/cluster-api util.LowestNonZeroResult), but that module is
// far too large a dependency for one comparison.
package requeue

import (
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Soonest returns the result that comes back soonest: the lowest non-zero
// RequeueAfter among results, or the zero Result (wait for the next event)
// when none asks to come back.
func Soonest(results ...ctrl.Result) ctrl.Result {
	var out ctrl.Result
	for _, r := range results {
		if r.RequeueAfter > 0 && (out.RequeueAfter == 0 || r.RequeueAfter < out.RequeueAfter) {
			out.RequeueAfter = r.RequeueAfter
		}
	}
	return out
}

// After is a Result that comes back after d; zero or less is the zero
// Result.
func After(d time.Duration) ctrl.Result {
	if d <= 0 {
		return ctrl.Result{}
	}
	return ctrl.Result{RequeueAfter: d}
}
