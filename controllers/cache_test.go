package controllers_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wharf-dev/wharf/controllers"
	"github.com/wharf-dev/wharf/internal/testenv"
)

// The manager's cache, as configured for the binary, must not hold the
// data a kubectl-applied Secret carries in its last-applied annotation.
func TestCacheHoldsNoSecretData(t *testing.T) {
	env := testenv.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Name: "authsecret", Namespace: metav1.NamespaceDefault, Labels: map[string]string{"app": "traefik"},
		Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"stringData":{"users":"admin:secret"}}`},
	}, StringData: map[string]string{"users": "admin:secret"}}
	if err := env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	opts := controllers.CacheOptions()
	opts.Scheme = controllers.NewScheme()
	c, err := cache.New(env.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	got := &metav1.PartialObjectMetadata{}
	got.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return c.Get(ctx, client.ObjectKeyFromObject(secret), got) == nil, nil
	}); err != nil {
		t.Fatalf("the Secret's metadata never reached the cache: %v", err)
	}
	if got.Labels["app"] != "traefik" {
		t.Errorf("the cached metadata lost its labels: %+v", got.ObjectMeta)
	}
	if len(got.Annotations) != 0 || len(got.ManagedFields) != 0 {
		t.Errorf("the cache holds the Secret's annotations or managed fields: %+v", got.ObjectMeta)
	}
}
