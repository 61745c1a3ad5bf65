package servicelb

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// sourceRangesAnnotation is the older way to set loadBalancerSourceRanges,
// read when the field is empty.
const sourceRangesAnnotation = "service.beta.kubernetes.io/load-balancer-source-ranges"

// hostIPsField is the downward API field holding the node's IPs.
const hostIPsField = "status.hostIPs"

// container returns the klipper-lb container of one Service port:
// lb-<protocol>-<port>, binding the port on the host and forwarding it to
// the Service's cluster IPs, or with externalTrafficPolicy Local to the
// NodePort on the host's own IPs.
func container(svc *corev1.Service, image string, port corev1.ServicePort, ranges string) *corev1ac.ContainerApplyConfiguration {
	protocol := protocolOf(port.Protocol)
	name := fmt.Sprintf("lb-%s-%d", strings.ToLower(string(protocol)), port.Port)
	env := []*corev1ac.EnvVarApplyConfiguration{
		envVar("SRC_PORT", strconv.Itoa(int(port.Port))),
		envVar("SRC_RANGES", ranges),
		envVar("DEST_PROTO", string(protocol)),
	}
	if localTraffic(svc) {
		env = append(env,
			envVar("DEST_PORT", strconv.Itoa(int(port.NodePort))),
			corev1ac.EnvVar().WithName("DEST_IPS").WithValueFrom(
				corev1ac.EnvVarSource().WithFieldRef(corev1ac.ObjectFieldSelector().WithFieldPath(hostIPsField))))
	} else {
		env = append(env,
			envVar("DEST_PORT", strconv.Itoa(int(port.Port))),
			envVar("DEST_IPS", strings.Join(clusterIPs(svc), ",")))
	}
	return corev1ac.Container().
		WithName(name).
		WithImage(image).
		WithImagePullPolicy(corev1.PullIfNotPresent).
		WithPorts(corev1ac.ContainerPort().
			WithName(name).
			WithContainerPort(port.Port).
			WithHostPort(port.Port).
			WithProtocol(protocol)).
		WithEnv(env...).
		WithSecurityContext(corev1ac.SecurityContext().
			WithCapabilities(corev1ac.Capabilities().WithAdd("NET_ADMIN")))
}

func envVar(name, value string) *corev1ac.EnvVarApplyConfiguration {
	return corev1ac.EnvVar().WithName(name).WithValue(value)
}

func clusterIPs(svc *corev1.Service) []string {
	if len(svc.Spec.ClusterIPs) > 0 {
		return svc.Spec.ClusterIPs
	}
	if svc.Spec.ClusterIP != "" {
		return []string{svc.Spec.ClusterIP}
	}
	return nil
}

// sourceRanges returns SRC_RANGES: the Service's loadBalancerSourceRanges
// (or its source-ranges annotation), normalised and sorted, by default
// 0.0.0.0/0, with ::/0 added to the default when the Service has IPv6.
func sourceRanges(svc *corev1.Service) (string, error) {
	raw := svc.Spec.LoadBalancerSourceRanges
	if len(raw) == 0 {
		if a := strings.TrimSpace(svc.Annotations[sourceRangesAnnotation]); a != "" {
			raw = strings.Split(a, ",")
		}
	}
	var cidrs []string
	for _, r := range raw {
		r = strings.TrimSpace(r)
		_, n, err := net.ParseCIDR(r)
		if err != nil {
			return "", fmt.Errorf("service %s/%s has an invalid load-balancer source range %q: it must be a CIDR such as 192.168.0.0/16", svc.Namespace, svc.Name, r)
		}
		cidrs = append(cidrs, n.String())
	}
	slices.Sort(cidrs)
	cidrs = slices.Compact(cidrs)
	if len(cidrs) == 0 {
		cidrs = []string{"0.0.0.0/0"}
	}
	if len(cidrs) == 1 && cidrs[0] == "0.0.0.0/0" && slices.Contains(svc.Spec.IPFamilies, corev1.IPv6Protocol) {
		cidrs = append(cidrs, "::/0")
	}
	return strings.Join(cidrs, ","), nil
}
