package bench

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Observer watches, with its own client, the svclb pods and the Services
// of a scenario and notes when each pod turned Ready and when each Service
// first showed its full expected ingress. Operator and floor runs are
// observed by the same code, so their times compare.
type Observer struct {
	expected map[string][]string // Service name -> sorted IPs
	want     map[string]int      // Service name -> pods that must be Ready

	podEvents atomic.Int64

	mu        sync.Mutex
	podReady  map[string]map[string]time.Time // Service -> pod -> first seen Ready
	ingressAt map[string]time.Time            // Service -> first seen with full ingress
	// The API server's own times, to one second: when the status write
	// that turned each pod Ready, and the one that gave each Service its
	// full ingress, reached it (their managed-fields times).
	podReadyServer map[string]map[string]time.Time
	ingressWritten map[string]time.Time
	done           chan struct{}
	doneOnce       sync.Once
}

// NewObserver returns an Observer for Services with the expected ingress.
func NewObserver(expected map[string][]string) *Observer {
	o := &Observer{
		expected:  expected,
		want:      map[string]int{},
		podReady:  map[string]map[string]time.Time{},
		ingressAt: map[string]time.Time{},

		podReadyServer: map[string]map[string]time.Time{},
		ingressWritten: map[string]time.Time{},
		done:           make(chan struct{}),
	}
	for name, ips := range expected {
		o.want[name] = len(ips)
	}
	return o
}

// Start runs the watches until ctx ends and waits for their first list.
func (o *Observer) Start(ctx context.Context, cs kubernetes.Interface) error {
	pods := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(SvclbNS),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = SvcNameLabel }))
	svcs := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ServiceNS))
	podInf := pods.Core().V1().Pods().Informer()
	svcInf := svcs.Core().V1().Services().Informer()
	if _, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { o.pod(obj) },
		UpdateFunc: func(_, obj any) { o.pod(obj) },
		DeleteFunc: func(any) { o.podEvents.Add(1) },
	}); err != nil {
		return fmt.Errorf("watch pods: %w", err)
	}
	if _, err := svcInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { o.service(obj) },
		UpdateFunc: func(_, obj any) { o.service(obj) },
	}); err != nil {
		return fmt.Errorf("watch services: %w", err)
	}
	pods.Start(ctx.Done())
	svcs.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), podInf.HasSynced, svcInf.HasSynced) {
		return fmt.Errorf("the observer's watches did not sync")
	}
	return nil
}

func (o *Observer) pod(obj any) {
	o.podEvents.Add(1)
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Labels[SvcNSLabel] != ServiceNS || !podReady(pod) {
		return
	}
	now := time.Now()
	svc := pod.Labels[SvcNameLabel]
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.podReady[svc]
	if m == nil {
		m = map[string]time.Time{}
		o.podReady[svc] = m
	}
	if _, seen := m[pod.Name]; !seen {
		m[pod.Name] = now
	}
	server := o.podReadyServer[svc]
	if server == nil {
		server = map[string]time.Time{}
		o.podReadyServer[svc] = server
	}
	if _, seen := server[pod.Name]; !seen {
		// Not the Ready condition's lastTransitionTime: kwok sets it
		// before its write reaches a loaded API server, seconds earlier.
		server[pod.Name] = statusWritten(pod.ManagedFields)
	}
}

// statusWritten returns the time of the newest write to an object's
// status, as its managed fields record it (one-second resolution).
func statusWritten(fields []metav1.ManagedFieldsEntry) time.Time {
	var at time.Time
	for _, mf := range fields {
		if mf.Subresource == "status" && mf.Time != nil && mf.Time.After(at) {
			at = mf.Time.Time
		}
	}
	return at
}

func (o *Observer) service(obj any) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	want, known := o.expected[svc.Name]
	if !known {
		return
	}
	var got []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		got = append(got, in.IP)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return
	}
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, seen := o.ingressAt[svc.Name]; seen {
		return
	}
	o.ingressAt[svc.Name] = now
	o.ingressWritten[svc.Name] = statusWritten(svc.ManagedFields)
	if len(o.ingressAt) == len(o.expected) {
		o.doneOnce.Do(func() { close(o.done) })
	}
}

// PodEvents counts the svclb pod events seen since Start.
func (o *Observer) PodEvents() int { return int(o.podEvents.Load()) }

