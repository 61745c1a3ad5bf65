// Package helmrelease reads and rewrites the release records Helm 3 keeps
// in Secrets (its default storage driver): the Secret
// sh.helm.release.v1.<release>.v<revision> of type helm.sh/release.v1,
// labelled owner=helm and name=<release>, whose data key "release" holds
// the release as JSON, gzipped, then base64-encoded.
//
// It is written here rather than taken from helm.sh/helm/v3/pkg/storage/driver,
// which does the same but links the SQL storage driver's database
// libraries into the manager; the format is Helm's (pkg/storage/driver,
// encodeRelease and decodeRelease).
package helmrelease

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

const (
	// SecretType is the type of a release record Secret.
	SecretType = "helm.sh/release.v1"
	// DataKey is the Secret key holding the encoded release.
	DataKey = "release"
	// ResourcePolicyAnnotation set to KeepPolicy on an object in a
	// release's stored manifest makes `helm uninstall` (and an upgrade
	// that drops the object) leave it in the cluster. Helm reads it from
	// the stored manifest, not from the live object (pkg/action,
	// filterManifestsToKeep).
	ResourcePolicyAnnotation = "helm.sh/resource-policy"
	KeepPolicy               = "keep"
)

// gzipMagic starts gzipped data; Helm stores releases gzipped but reads
// plain JSON too.
var gzipMagic = []byte{0x1f, 0x8b, 0x08}

// Labels returns the labels that select the release records of name.
func Labels(name string) map[string]string {
	return map[string]string{"owner": "helm", "name": name}
}

// Decode returns the release held by data, the DataKey value of a record
// Secret. An error means data is not a Helm 3 release.
func Decode(data []byte) (*release.Release, error) {
	raw, err := base64.StdEncoding.DecodeString(string(data))
	if err != nil {
		return nil, fmt.Errorf("decode the release record: %w", err)
	}
	if bytes.HasPrefix(raw, gzipMagic) {
		r, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("unzip the release record: %w", err)
		}
		defer r.Close()
		if raw, err = io.ReadAll(r); err != nil {
			return nil, fmt.Errorf("unzip the release record: %w", err)
		}
	}
	rel := &release.Release{}
	if err := json.Unmarshal(raw, rel); err != nil {
		return nil, fmt.Errorf("parse the release record: %w", err)
	}
	return rel, nil
}

// Encode returns rel as a record Secret's DataKey value.
func Encode(rel *release.Release) ([]byte, error) {
	raw, err := json.Marshal(rel)
	if err != nil {
		return nil, fmt.Errorf("encode the release record: %w", err)
	}
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(raw); err != nil {
		return nil, fmt.Errorf("zip the release record: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("zip the release record: %w", err)
	}
	return []byte(base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

// Object identifies an object of a manifest. Namespace is empty when the
// manifest names none: a cluster-scoped object, or one in the release's
// namespace.
type Object struct {
	Group, Kind, Namespace, Name string
}

// Is reports whether obj is o, an object of a release in namespace.
func (o Object) Is(obj *unstructured.Unstructured, namespace string) bool {
	gvk := obj.GroupVersionKind()
	if o.Group != gvk.Group || o.Kind != gvk.Kind || o.Name != obj.GetName() {
		return false
	}
	ns := obj.GetNamespace()
	return o.Namespace == ns || (o.Namespace == "" && (ns == "" || ns == namespace))
}

// Keep returns manifest with ResourcePolicyAnnotation: KeepPolicy on each
// object keep selects, the objects keep selected, and whether the
// manifest changed. Documents that are not objects, and objects not
// selected, are left as they are.
func Keep(manifest string, keep func(Object) bool) (string, []Object, bool, error) {
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var out strings.Builder
	var kept []Object
	changed := false
	for _, k := range keys {
		doc, obj, did, err := keepDoc(docs[k], keep)
		if err != nil {
			return "", nil, false, err
		}
		if obj != nil {
			kept = append(kept, *obj)
		}
		changed = changed || did
		out.WriteString("---\n")
		out.WriteString(doc)
		out.WriteString("\n")
	}
	if !changed {
		return manifest, kept, false, nil
	}
	return out.String(), kept, true, nil
}

// keepDoc annotates one manifest document when keep selects it; obj is
// the selected object, did whether doc changed.
func keepDoc(doc string, keep func(Object) bool) (out string, obj *Object, did bool, err error) {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		return "", nil, false, fmt.Errorf("parse a manifest document: %w", err)
	}
	if u.Object == nil || u.GetKind() == "" || u.GetName() == "" {
		return doc, nil, false, nil
	}
	gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
	if err != nil {
		return "", nil, false, fmt.Errorf("parse the apiVersion of %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	o := Object{Group: gv.Group, Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
	if !keep(o) {
		return doc, nil, false, nil
	}
	annotations := u.GetAnnotations()
	if annotations[ResourcePolicyAnnotation] == KeepPolicy {
		return doc, &o, false, nil
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[ResourcePolicyAnnotation] = KeepPolicy
	u.SetAnnotations(annotations)
	body, err := yaml.Marshal(u.Object)
	if err != nil {
		return "", nil, false, fmt.Errorf("write %s %s: %w", o.Kind, o.Name, err)
	}
	return leadingComments(doc) + strings.TrimSuffix(string(body), "\n"), &o, true, nil
}

// leadingComments returns the comment lines doc starts with, such as
// Helm's "# Source: <template>".
func leadingComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			break
		}
		b.WriteString(line)
	}
	return b.String()
}
