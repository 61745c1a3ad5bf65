package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/wharf-dev/wharf/internal/apply"
)

// cacheScope is a kind the manager caches only in part, or not at all:
// the objects with a label selector, or none (a nil selector). A read of
// that kind through the manager's client would silently miss everything
// else (listing all pods would give only svclb pods, none of CoreDNS's) or
// start a cache of the whole kind, so the client ScopedClient returns
// refuses a read outside the scope.
type cacheScope struct {
	// name says, for people, what the cache holds.
	name      string
	object    client.Object
	selector  labels.Selector
	transform toolscache.TransformFunc
	// elsewhere, for a kind not cached, says where its objects are read.
	elsewhere string
}

// cacheScopes are the kinds the manager caches in part. CacheOptions
// builds the cache from them and ScopedClient guards reads with them: one
// table for both.
func cacheScopes() []cacheScope {
	managed := labels.SelectorFromSet(labels.Set{apply.ManagedByLabel: apply.ManagedByValue})
	return []cacheScope{
		{name: "no pods", object: &corev1.Pod{},
			elsewhere: "ServiceLB reads svclb pods from its own index (servicelb.PodIndex); read other pods through the API reader"},
		{name: "wharf's DaemonSets", object: &appsv1.DaemonSet{}, selector: managed, transform: slimDaemonSet},
		{name: "wharf's Deployments", object: &appsv1.Deployment{}, selector: managed},
	}
}

// ErrOutsideCache is returned for a list through the manager's client
// that would look beyond the part of a kind the cache holds.
var ErrOutsideCache = errors.New("outside the manager's cache")

// ScopedClient returns c, the manager's cache-backed client, guarded for
// the kinds the cache holds in part (cacheScopes): a List of such a kind
// must ask for the scope's label selector (it may narrow it further), or
// it fails with ErrOutsideCache instead of returning a partial answer. A
// Get that finds nothing says that the object may exist outside the
// cache; it is still a NotFound. Read anything else through the API
// reader (component.Deps.Reader).
func ScopedClient(c client.Client) client.Client {
	scopes := map[schema.GroupKind]cacheScope{}
	for _, s := range cacheScopes() {
		gvk, err := apiutil.GVKForObject(s.object, c.Scheme())
		if err != nil {
			panic(err)
		}
		scopes[gvk.GroupKind()] = s
	}
	return &scopedClient{Client: c, scopes: scopes}
}

type scopedClient struct {
	client.Client
	scopes map[schema.GroupKind]cacheScope
}

func (c *scopedClient) scopeOf(obj runtime.Object, isList bool) (cacheScope, bool) {
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return cacheScope{}, false
	}
	kind := gvk.Kind
	if isList {
		kind = strings.TrimSuffix(kind, "List")
	}
	s, ok := c.scopes[schema.GroupKind{Group: gvk.Group, Kind: kind}]
	return s, ok
}

// List implements client.Reader.
func (c *scopedClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if s, ok := c.scopeOf(list, true); ok {
		lo := (&client.ListOptions{}).ApplyOptions(opts)
		if s.selector == nil {
			return fmt.Errorf("list %s: the manager caches %s: %s: %w", list.GetObjectKind().GroupVersionKind().Kind, s.name, s.elsewhere, ErrOutsideCache)
		}
		if !narrows(lo.LabelSelector, s.selector) {
			return fmt.Errorf("list %s with selector %q: the manager caches only %s (%s); select them, or list through the API reader: %w",
				s.name, selectorString(lo.LabelSelector), s.name, s.selector, ErrOutsideCache)
		}
	}
	return c.Client.List(ctx, list, opts...)
}

// Get implements client.Reader.
func (c *scopedClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if s, ok := c.scopeOf(obj, false); ok && s.selector == nil {
		return fmt.Errorf("get %s: the manager caches %s: %s: %w", key, s.name, s.elsewhere, ErrOutsideCache)
	}
	err := c.Client.Get(ctx, key, obj, opts...)
	if s, ok := c.scopeOf(obj, false); ok && apierrors.IsNotFound(err) {
		return fmt.Errorf("%s not among %s, all the manager caches of its kind: %w", key, s.name, err)
	}
	return err
}

// narrows reports whether every requirement of scope is one of got's, so
// that got selects a subset of what scope does.
func narrows(got, scope labels.Selector) bool {
	if got == nil {
		return false
	}
	have, _ := got.Requirements()
	want, _ := scope.Requirements()
	for _, w := range want {
		found := false
		for _, h := range have {
			if h.Equal(w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func selectorString(s labels.Selector) string {
	if s == nil {
		return ""
	}
	return s.String()
}
