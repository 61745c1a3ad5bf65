package servicelb

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/wharf-dev/wharf/api/v1alpha1"
)

// actionPolicy is the Event action of a Service the tenant policy of
// spec.serviceLB refuses.
const actionPolicy = "CheckPolicy"

// policyCheck says why the tenant policy of spec.serviceLB (beyond K3s)
// refuses svc, or returns an empty pending when it admits it: a Service in
// a namespace namespaceSelector does not select, with more ports than
// maxPortsPerService, or asking for a reserved port. nsLabels are the
// labels of svc's namespace, read only when the spec has a namespace
// selector.
func policyCheck(svc *corev1.Service, spec *v1alpha1.ServiceLBSpec, nsLabels func() (map[string]string, error)) (pending, error) {
	if spec.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(spec.NamespaceSelector)
		if err != nil {
			return pending{action: actionPolicy, reason: fmt.Sprintf("spec.serviceLB.namespaceSelector is invalid: %v", err)}, nil
		}
		l, err := nsLabels()
		if err != nil {
			return pending{}, err
		}
		if !sel.Matches(labels.Set(l)) {
			return pending{action: actionPolicy, reason: fmt.Sprintf(
				"namespace %s is not selected by spec.serviceLB.namespaceSelector (%s)", svc.Namespace, sel)}, nil
		}
	}
	if n, max := len(svc.Spec.Ports), int(spec.MaxPortsPerService); n > max {
		return pending{action: actionPolicy, reason: fmt.Sprintf(
			"the service has %d ports, more than spec.serviceLB.maxPortsPerService (%d)", n, max)}, nil
	}
	reserved, err := parsePortRanges(spec.ReservedPorts)
	if err != nil {
		return pending{action: actionPolicy, reason: err.Error()}, nil
	}
	var taken []string
	for _, p := range svc.Spec.Ports {
		if reserved.contains(p.Port) {
			taken = append(taken, portString(p.Port, protocolOf(p.Protocol)))
		}
	}
	switch len(taken) {
	case 0:
		return pending{}, nil
	case 1:
		return pending{action: actionPolicy, reason: fmt.Sprintf("port %s is reserved on the nodes by spec.serviceLB.reservedPorts", taken[0])}, nil
	default:
		return pending{action: actionPolicy, reason: fmt.Sprintf("ports %s are reserved on the nodes by spec.serviceLB.reservedPorts", joinLimited(taken, 5))}, nil
	}
}

// portRange is an inclusive range of ports.
type portRange struct{ lo, hi int32 }

type portRanges []portRange

func (rs portRanges) contains(p int32) bool {
	for _, r := range rs {
		if p >= r.lo && p <= r.hi {
			return true
		}
	}
	return false
}

// parsePortRanges parses ports such as "22" and ranges such as "2379-2380".
func parsePortRanges(items []string) (portRanges, error) {
	out := make(portRanges, 0, len(items))
	for _, item := range items {
		lo, hi, isRange := strings.Cut(item, "-")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.ParseInt(lo, 10, 32)
		h, err2 := strconv.ParseInt(hi, 10, 32)
		if err1 != nil || err2 != nil || l < 1 || h > 65535 || l > h {
			return nil, fmt.Errorf("spec.serviceLB.reservedPorts holds %q, which is not a port 1-65535 or a range such as 2379-2380", item)
		}
		out = append(out, portRange{lo: int32(l), hi: int32(h)})
	}
	return out, nil
}
