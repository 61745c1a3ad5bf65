package templates

import "embed"

// Traefik holds the Traefik Helm chart under the directory "traefik".
// The all: prefix keeps _helpers.tpl, which go:embed skips otherwise.
//
//go:embed all:traefik
var Traefik embed.FS