// Done is closed when every Service has shown its full ingress.
func (o *Observer) Done() <-chan struct{} { return o.done }

// Converged returns how many Services have shown their full ingress.
func (o *Observer) Converged() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.ingressAt)
}

// Timeline returns the times Services showed their full ingress, sorted.
func (o *Observer) Timeline() []time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]time.Time, 0, len(o.ingressAt))
	for _, t := range o.ingressAt {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// StatusLatencies returns, per converged Service, the time from the last
// of its svclb pods turning Ready to its full ingress being seen. Both are
// times at which the observer saw the change, so the watch delay cancels
// out; a negative difference (the two watches race) counts as zero.
func (o *Observer) StatusLatencies() []time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.latencies(o.ingressAt, o.podReady)
}

// ServerStatusLatencies returns StatusLatencies' times as the API server
// recorded them: per converged Service, from the status write that turned
// the last of its svclb pods Ready to the one that gave it its full
// ingress, each to one second. It leaves out how late the observer's own
// watches deliver the pod and Service events, which StatusLatencies counts
// when they lag differently.
func (o *Observer) ServerStatusLatencies() []time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.latencies(o.ingressWritten, o.podReadyServer)
}

// latencies returns, sorted, per Service of ingress with all its pods in
// ready, the time from its last pod's time to its ingress time (at least
// zero). The caller holds o.mu.
func (o *Observer) latencies(ingress map[string]time.Time, ready map[string]map[string]time.Time) []time.Duration {
	var out []time.Duration
	for svc, at := range ingress {
		pods := ready[svc]
		if len(pods) < o.want[svc] || at.IsZero() {
			continue
		}
		_, last := lastReady(pods)
		out = append(out, max(at.Sub(last), 0))
	}
	slices.Sort(out)
	return out
}

// lastReady returns the pod of pods (pod -> time turned Ready) that
// turned Ready last, and when.
func lastReady(pods map[string]time.Time) (name string, at time.Time) {
	for pod, t := range pods {
		if t.After(at) {
			name, at = pod, t
		}
	}
	return name, at
}

// SlowService is one Service's status latency in detail: the times of its
// last svclb pod turning Ready and of its full ingress, as the API server
// recorded them (one-second resolution) and as the observer saw them.
type SlowService struct {
	Service          string    `json:"service"`
	LastPod          string    `json:"lastPod"`
	PodReadyWritten  time.Time `json:"podReadyWritten"`
	PodReadySeen     time.Time `json:"podReadySeen"`
	IngressWritten   time.Time `json:"ingressWritten"`
	IngressSeen      time.Time `json:"ingressSeen"`
	LatencySeconds   float64   `json:"latencySeconds"`
	ServerLatencySec float64   `json:"serverLatencySeconds"`
}

// Slowest returns the n Services of the longest ServerStatusLatencies,
// slowest first, to find them in the manager's log.
func (o *Observer) Slowest(n int) []SlowService {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []SlowService
	for svc, at := range o.ingressWritten {
		pods := o.podReadyServer[svc]
		if len(pods) < o.want[svc] || at.IsZero() {
			continue
		}
		s := SlowService{Service: svc, IngressWritten: at, IngressSeen: o.ingressAt[svc]}
		s.LastPod, s.PodReadyWritten = lastReady(pods)
		s.PodReadySeen = o.podReady[svc][s.LastPod]
		s.ServerLatencySec = at.Sub(s.PodReadyWritten).Seconds()
		s.LatencySeconds = round3(s.IngressSeen.Sub(s.PodReadySeen).Seconds())
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b SlowService) int { return cmp.Compare(b.ServerLatencySec, a.ServerLatencySec) })
	return out[:min(n, len(out))]
}

// ReadySpreads returns, per Service with all its pods Ready, the time
// from its first svclb pod turning Ready to its last: how long a status
// writer that waits for every pod would hold the first node's IP back.
func (o *Observer) ReadySpreads() []time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []time.Duration
	for svc, pods := range o.podReady {
		if len(pods) < o.want[svc] {
			continue
		}
		var first, last time.Time
		for _, t := range pods {
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(last) {
				last = t
			}
		}
		out = append(out, last.Sub(first))
	}
	slices.Sort(out)
	return out
}

// podReady reports whether pod has Ready=True and is not being deleted.
func podReady(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func sortIPs(ips []string) { slices.Sort(ips) }
