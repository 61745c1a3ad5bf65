package images

import "testing"

func TestWithRegistry(t *testing.T) {
	const reg = "registry.example.com:5000"
	for _, tc := range []struct{ image, registry, want string }{
		{"docker.io/coredns/coredns:1.12.4", reg, reg + "/coredns/coredns:1.12.4"},
		{"coredns/coredns:1.12.4", reg, reg + "/coredns/coredns:1.12.4"},
		{"docker.io/rancher/klipper-lb:v0.4.13", reg, reg + "/rancher/klipper-lb:v0.4.13"},
		{"index.docker.io/rancher/klipper-lb:v0.4.13", reg, reg + "/rancher/klipper-lb:v0.4.13"},
		{"ghcr.io/traefik/traefik:v3.5.0", reg, reg + "/traefik/traefik:v3.5.0"},
		{"localhost/traefik:v3", reg, reg + "/traefik:v3"},
		{"quay.io:443/org/img@sha256:0123", reg, reg + "/org/img@sha256:0123"},
		{"busybox:1.37", reg, reg + "/library/busybox:1.37"},
		{"docker.io/busybox@sha256:0123", reg, reg + "/library/busybox@sha256:0123"},
		{"busybox", reg, reg + "/library/busybox"},
		{"docker.io/coredns/coredns:1.12.4", "registry.example.com/mirror/", "registry.example.com/mirror/coredns/coredns:1.12.4"},
		{"docker.io/coredns/coredns:1.12.4", "", "docker.io/coredns/coredns:1.12.4"},
		{"", reg, ""},
	} {
		if got := WithRegistry(tc.image, tc.registry); got != tc.want {
			t.Errorf("WithRegistry(%q, %q) = %q, want %q", tc.image, tc.registry, got, tc.want)
		}
	}
}

func TestSplitRegistry(t *testing.T) {
	for _, tc := range []struct{ image, host, rest string }{
		{"docker.io/coredns/coredns:1.12.4", "docker.io", "coredns/coredns:1.12.4"},
		{"coredns/coredns:1.12.4", "docker.io", "coredns/coredns:1.12.4"},
		{"registry.example.com:5000/a/b", "registry.example.com:5000", "a/b"},
		{"localhost/a", "localhost", "a"},
		{"nginx:1.29", "docker.io", "nginx:1.29"},
	} {
		host, rest := SplitRegistry(tc.image)
		if host != tc.host || rest != tc.rest {
			t.Errorf("SplitRegistry(%q) = %q, %q, want %q, %q", tc.image, host, rest, tc.host, tc.rest)
		}
	}
}
