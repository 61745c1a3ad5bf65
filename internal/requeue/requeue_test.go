package requeue

import (
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

func TestSoonest(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []ctrl.Result
		want time.Duration
	}{
		{"none", nil, 0},
		{"all zero: wait for an event", []ctrl.Result{{}, {}}, 0},
		{"a zero result does not win", []ctrl.Result{{}, After(time.Minute), {}}, time.Minute},
		{"the lowest wins, in any order", []ctrl.Result{After(time.Minute), After(2 * time.Second), After(30 * time.Second)}, 2 * time.Second},
		{"a negative delay is no delay", []ctrl.Result{After(-time.Second), After(time.Second)}, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Soonest(tc.in...); got.RequeueAfter != tc.want {
				t.Errorf("Soonest(%v) = %v, want %v", tc.in, got.RequeueAfter, tc.want)
			}
		})
	}
}
