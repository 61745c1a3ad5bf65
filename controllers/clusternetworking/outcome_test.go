package clusternetworking

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wharf-dev/wharf/controllers/component"
	"github.com/wharf-dev/wharf/internal/apply"
)

// A phase's error becomes a result: a throttled apply comes back when its
// throttle ends, a stalled or waiting component waits for an event, and
// only other errors go to the controller's backoff.
func TestOutcome(t *testing.T) {
	boom := errors.New("connection refused")
	for _, tc := range []struct {
		name    string
		err     error
		requeue time.Duration
		retried bool
	}{
		{"success", nil, 0, false},
		{"throttled", fmt.Errorf("apply: %w", &apply.ThrottledError{Object: "x", After: 20 * time.Second}), 20 * time.Second, false},
		{"stalled", component.Stalled("InvalidCorefile", boom), 0, false},
		{"waiting", &component.WaitingError{Reason: "ChartFetching", Err: boom}, 0, false},
		{"other", boom, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := outcome(tc.err)
			if res.RequeueAfter != tc.requeue || (err != nil) != tc.retried {
				t.Errorf("outcome(%v) = %v, %v; want requeue after %s, retried %v", tc.err, res, err, tc.requeue, tc.retried)
			}
		})
	}
}
