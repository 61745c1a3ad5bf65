// Package templates embeds the assets wharf renders: the Traefik Helm
// chart, the CoreDNS manifests and Corefile template, and the dashboard
// objects. Each component has its own file and embedded file system.
package templates
