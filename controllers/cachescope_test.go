package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/wharf-dev/wharf/controllers/servicelb"
	"github.com/wharf-dev/wharf/internal/apply"
)

// The manager caches DaemonSets and Deployments only in part, and no pods
// (ServiceLB keeps its own records of svclb pods). A read through its
// client that would look beyond that part (pods, all Deployments) is an
// error, not a silently short answer or a cache of every pod.
func TestScopedClientRefusesListsOutsideTheCache(t *testing.T) {
	ctx := context.Background()
	svclbPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "svclb-nginx-x",
		Labels: map[string]string{servicelb.SvcNameLabel: "nginx"}}}
	c := ScopedClient(fake.NewClientBuilder().WithScheme(NewScheme()).WithObjects(svclbPod).Build())
	managed := client.MatchingLabels{apply.ManagedByLabel: apply.ManagedByValue}

	dsList := &metav1.PartialObjectMetadataList{}
	dsList.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("DaemonSetList"))
	for _, tc := range []struct {
		name    string
		list    client.ObjectList
		opts    []client.ListOption
		refused bool
	}{
		{"all pods", &corev1.PodList{}, nil, true},
		{"the pods of CoreDNS's namespace", &corev1.PodList{}, []client.ListOption{client.InNamespace("kube-system"), client.MatchingLabels{"k8s-app": "kube-dns"}}, true},
		{"svclb pods", &corev1.PodList{}, []client.ListOption{client.HasLabels{servicelb.SvcNameLabel}}, true},
		{"svclb DaemonSets by K3s's labels alone", dsList, []client.ListOption{client.HasLabels{servicelb.SvcNameLabel}}, true},
		{"wharf's svclb DaemonSets", dsList, []client.ListOption{managed, client.HasLabels{servicelb.SvcNameLabel}}, false},
		{"all Deployments", &appsv1.DeploymentList{}, []client.ListOption{client.InNamespace("kube-system")}, true},
		{"wharf's Deployments", &appsv1.DeploymentList{}, []client.ListOption{managed}, false},
		{"a kind cached whole", &corev1.ServiceList{}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.List(ctx, tc.list, tc.opts...)
			if refused := errors.Is(err, ErrOutsideCache); refused != tc.refused {
				t.Fatalf("List = %v, want refused %v", err, tc.refused)
			}
			if !tc.refused && err != nil {
				t.Fatalf("List: %v", err)
			}
		})
	}

	err := c.Get(ctx, client.ObjectKeyFromObject(svclbPod), &corev1.Pod{})
	if !errors.Is(err, ErrOutsideCache) || !strings.Contains(err.Error(), "servicelb.PodIndex") {
		t.Errorf("Get of a pod = %v, want a refusal that says where pods are read", err)
	}
	err = c.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "coredns-abc"}, &appsv1.Deployment{})
	if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "wharf's Deployments") {
		t.Errorf("Get of a Deployment outside the cache = %v, want a NotFound that says the cache holds only wharf's Deployments", err)
	}
}
