package bench

import (
	"bytes"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := latency(ds)
	if l.P50Ms != 50 || l.P99Ms != 99 || l.MaxMs != 100 || l.Count != 100 {
		t.Errorf("latency = %+v", l)
	}
	if got := latency([]time.Duration{7 * time.Millisecond}); got.P50Ms != 7 || got.P99Ms != 7 {
		t.Errorf("latency of one = %+v", got)
	}
	if got := latency(nil); got.Count != 0 {
		t.Errorf("latency of none = %+v", got)
	}
}

func TestParseMetric(t *testing.T) {
	text := `# HELP go_memstats_heap_inuse_bytes x
go_memstats_heap_inuse_bytes 1.2345e+07
go_memstats_heap_inuse_bytes_total 9
controller_runtime_reconcile_total{controller="servicelb",result="success"} 42
controller_runtime_reconcile_total{controller="servicelb",result="error"} 1
`
	v, err := parseMetric(strings.NewReader(text), "go_memstats_heap_inuse_bytes")
	if err != nil || len(v) != 1 || v[""] != 12345000 {
		t.Errorf("heap = %v, %v", v, err)
	}
	r, _ := parseMetric(strings.NewReader(text), "controller_runtime_reconcile_total")
	if len(r) != 2 || labelValue(`controller="servicelb",result="error"`, "result") != "error" {
		t.Errorf("reconciles = %v", r)
	}
}

// TestWritePlot draws a report and decodes the PNG.
func TestWritePlot(t *testing.T) {
	r := &Report{Scale: Scale{Services: 3, Nodes: 2, Pods: 10, PoolSize: 1}, ConvergenceRatio: 1.2}
	r.Operator = &PhaseResult{
		ConvergenceSeconds: 3,
		Curve:              []Point{{0, 0}, {1, 1}, {2, 2}, {3, 3}},
		Convergence:        Requests{PerServiceByVerb: map[string]float64{"patch": 3, "create": 2}},
		Manager:            &ManagerCost{Samples: []Sample{{T: -1, RSSBytes: 50 << 20}, {T: 3, RSSBytes: 60 << 20, HeapInuse: 20 << 20}}},
	}
	r.Floor = &PhaseResult{ConvergenceSeconds: 2.5, Curve: []Point{{0, 0}, {2.5, 3}}, Convergence: Requests{PerServiceByVerb: map[string]float64{"patch": 2}}}
	r.Evaluate()
	path := filepath.Join(t.TempDir(), "plot.png")
	if err := WritePlot(r, path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != plotWidth {
		t.Errorf("width %d", img.Bounds().Dx())
	}
	if !strings.Contains(r.Table(), "convergence vs floor") {
		t.Errorf("table lacks the ratio:\n%s", r.Table())
	}
}

func TestServiceWrites(t *testing.T) {
	own, summary := serviceWrites(map[string]int{
		"create events.k8s.io/events":                          40,
		"patch services":                                       10,
		"patch services/status":                                11,
		"patch apps/daemonsets":                                10,
		"patch networking.wharf.dev/clusternetworkings/status": 3,
	}, 10)
	if own != 3.1 || summary != 3 {
		t.Errorf("serviceWrites = %v, %d; want 3.1 and 3", own, summary)
	}
}

// No Service of the scenario may ask for a port ServiceLB reserves by
// default (the kubelet's 10250): it would never converge.
func TestServicePortsAvoidReservedPorts(t *testing.T) {
	seen := map[int32]bool{}
	for i := 0; i < 50000; i++ {
		p := ServicePort(i)
		if p == kubeletPort || p == 22 || p == 6443 || (p >= 2379 && p <= 2380) || seen[p] || p > 65535 {
			t.Fatalf("Service %d gets port %d: reserved, taken or out of range", i, p)
		}
		seen[p] = true
	}
}

// The every-node targets read the writes split by kind: a write counted
// under the wrong kind would pass or fail the wrong target.
func TestWritesSplitByKind(t *testing.T) {
	reqs := []Request{
		{Verb: "patch", Resource: "services/status", Code: 200, Took: 300 * time.Millisecond},
		{Verb: "patch", Resource: "services/status", Code: 200, Took: 10 * time.Millisecond},
		{Verb: "patch", Resource: "services", Code: 200, Took: 5 * time.Second},
		{Verb: "patch", Resource: "apps/daemonsets", Code: 200},
		{Verb: "create", Resource: "events.k8s.io/events", Code: 201},
		{Verb: "patch", Resource: "networking.wharf.dev/clusternetworkings/status", Code: 200},
		{Verb: "get", Resource: "services", Code: 200},
	}
	now := time.Now()
	for i := range reqs {
		reqs[i].At = now
	}
	counts := countRequests(reqs, now.Add(-time.Second), now.Add(time.Second), 2)
	got := counts.WritesPerServiceByKind
	want := map[string]float64{"status": 1, "finalizer": 0.5, "daemonset": 0.5, "events": 0.5, "clusternetworking": 0.5}
	if !maps.Equal(got, want) {
		t.Errorf("writes by kind = %v, want %v", got, want)
	}
	// Only the status writes' answers count in their latency.
	if l := counts.StatusWriteLatency; l == nil || l.Count != 2 || l.P50Ms != 10 || l.MaxMs != 300 {
		t.Errorf("status write latency = %+v, want 2 writes, p50 10 ms, max 300 ms", l)
	}
}
