// Package render turns embedded assets into Kubernetes objects: Helm charts
// rendered with Helm's engine, and Go text/templates with the sprig
// functions. Everything here is pure: no API server is contacted.
package render
