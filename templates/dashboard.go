package templates

import "embed"

// Dashboard holds the objects that expose the Traefik dashboard, as Go
// text/templates under the directory "dashboard": a basicAuth Middleware
// and the IngressRoute to api@internal that uses it.
//
//go:embed dashboard/*.yaml
var Dashboard embed.FS
