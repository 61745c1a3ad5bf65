package traefik

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// renderCache remembers the last render and a digest of its inputs, so a
// reconcile whose inputs have not changed does not run Helm again. It
// hands out copies: the caller marks and applies what it gets.
type renderCache struct {
	mu   sync.Mutex
	key  string
	last *rendered
}

// build renders spec with in, or returns a copy of the last render when
// its inputs were the same. chartID identifies in.Chart.
func (rc *renderCache) build(spec *v1alpha1.TraefikSpec, in Inputs, chartID string) (*rendered, error) {
	r, err := rc.view(spec, in, chartID)
	if err != nil {
		return nil, err
	}
	return r.copy(), nil
}

// view is build for reading only: the cached render itself, whose objects
// the caller must not change (Observe reads its chart, workload and URL).
func (rc *renderCache) view(spec *v1alpha1.TraefikSpec, in Inputs, chartID string) (*rendered, error) {
	key, err := inputsKey(spec, in, chartID)
	if err != nil {
		return build(spec, in)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.last != nil && rc.key == key {
		return rc.last, nil
	}
	r, err := build(spec, in)
	if err != nil {
		return nil, err
	}
	rc.key, rc.last = key, r
	return r, nil
}

// inputsKey digests everything a render depends on. encoding/json sorts
// map keys, so equal inputs give equal keys.
func inputsKey(spec *v1alpha1.TraefikSpec, in Inputs, chartID string) (string, error) {
	b, err := json.Marshal(struct {
		Chart            string
		Spec             *v1alpha1.TraefikSpec
		ValuesFrom       []map[string]any
		Secret           string
		Registry         string
		ImagePullSecrets []string
	}{chartID, spec, in.ValuesFrom, in.DashboardSecret, in.SystemDefaultRegistry, in.ImagePullSecrets})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func (r *rendered) copy() *rendered {
	out := *r
	out.objects = make([]*unstructured.Unstructured, len(r.objects))
	for i, o := range r.objects {
		out.objects[i] = o.DeepCopy()
	}
	return &out
}
