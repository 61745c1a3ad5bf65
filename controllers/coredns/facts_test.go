package coredns

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wharf-dev/wharf/controllers/component"
)

func TestChooseClusterIPs(t *testing.T) {
	ips := func(s ...string) []string { return s }
	for _, tc := range []struct {
		name                 string
		spec, live, recorded []string
		want                 []string
	}{
		{"fresh cluster", nil, nil, nil, ips("10.43.0.10")},
		{"spec on a fresh cluster", ips("10.43.0.53"), nil, nil, ips("10.43.0.53")},
		{"adopted", nil, ips("10.96.0.10"), nil, ips("10.96.0.10")},
		{"spec equals the running IP", ips("10.96.0.10"), ips("10.96.0.10"), nil, ips("10.96.0.10")},
		{"running on the recorded IP", nil, ips("10.43.0.53"), ips("10.43.0.53"), ips("10.43.0.53")},
		{"deleted: back on the recorded IP", nil, nil, ips("10.43.0.53"), ips("10.43.0.53")},
		{"deleted: back on both recorded IPs", nil, nil, ips("10.43.0.53", "fd00:43::a"), ips("10.43.0.53", "fd00:43::a")},
		{"deleted to move it: the spec wins", ips("10.43.0.10"), nil, ips("10.43.0.53"), ips("10.43.0.10")},
		{"a second IP family is added in place", ips("10.43.0.53", "fd00:43::a"), ips("10.43.0.53"), ips("10.43.0.53"), ips("10.43.0.53", "fd00:43::a")},
		{"re-created elsewhere, accepted by the spec", ips("10.43.0.99"), ips("10.43.0.99"), ips("10.43.0.53"), ips("10.43.0.99")},
	} {
		got, err := ChooseClusterIPs(tc.spec, tc.live, tc.recorded)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: ChooseClusterIPs(%q, %q, %q) = %q, %v; want %q", tc.name, tc.spec, tc.live, tc.recorded, got, err, tc.want)
		}
	}

	for _, tc := range []struct {
		name        string
		spec, live  []string
		wantStalled bool
	}{
		{"another primary", ips("10.43.0.53"), ips("10.96.0.10"), true},
		{"dropping an IP family", ips("10.43.0.53"), ips("10.43.0.53", "fd00:43::a"), true},
	} {
		_, err := ChooseClusterIPs(tc.spec, tc.live, nil)
		st, ok := component.AsStalled(err)
		if !ok || st.Reason != ReasonClusterIPImmutable {
			t.Fatalf("%s: error %v is not stalled with reason %s", tc.name, err, ReasonClusterIPImmutable)
		}
	}
	_, err := ChooseClusterIPs([]string{"10.43.0.53"}, []string{"10.96.0.10"}, nil)
	for _, want := range []string{"10.96.0.10", "10.43.0.53", "delete the kube-dns Service"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}

	// Someone re-created kube-dns on another IP: refused, and retried.
	_, err = ChooseClusterIPs(nil, []string{"10.43.0.99"}, []string{"10.43.0.53"})
	var reasoned interface{ ConditionReason() string }
	if !errors.As(err, &reasoned) || reasoned.ConditionReason() != ReasonClusterIPChanged {
		t.Fatalf("error %v does not carry reason %s", err, ReasonClusterIPChanged)
	}
	if _, stalled := component.AsStalled(err); stalled {
		t.Errorf("%s is stalled; it must be retried", ReasonClusterIPChanged)
	}
	for _, want := range []string{"10.43.0.99", "10.43.0.53"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
}
