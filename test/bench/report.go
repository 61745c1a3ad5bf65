package bench

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Report is what one bench run found; it is written as JSON.
type Report struct {
	Date  time.Time `json:"date"`
	Host  Host      `json:"host"`
	Scale Scale     `json:"scale"`
	// Setup says what ran, for reading the numbers right.
	Setup Setup `json:"setup"`
	// Operator is the manager's run, Floor the floor client's, FloorK3s
	// the floor client's with the finalizer and Events K3s writes too.
	Operator *PhaseResult `json:"operator,omitempty"`
	Floor    *PhaseResult `json:"floor,omitempty"`
	FloorK3s *PhaseResult `json:"floorK3s,omitempty"`
	// ConvergenceRatio is operator convergence / floor convergence, and
	// ConvergenceRatioK3s the same for FloorK3s.
	ConvergenceRatio    float64  `json:"convergenceRatio,omitempty"`
	ConvergenceRatioK3s float64  `json:"convergenceRatioK3s,omitempty"`
	Targets             []Target `json:"targets"`
}

// Host describes the machine.
type Host struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"goVersion"`
	CPUModel  string `json:"cpuModel,omitempty"`
}

// Setup describes how the scenario ran.
type Setup struct {
	Components     string   `json:"components"`
	ClientQPS      string   `json:"clientQPS"`
	FloorWorkers   int      `json:"floorWorkers"`
	SteadySeconds  int      `json:"steadySeconds"`
	ResyncTrigger  string   `json:"resyncTrigger"`
	SettleSeconds  int      `json:"settleSeconds"`
	ManagerVersion string   `json:"managerBinary"`
	ManagerEnv     []string `json:"managerEnv,omitempty"`
}

// PhaseResult is one client's run of the scenario.
type PhaseResult struct {
	// ConvergenceSeconds runs from the first Service create until every
	// Service showed its full ingress.
	ConvergenceSeconds float64 `json:"convergenceSeconds"`
	// CreateSeconds is how long creating the N Services took.
	CreateSeconds float64 `json:"createSeconds"`
	// StatusLatency is, per Service, the time from its last svclb pod
	// turning Ready to its full ingress being visible.
	StatusLatency Latency `json:"statusLatency"`
	// ServerStatusLatency is StatusLatency from the API server's own
	// times (the managed-fields times of the status writes that turned the
	// pods Ready and gave the Service its ingress), to one second: it
	// leaves out the observer's watch delays.
	ServerStatusLatency Latency `json:"serverStatusLatency"`
	// Slowest are the Services of the longest ServerStatusLatency, in
	// detail, slowest first.
	Slowest []SlowService `json:"slowest,omitempty"`
	// ReadySpread is, per Service, the time from its first svclb pod
	// turning Ready to its last: the cluster's pace, which decides how many
	// ingress writes publishing each Ready node without delay would take.
	ReadySpread Latency `json:"readySpread"`
	// Startup counts the requests between the client's start and the
	// first Service create (cache fill, ClusterNetworking).
	Startup *Requests `json:"startup,omitempty"`
	// Convergence counts the requests from the first create until every
	// Service converged, plus the settle time.
	Convergence Requests `json:"convergence"`
	// Steady counts the requests of the quiet period after convergence,
	// during which every Service was reconciled once more (ResyncTrigger).
	Steady *Requests `json:"steady,omitempty"`
	// Restart counts the requests of a manager restarted after the steady
	// period, until it fell quiet: a full relist and reconcile of every
	// Service with nothing to change.
	Restart *Requests `json:"restart,omitempty"`
	// Manager is the cost of the manager process.
	Manager *ManagerCost `json:"manager,omitempty"`
	// LoadAverage is the machine's 1-minute load average when the first
	// Service was created and when the last converged: the bench shares
	// the machine, and a busy one slows both clients down unevenly.
	LoadAverage [2]float64 `json:"loadAverage"`
	// Curve is how many Services had their ingress, over time.
	Curve []Point `json:"curve"`
	// SvclbPodEvents counts the svclb pod events (creations, updates,
	// deletions) the bench's own watch saw during convergence: the work the
	// cluster gave every client watching those pods.
	SvclbPodEvents int `json:"svclbPodEvents"`
	// EventsByReason counts the Events on the scenario's Services at the
	// end of the settle time, by reason.
	EventsByReason map[string]int `json:"eventsByReason,omitempty"`
}

// Latency summarises durations in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50Ms float64 `json:"p50Ms"`
	P90Ms float64 `json:"p90Ms"`
	P99Ms float64 `json:"p99Ms"`
	MaxMs float64 `json:"maxMs"`
}

// Point is a point of a curve: T seconds, V a value.
type Point struct {
	T float64 `json:"t"`
	V float64 `json:"v"`
}

// Requests counts API requests in a window.
type Requests struct {
	Seconds float64 `json:"seconds"`
	// ByVerb counts every request by verb (watch: watches opened).
	ByVerb map[string]int `json:"byVerb"`
	// PerServiceByVerb is ByVerb / N.
	PerServiceByVerb map[string]float64 `json:"perServiceByVerb,omitempty"`
	// Writes counts create, update, patch, delete, deletecollection.
	Writes int `json:"writes"`
	// WritesByResource splits Writes as "verb resource".
	WritesByResource map[string]int `json:"writesByResource"`
	// WritesPerService is Writes / N, WritesPerServiceNoEvents the same
	// without Event creates and patches.
	WritesPerService         float64 `json:"writesPerService,omitempty"`
	WritesPerServiceNoEvents float64 `json:"writesPerServiceNoEvents,omitempty"`
	// WritesPerServiceByKind splits WritesPerService into "status" (the
	// ingress), "events", "daemonset", "finalizer" (patches of the Service
	// itself), "clusternetworking" (its status summary) and "other".
	WritesPerServiceByKind map[string]float64 `json:"writesPerServiceByKind,omitempty"`
	// Failed counts answers with a status of 400 or more (conflicts...),
	// FailedByResource splits them as "verb resource code".
	Failed           int            `json:"failed"`
	FailedByResource map[string]int `json:"failedByResource,omitempty"`
	// StatusWriteLatency is how long the API server took to answer the
	// Services' status writes (services/status patches and updates), as
	// the proxy saw them: the part of a Service's latency to its ingress
	// that the write itself takes.
	StatusWriteLatency *Latency `json:"statusWriteLatency,omitempty"`
}

// ManagerCost is what the manager process used.
type ManagerCost struct {
	// PeakRSSMiB is VmHWM of the manager that ran the scenario.
	PeakRSSMiB float64 `json:"peakRSSMiB"`
	// PeakAnonRSSMiB is the largest RssAnon sampled (every second): RSS
	// without the executable's file-backed pages.
	PeakAnonRSSMiB float64 `json:"peakAnonRSSMiB"`
	// PeakHeapInuseMiB is the largest go_memstats_heap_inuse_bytes read
	// (every heapEvery samples: every 10 s).
	PeakHeapInuseMiB float64 `json:"peakHeapInuseMiB"`
	// EndHeapInuseMiB is the heap in use at the end of the steady period.
	EndHeapInuseMiB float64 `json:"endHeapInuseMiB"`
	// CPUSeconds* are user+system CPU time: until the first create, during
	// convergence, during the steady period.
	CPUSecondsStartup     float64 `json:"cpuSecondsStartup"`
	CPUSecondsConvergence float64 `json:"cpuSecondsConvergence"`
	CPUSecondsSteady      float64 `json:"cpuSecondsSteady"`
	// RSSAtFirstCreateMiB is the manager's RSS just before the first
	// Service create; RSSGrowthPer1000SvclbPodsMiB is (PeakRSSMiB -
	// RSSAtFirstCreateMiB) per 1,000 svclb pods of the scenario, what
	// caching them costs.
	RSSAtFirstCreateMiB          float64 `json:"rssAtFirstCreateMiB"`
	RSSGrowthPer1000SvclbPodsMiB float64 `json:"rssGrowthPer1000SvclbPodsMiB"`
	// CPUSecondsPer1000PodEvents is CPUSecondsConvergence per 1,000 svclb
	// pod events (PhaseResult.SvclbPodEvents).
	CPUSecondsPer1000PodEvents float64 `json:"cpuSecondsPer1000PodEvents"`
	// RestartPeakRSSMiB is VmHWM of the restarted manager (a cold start
	// with N Services to relist), RestartCPUSeconds its CPU until quiet.
	RestartPeakRSSMiB float64 `json:"restartPeakRSSMiB,omitempty"`
	RestartCPUSeconds float64 `json:"restartCPUSeconds,omitempty"`
	// Controllers are the reconciles of each controller during
	// convergence, from controller-runtime's metrics.
	Controllers map[string]ControllerStats `json:"controllers,omitempty"`
	// Samples are the readings over time (T from the first create).
	Samples []Sample `json:"samples"`
}

// Target is one goal of issue 7 and how the run did against it.
type Target struct {
	Name     string  `json:"name"`
	Goal     string  `json:"goal"`
	Measured float64 `json:"measured"`
	Unit     string  `json:"unit"`
	Pass     bool    `json:"pass"`
	Note     string  `json:"note,omitempty"`
}

// countRequests summarises the requests made in [from, to).
func countRequests(reqs []Request, from, to time.Time, n int) Requests {
	out := Requests{Seconds: to.Sub(from).Seconds(), ByVerb: map[string]int{}, WritesByResource: map[string]int{}}
	events := 0
	var statusWrites []time.Duration
	for _, r := range reqs {
		if r.At.Before(from) || !r.At.Before(to) {
			continue
		}
		out.ByVerb[r.Verb]++
		if r.Code >= 400 {
			out.Failed++
			if out.FailedByResource == nil {
				out.FailedByResource = map[string]int{}
			}
			out.FailedByResource[fmt.Sprintf("%s %s %d", r.Verb, r.Resource, r.Code)]++
		}
		if !r.IsWrite() {
			continue
		}
		out.Writes++
		out.WritesByResource[r.Verb+" "+r.Resource]++
		if isEvent(r.Resource) {
			events++
		}
		if r.Resource == "services/status" {
			statusWrites = append(statusWrites, r.Took)
		}
	}
	if len(statusWrites) > 0 {
		slices.Sort(statusWrites)
		l := latency(statusWrites)
		out.StatusWriteLatency = &l
	}
	if n > 0 {
		out.WritesPerServiceByKind = map[string]float64{}
		for k, c := range out.WritesByResource {
			out.WritesPerServiceByKind[writeKind(k)] += float64(c)
		}
		for k, c := range out.WritesPerServiceByKind {
			out.WritesPerServiceByKind[k] = round3(c / float64(n))
		}
		out.PerServiceByVerb = map[string]float64{}
		for v, c := range out.ByVerb {
			out.PerServiceByVerb[v] = round3(float64(c) / float64(n))
		}
		out.WritesPerService = round3(float64(out.Writes) / float64(n))
		out.WritesPerServiceNoEvents = round3(float64(out.Writes-events) / float64(n))
	}
	return out
}

// writeKind names what a write ("verb resource") was for; see
// Requests.WritesPerServiceByKind.
func writeKind(verbResource string) string {
	_, resource, _ := strings.Cut(verbResource, " ")
	switch {
	case isEvent(resource):
		return "events"
	case resource == "services/status":
		return "status"
	case resource == "services":
		return "finalizer"
	case resource == "apps/daemonsets":
		return "daemonset"
	case strings.HasPrefix(resource, "networking.wharf.dev/clusternetworkings"):
		return "clusternetworking"
	}
	return "other"
}

func isEvent(resource string) bool {
	return resource == "events" || resource == "events.k8s.io/events"
}

// latency summarises ds, which must be sorted.
func latency(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	ms := func(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }
	return Latency{
		Count: len(ds),
		P50Ms: ms(percentile(ds, 50)),
		P90Ms: ms(percentile(ds, 90)),
		P99Ms: ms(percentile(ds, 99)),
		MaxMs: ms(ds[len(ds)-1]),
	}
}

// percentile returns the nearest-rank percentile p of sorted ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(ds))))
	return ds[min(max(rank, 1), len(ds))-1]
}

// curve turns the sorted convergence times into points, at most maxPoints.
func curve(times []time.Time, start time.Time, maxPoints int) []Point {
	pts := []Point{{T: 0, V: 0}}
	step := max(1, len(times)/maxPoints)
	for i, t := range times {
		if i%step == 0 || i == len(times)-1 {
			pts = append(pts, Point{T: round3(t.Sub(start).Seconds()), V: float64(i + 1)})
		}
	}
	return pts
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func mib(b int64) float64 { return round3(float64(b) / (1 << 20)) }

// Evaluate fills r.Targets from the results.
func (r *Report) Evaluate() {
	r.Targets = nil
	op := r.Operator
	if op == nil {
		return
	}
	add := func(t Target) { r.Targets = append(r.Targets, t) }
	add(Target{Name: "writes per Service at creation", Goal: "<= 3", Unit: "writes/Service",
		Measured: op.Convergence.WritesPerService, Pass: op.Convergence.WritesPerService <= 3,
		Note: fmt.Sprintf("%.3f without Events", op.Convergence.WritesPerServiceNoEvents)})
	events := op.Convergence.WritesPerService - op.Convergence.WritesPerServiceNoEvents
	own, summary := serviceWrites(op.Convergence.WritesByResource, r.Scale.Services)
	add(Target{Name: "writes per Service to its own objects", Goal: "<= 3", Unit: "writes/Service",
		Measured: own, Pass: own <= 3,
		Note: fmt.Sprintf("finalizer, DaemonSet, status; Events and %d ClusterNetworking status writes apart; proposed target", summary)})
	add(Target{Name: "Events per Service at creation", Goal: "<= 2", Unit: "events/Service",
		Measured: round3(events), Pass: events <= 2, Note: "AppliedDaemonSet and UpdatedLoadBalancer, as K3s records them; proposed target"})
	if op.Steady != nil {
		add(Target{Name: "writes in steady state", Goal: "0", Unit: "writes",
			Measured: float64(op.Steady.Writes), Pass: op.Steady.Writes == 0, Note: describeWrites(op.Steady.WritesByResource)})
	}
	if op.Restart != nil {
		add(Target{Name: "writes after a restart with nothing to change", Goal: "0", Unit: "writes",
			Measured: float64(op.Restart.Writes), Pass: op.Restart.Writes == 0, Note: describeWrites(op.Restart.WritesByResource)})
	}
	if r.Floor != nil {
		add(Target{Name: "convergence vs floor", Goal: "<= 1.3", Unit: "ratio", Measured: r.ConvergenceRatio, Pass: r.ConvergenceRatio <= 1.3,
			Note: fmt.Sprintf("operator %.1fs, floor %.1fs", op.ConvergenceSeconds, r.Floor.ConvergenceSeconds)})
	}
	if r.FloorK3s != nil {
		add(Target{Name: "convergence vs floor with K3s's writes", Goal: "<= 1.3", Unit: "ratio", Measured: r.ConvergenceRatioK3s, Pass: r.ConvergenceRatioK3s <= 1.3,
			Note: fmt.Sprintf("operator %.1fs, floor with finalizer and Events %.1fs; proposed target", op.ConvergenceSeconds, r.FloorK3s.ConvergenceSeconds)})
	}
	add(Target{Name: "p99 status latency after pods Ready", Goal: "<= 1000", Unit: "ms",
		Measured: op.StatusLatency.P99Ms, Pass: op.StatusLatency.Count > 0 && op.StatusLatency.P99Ms <= 1000,
		Note: fmt.Sprintf("p50 %.0f ms", op.StatusLatency.P50Ms)})
	if r.Scale.EveryNode() {
		r.evaluateEveryNode(add)
	}
	if op.Manager != nil {
		add(Target{Name: "peak RSS", Goal: "<= 100", Unit: "MiB", Measured: op.Manager.PeakRSSMiB, Pass: op.Manager.PeakRSSMiB <= 100,
			Note: fmt.Sprintf("anonymous %.1f MiB, heap in use %.1f MiB", op.Manager.PeakAnonRSSMiB, op.Manager.PeakHeapInuseMiB)})
	}
}

// Targets of the every-node scenario (POOL=all) at N=500 × M=50.
const (
	everyNodeMaxCPUSeconds       = 40
	everyNodeMaxRSSPer1000Pods   = 2
	everyNodeMaxWritesPerService = 1.2
	everyNodeMaxP99Ms            = 500
)

// evaluateEveryNode adds the targets of the every-node scenario: what the
// manager itself costs while N×M svclb pods start.
func (r *Report) evaluateEveryNode(add func(Target)) {
	op := r.Operator
	by := op.Convergence.WritesPerServiceByKind
	add(Target{Name: "status writes per Service, every node serving", Goal: fmt.Sprintf("<= %.1f", everyNodeMaxWritesPerService), Unit: "writes/Service",
		Measured: by["status"], Pass: by["status"] <= everyNodeMaxWritesPerService,
		Note: fmt.Sprintf("finalizer %.2f, DaemonSet %.2f, Events %.2f per Service", by["finalizer"], by["daemonset"], by["events"])})
	services := float64(max(r.Scale.Services, 1))
	updated := round3(float64(op.EventsByReason["UpdatedLoadBalancer"]) / services)
	add(Target{Name: "UpdatedLoadBalancer Events per Service, every node serving", Goal: fmt.Sprintf("<= %.1f", everyNodeMaxWritesPerService), Unit: "events/Service",
		Measured: updated, Pass: updated <= everyNodeMaxWritesPerService,
		Note: fmt.Sprintf("one per ingress write; AppliedDaemonSet %.2f per Service apart (one per DaemonSet applied, as K3s records it)",
			float64(op.EventsByReason["AppliedDaemonSet"])/services)})
	add(Target{Name: "p99 status latency after pods Ready, every node serving", Goal: fmt.Sprintf("<= %d", everyNodeMaxP99Ms), Unit: "ms",
		Measured: op.StatusLatency.P99Ms, Pass: op.StatusLatency.Count > 0 && op.StatusLatency.P99Ms <= everyNodeMaxP99Ms,
		Note: fmt.Sprintf("p50 %.0f ms", op.StatusLatency.P50Ms)})
	if m := op.Manager; m != nil {
		add(Target{Name: "manager CPU during convergence, every node serving", Goal: fmt.Sprintf("<= %d", everyNodeMaxCPUSeconds), Unit: "s",
			Measured: m.CPUSecondsConvergence, Pass: m.CPUSecondsConvergence <= everyNodeMaxCPUSeconds,
			Note: fmt.Sprintf("%.3f s per 1,000 svclb pod events (%d events), convergence %.0f s", m.CPUSecondsPer1000PodEvents, op.SvclbPodEvents, op.ConvergenceSeconds)})
		add(Target{Name: "RSS growth per 1,000 svclb pods", Goal: fmt.Sprintf("< %d", everyNodeMaxRSSPer1000Pods), Unit: "MiB",
			Measured: m.RSSGrowthPer1000SvclbPodsMiB, Pass: m.RSSGrowthPer1000SvclbPodsMiB < everyNodeMaxRSSPer1000Pods,
			Note: fmt.Sprintf("%.1f MiB before the first create, peak %.1f MiB, %d svclb pods", m.RSSAtFirstCreateMiB, m.PeakRSSMiB, r.Scale.SvclbPods())})
	}
}

// serviceWrites splits writes by resource into those per Service to the
// Service and its DaemonSet, and the writes of the ClusterNetworking
// status; Events count in neither.
func serviceWrites(byResource map[string]int, services int) (perService float64, summary int) {
	own := 0
	for k, n := range byResource {
		switch {
		case strings.Contains(k, "events"):
		case strings.Contains(k, "clusternetworkings"):
			summary += n
		default:
			own += n
		}
	}
	if services == 0 {
		return 0, summary
	}
	return round3(float64(own) / float64(services)), summary
}

func describeWrites(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// JSON encodes the report, indented.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the report: %w", err)
	}
	return append(b, '\n'), nil
}

// Table renders the headline numbers as a Markdown table.
func (r *Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| target | goal | measured | pass | note |\n|---|---|---|---|---|\n")
	for _, t := range r.Targets {
		pass := "yes"
		if !t.Pass {
			pass = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s | %s |\n", t.Name, t.Goal, t.Unit, trimFloat(t.Measured), pass, t.Note)
	}
	return b.String()
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
