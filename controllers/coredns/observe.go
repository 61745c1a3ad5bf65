package coredns

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/api/v1alpha1"
	"github.com/wharf-dev/wharf/controllers/component"
)

// Reasons of the CoreDNSReady condition about serving.
const (
	// ReasonRolloutFailed: the pods of the coredns Deployment's newest
	// revision exit or never turn Ready; the previous revision's pods, if
	// any, keep serving.
	ReasonRolloutFailed = "RolloutFailed"
	// ReasonNoEndpoints: kube-dns has no ready endpoint, so nothing answers
	// on the cluster DNS IP.
	ReasonNoEndpoints = "NoEndpoints"
)

// revisionAnnotation is where the Deployment controller numbers a
// Deployment's and its ReplicaSets' revisions.
const revisionAnnotation = "deployment.kubernetes.io/revision"

// Observe implements component.Component: it records the kube-dns IPs in
// status.coredns and reports CoreDNS ready only when kube-dns has them and
// ready endpoints, and the coredns Deployment's newest revision is rolled
// out with a ready replica. When that revision's pods fail, the condition
// quotes why.
func (c *Component) Observe(ctx context.Context, cn *v1alpha1.ClusterNetworking, _ component.Facts, status *v1alpha1.ClusterNetworkingStatus) (component.Health, error) {
	spec := &cn.Spec.CoreDNS
	ns := spec.Namespace
	recorded := recordedClusterIPs(cn)
	live, err := c.liveClusterIPs(ctx, ns)
	if err != nil {
		return component.Health{}, err
	}
	want, chooseErr := ChooseClusterIPs(specClusterIPs(spec), live, recorded)
	st := &v1alpha1.CoreDNSStatus{ClusterIPs: recorded}
	switch {
	case chooseErr != nil:
		// Keep the record: it is what kube-dns must come back to.
	case len(live) > 0:
		st.ClusterIPs = live
	default:
		// Render applied kube-dns on these moments ago; the cache does not
		// show it yet.
		st.ClusterIPs = want
	}
	if len(st.ClusterIPs) > 0 {
		st.ClusterIP = st.ClusterIPs[0]
	}
	if spec.NodeHostsEnabled() {
		lines, err := c.nodeHosts(ctx)
		if err != nil {
			return component.Health{}, err
		}
		st.NodeHosts = int32(len(lines))
	}
	status.CoreDNS = st

	switch {
	case chooseErr != nil:
		return component.Health{Reason: ReasonClusterIPChanged, Message: chooseErr.Error()}, nil
	case len(live) == 0:
		return component.Progressing(fmt.Sprintf("waiting for the %s Service on %s to show up", ServiceName, strings.Join(want, ","))), nil
	case !slices.Equal(live, want):
		return component.Progressing(fmt.Sprintf("waiting for the %s Service to have cluster IPs %s (it has %s)",
			ServiceName, strings.Join(want, ","), strings.Join(live, ","))), nil
	}

	d := &appsv1.Deployment{}
	err = c.deps.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: DeploymentName}, d)
	if apierrors.IsNotFound(err) {
		return component.Progressing(fmt.Sprintf("waiting for Deployment %s/%s to show up", ns, DeploymentName)), nil
	}
	if err != nil {
		return component.Health{}, fmt.Errorf("read Deployment %s/%s: %w", ns, DeploymentName, err)
	}
	st.ReadyReplicas = d.Status.ReadyReplicas
	var pods []corev1.Pod
	if !rolledOut(d) {
		if pods, err = c.newestPods(ctx, d); err != nil {
			return component.Health{}, err
		}
	}
	if h := DeploymentHealth(d, pods); !h.Ready {
		return h, nil
	}

	eps := &discoveryv1.EndpointSliceList{}
	if err := c.deps.Client.List(ctx, eps, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: ServiceName}); err != nil {
		return component.Health{}, fmt.Errorf("list the EndpointSlices of %s/%s: %w", ns, ServiceName, err)
	}
	ready := readyEndpoints(eps.Items)
	if ready == 0 {
		return component.Health{Reason: ReasonNoEndpoints, Message: fmt.Sprintf(
			"the %s Service has no ready endpoint: nothing answers DNS on %s yet", ServiceName, strings.Join(live, ","))}, nil
	}
	return component.Ready(fmt.Sprintf("coredns: %d of %d replicas ready, %d endpoints serving %s",
		d.Status.ReadyReplicas, replicasOf(d), ready, strings.Join(live, ","))), nil
}

