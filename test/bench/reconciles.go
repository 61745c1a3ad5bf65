package bench

import (
	"context"
	"strings"
)

// ControllerStats is what controller-runtime's metrics say about one
// controller over a window.
type ControllerStats struct {
	// Reconciles counts reconciles, Errors those that returned an error.
	Reconciles int `json:"reconciles"`
	Errors     int `json:"errors"`
	// PerService is Reconciles / N.
	PerService float64 `json:"perService,omitempty"`
	// AvgReconcileMs is the mean time of one reconcile; AvgQueueMs the
	// mean time a request waited in the work queue.
	AvgReconcileMs float64 `json:"avgReconcileMs"`
	AvgQueueMs     float64 `json:"avgQueueMs"`
}

// controllerCounters are the cumulative counters read at one moment.
type controllerCounters map[string]*counterSet

type counterSet struct {
	reconciles, errors           float64
	reconcileSum, reconcileCount float64
	queueSum, queueCount         float64
}

// scrapeControllers reads the reconcile and work-queue counters per
// controller from the manager's metrics.
func scrapeControllers(ctx context.Context, url string) controllerCounters {
	out := controllerCounters{}
	get := func(name string) map[string]float64 {
		v, _ := Scrape(ctx, url, name)
		return v
	}
	set := func(labels string) *counterSet {
		c := labelValue(labels, "controller")
		if c == "" {
			c = labelValue(labels, "name")
		}
		if out[c] == nil {
			out[c] = &counterSet{}
		}
		return out[c]
	}
	for l, v := range get("controller_runtime_reconcile_total") {
		set(l).reconciles += v
	}
	for l, v := range get("controller_runtime_reconcile_errors_total") {
		set(l).errors += v
	}
	for l, v := range get("controller_runtime_reconcile_time_seconds_sum") {
		set(l).reconcileSum += v
	}
	for l, v := range get("controller_runtime_reconcile_time_seconds_count") {
		set(l).reconcileCount += v
	}
	for l, v := range get("workqueue_queue_duration_seconds_sum") {
		set(l).queueSum += v
	}
	for l, v := range get("workqueue_queue_duration_seconds_count") {
		set(l).queueCount += v
	}
	return out
}

// diffControllers returns what happened between two scrapes.
func diffControllers(before, after controllerCounters, n int) map[string]ControllerStats {
	out := map[string]ControllerStats{}
	for name, a := range after {
		b := before[name]
		if b == nil {
			b = &counterSet{}
		}
		st := ControllerStats{Reconciles: int(a.reconciles - b.reconciles), Errors: int(a.errors - b.errors)}
		if c := a.reconcileCount - b.reconcileCount; c > 0 {
			st.AvgReconcileMs = round3((a.reconcileSum - b.reconcileSum) / c * 1000)
		}
		if c := a.queueCount - b.queueCount; c > 0 {
			st.AvgQueueMs = round3((a.queueSum - b.queueSum) / c * 1000)
		}
		if n > 0 {
			st.PerService = round3(float64(st.Reconciles) / float64(n))
		}
		if st.Reconciles > 0 || st.AvgQueueMs > 0 {
			out[name] = st
		}
	}
	return out
}

// labelValue returns the value of label key in a Prometheus label set
// written as `a="x",b="y"`.
func labelValue(labels, key string) string {
	for _, part := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.TrimSpace(k) == key {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
