package traefik

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzMergeValues merges three Helm values documents (YAML or JSON). The
// merge must never panic, must be deterministic and associative, must let
// the last document win for every key it sets to anything but a map, and
// must neither change its inputs nor share anything with them: writing
// into the result leaves the inputs as they were. Seeds are in
// testdata/fuzz/FuzzMergeValues; `go test` runs them, `make fuzz` explores.
func FuzzMergeValues(f *testing.F) {
	f.Add([]byte(`{"image":{"repository":"traefik","tag":"v1"},"ports":{"web":{"port":8000}}}`),
		[]byte(`{"image":{"tag":"v2"},"ports":{"web":null}}`),
		[]byte(`{"additionalArguments":["--log.level=DEBUG"]}`))
	f.Add([]byte("service:\n  spec:\n    externalTrafficPolicy: Local\n"), []byte("service: null\n"), []byte("service:\n  type: NodePort\n"))
	f.Add([]byte(`{}`), []byte(``), []byte(`{"a":{"b":{"c":[1,{"d":2}]}}}`))
	f.Add([]byte(`{"a":[{"b":1}]}`), []byte(`{"a":{"b":2}}`), []byte(`{"a":{"c":3}}`))
	f.Fuzz(func(t *testing.T, x, y, z []byte) {
		var docs []map[string]any
		for _, data := range [][]byte{x, y, z} {
			doc, err := parseValuesDocument(data)
			if err != nil {
				return // not a values document: nothing to merge
			}
			docs = append(docs, doc)
		}
		before, ok := encode(docs)
		if !ok {
			return // values JSON cannot hold
		}
		merged := MergeValues(docs...)
		out, ok := encode(merged)
		if !ok {
			t.Fatalf("the merge of encodable documents cannot be encoded: %#v", merged)
		}
		if again, _ := encode(MergeValues(docs...)); !bytes.Equal(again, out) {
			t.Fatalf("MergeValues is not deterministic:\n%s\n%s", out, again)
		}
		if nested, _ := encode(MergeValues(MergeValues(docs[0], docs[1]), docs[2])); !bytes.Equal(nested, out) {
			t.Fatalf("MergeValues is not associative:\n%s\n%s", out, nested)
		}
		for k, v := range docs[2] {
			if _, isMap := v.(map[string]any); isMap {
				continue
			}
			want, _ := encode(v)
			if got, _ := encode(merged[k]); !bytes.Equal(got, want) {
				t.Fatalf("key %q: the last document set %s, the merge holds %s", k, want, got)
			}
		}
		if after, _ := encode(docs); !bytes.Equal(after, before) {
			t.Fatalf("MergeValues changed its inputs:\n%s\n%s", before, after)
		}
		scribble(merged)
		if after, _ := encode(docs); !bytes.Equal(after, before) {
			t.Fatalf("the merge shares maps or lists with its inputs: writing into it changed them:\n%s\n%s", before, after)
		}
	})
}

// encode returns the canonical JSON of v (map keys sorted), and false
// when JSON cannot hold it.
func encode(v any) ([]byte, bool) {
	b, err := json.Marshal(v)
	return b, err == nil
}

// scribble writes into every map and list of v.
func scribble(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			scribble(e)
			if _, nested := e.(map[string]any); !nested {
				t[k] = "scribbled"
			}
		}
		t["scribbled"] = true
	case []any:
		for i, e := range t {
			scribble(e)
			t[i] = "scribbled"
		}
	}
}