// newestPods returns the pods of the Deployment's newest ReplicaSet, read
// from the API server (the cache keeps no container statuses).
func (c *Component) newestPods(ctx context.Context, d *appsv1.Deployment) ([]corev1.Pod, error) {
	if d.Spec.Selector == nil {
		return nil, nil
	}
	sets := &appsv1.ReplicaSetList{}
	if err := c.deps.Reader.List(ctx, sets, client.InNamespace(d.Namespace), client.MatchingLabels(d.Spec.Selector.MatchLabels)); err != nil {
		return nil, fmt.Errorf("list the ReplicaSets of Deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	var newest *appsv1.ReplicaSet
	for i := range sets.Items {
		rs := &sets.Items[i]
		owned := slices.ContainsFunc(rs.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == d.UID })
		if owned && rs.Annotations[revisionAnnotation] == d.Annotations[revisionAnnotation] {
			newest = rs
		}
	}
	hash := ""
	if newest != nil {
		hash = newest.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	}
	if hash == "" {
		return nil, nil
	}
	pods := &corev1.PodList{}
	labels := client.MatchingLabels{appsv1.DefaultDeploymentUniqueLabelKey: hash}
	for k, v := range d.Spec.Selector.MatchLabels {
		labels[k] = v
	}
	if err := c.deps.Reader.List(ctx, pods, client.InNamespace(d.Namespace), labels); err != nil {
		return nil, fmt.Errorf("list the pods of ReplicaSet %s/%s: %w", d.Namespace, newest.Name, err)
	}
	return pods.Items, nil
}

func replicasOf(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas != nil {
		return *d.Spec.Replicas
	}
	return 1
}

// rolledOut reports whether every pod of the Deployment is of its current
// spec and at least one is ready.
func rolledOut(d *appsv1.Deployment) bool {
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas >= replicasOf(d) &&
		s.Replicas <= s.UpdatedReplicas && s.ReadyReplicas >= 1
}

// DeploymentHealth reports the CoreDNS Deployment ready once its current
// spec is rolled out to every replica, no pod of an older revision is
// left and at least one replica is ready. newPods are the pods of its
// newest ReplicaSet: when one of them exits, cannot start its container,
// or the rollout passed its progress deadline, the health says so
// (RolloutFailed), quoting the container's termination message, which is
// CoreDNS's last log lines.
func DeploymentHealth(d *appsv1.Deployment, newPods []corev1.Pod) component.Health {
	want := replicasOf(d)
	s := d.Status
	old := max(s.Replicas-s.UpdatedReplicas, 0)
	serving := "no CoreDNS pod is ready"
	if s.ReadyReplicas > 0 {
		serving = fmt.Sprintf("%d ready CoreDNS pods keep serving", s.ReadyReplicas)
	}
	if problems := podProblems(newPods); len(problems) > 0 && !rolledOut(d) {
		return component.Health{Reason: ReasonRolloutFailed, Message: fmt.Sprintf(
			"the new CoreDNS pods do not start: %s; %s", strings.Join(problems, "; "), serving)}
	}
	if cond := deploymentCondition(d, appsv1.DeploymentProgressing); cond != nil && cond.Status == corev1.ConditionFalse {
		return component.Health{Reason: ReasonRolloutFailed, Message: fmt.Sprintf(
			"the coredns rollout stopped (%s: %s); %s", cond.Reason, cond.Message, serving)}
	}
	switch {
	case s.ObservedGeneration < d.Generation:
		return component.Progressing("the coredns Deployment's latest spec is not rolled out yet")
	case s.UpdatedReplicas < want:
		return component.Progressing(fmt.Sprintf("coredns: %d of %d replicas updated", s.UpdatedReplicas, want))
	case old > 0:
		return component.Progressing(fmt.Sprintf("coredns: %d of %d replicas updated, %d of the previous revision still running", s.UpdatedReplicas, want, old))
	case s.ReadyReplicas < 1:
		return component.Progressing(fmt.Sprintf("coredns: no replica ready yet (0 of %d)", want))
	}
	return component.Ready(fmt.Sprintf("coredns: %d of %d replicas ready", s.ReadyReplicas, want))
}

func deploymentCondition(d *appsv1.Deployment, typ appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == typ {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// failingWaitReasons are the reasons a kubelet gives for a container that
// does not run and will not by waiting longer.
var failingWaitReasons = map[string]bool{
	"CrashLoopBackOff": true, "ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

// maxTerminationMessage bounds what is quoted of one container's
// termination message.
const maxTerminationMessage = 1024

// podProblems describes, one entry per failing container, why pods do not
// run: a container that exited with an error (now or before its last
// restart) or waits for a reason that waiting will not fix.
func podProblems(pods []corev1.Pod) []string {
	var out []string
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
			if problem := containerProblem(&cs); problem != "" {
				out = append(out, fmt.Sprintf("pod %s container %s %s", p.Name, cs.Name, problem))
			}
		}
	}
	return out
}

func containerProblem(cs *corev1.ContainerStatus) string {
	if cs.Ready {
		return ""
	}
	var what string
	switch w, t := cs.State.Waiting, cs.State.Terminated; {
	case w != nil && failingWaitReasons[w.Reason]:
		what = w.Reason
		if w.Message != "" && cs.LastTerminationState.Terminated == nil {
			what += ": " + quote(w.Message)
		}
	case t != nil && t.ExitCode != 0:
		return fmt.Sprintf("exited with code %d (%s): %s", t.ExitCode, t.Reason, quote(t.Message))
	case cs.RestartCount > 0 && cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.ExitCode != 0:
		what = "restarting"
	default:
		return ""
	}
	if cs.RestartCount > 0 {
		what += fmt.Sprintf(" (restarted %d times)", cs.RestartCount)
	}
	if t := cs.LastTerminationState.Terminated; t != nil {
		what += fmt.Sprintf(", last exit code %d (%s): %s", t.ExitCode, t.Reason, quote(t.Message))
	}
	return "is " + what
}

// quote returns a termination message on one line, bounded, in quotes.
func quote(msg string) string {
	msg = strings.TrimSpace(msg)
	if len(msg) > maxTerminationMessage {
		msg = "..." + msg[len(msg)-maxTerminationMessage:]
	}
	return fmt.Sprintf("%q", msg)
}

// readyEndpoints counts the endpoints of slices that are ready (a missing
// condition means ready).
func readyEndpoints(slices []discoveryv1.EndpointSlice) int {
	n := 0
	for _, s := range slices {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				n++
			}
		}
	}
	return n
}
