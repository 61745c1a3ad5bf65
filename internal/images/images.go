// Package images rewrites container image references for air-gapped
// clusters, as K3s's --system-default-registry does: the images wharf
// deploys by default are pulled from a mirror registry instead of the
// registry they are published on.
package images

import "strings"

// dockerHub is the registry an image reference without a registry host
// names, and the legacy name Docker still accepts for it.
var dockerHub = map[string]bool{"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true}

// WithRegistry returns image pulled from registry instead of the registry
// it names: docker.io/coredns/coredns:1.12.4 with registry
// "registry.example.com:5000" becomes
// registry.example.com:5000/coredns/coredns:1.12.4. The repository path,
// tag and digest are kept. A reference without a registry host is a
// Docker Hub one, so coredns/coredns:1.12.4 becomes the same, and a
// one-element Docker Hub name gets Docker Hub's "library/" path
// (busybox:1.37 becomes registry.example.com:5000/library/busybox:1.37),
// as mirrors of Docker Hub serve it.
//
// registry may carry a path ("registry.example.com/mirror"), put before
// the repository path; a trailing "/" is ignored. An empty registry
// returns image unchanged.
//
// Only the images wharf chooses by default should go through it: an
// image set explicitly by the user is used as written.
func WithRegistry(image, registry string) string {
	registry = strings.TrimRight(registry, "/")
	if registry == "" || image == "" {
		return image
	}
	host, rest := SplitRegistry(image)
	if dockerHub[host] && !strings.Contains(repository(rest), "/") {
		rest = "library/" + rest
	}
	return registry + "/" + rest
}

// SplitRegistry splits an image reference into its registry host and the
// rest (repository path, tag, digest). A reference whose first path
// element is not a host (it has no '.' or ':' and is not "localhost") is
// a Docker Hub one: the host returned is then "docker.io".
func SplitRegistry(image string) (host, rest string) {
	first, after, found := strings.Cut(image, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first, after
	}
	return "docker.io", image
}

// repository returns the repository path of rest, without tag or digest.
func repository(rest string) string {
	if i := strings.Index(rest, "@"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		rest = rest[:i]
	}
	return rest
}
