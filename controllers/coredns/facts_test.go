package coredns

import (
	"strings"
	"testing"

	"github.com/wharf-dev/wharf/controllers/component"
)

func TestChooseClusterIP(t *testing.T) {
	for _, tc := range []struct{ spec, existing, want string }{
		{"", "", "10.43.0.10"},
		{"10.43.0.53", "", "10.43.0.53"},
		{"", "10.96.0.10", "10.96.0.10"},
		{"10.96.0.10", "10.96.0.10", "10.96.0.10"},
	} {
		got, err := ChooseClusterIP(tc.spec, tc.existing)
		if err != nil || got != tc.want {
			t.Errorf("ChooseClusterIP(%q, %q) = %q, %v; want %q", tc.spec, tc.existing, got, err, tc.want)
		}
	}
	_, err := ChooseClusterIP("10.43.0.53", "10.96.0.10")
	st, ok := component.AsStalled(err)
	if !ok || st.Reason != ReasonClusterIPImmutable {
		t.Fatalf("error %v is not stalled with reason %s", err, ReasonClusterIPImmutable)
	}
	for _, want := range []string{"10.96.0.10", "10.43.0.53", "delete the kube-dns Service"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
}
