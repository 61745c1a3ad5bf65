package templates

import "embed"

// CoreDNS holds, under the directory "coredns", the Corefile template and
// the manifest templates of CoreDNS (ServiceAccount, RBAC, ConfigMap,
// Deployment, Service), executed with text/template and the sprig functions.
//
//go:embed coredns
var CoreDNS embed.FS
