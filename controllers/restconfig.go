package controllers

import (
	"net/http"

	"k8s.io/client-go/rest"
)

// RESTConfig returns a copy of cfg for the manager: it never asks its API
// server for gzipped responses. The manager talks to its own cluster's API
// server, where compression saves no bandwidth worth its CPU: with every
// node serving every Service, decompressing the watch streams was 5-6% of
// the manager's CPU (docs/performance.md, "Every node serving").
//
// DisableCompression alone is not enough: client-go leaves a config
// without TLS settings (a plain-http API server, a local proxy) on Go's
// default transport, which ignores it and asks for gzip. The request then
// says "Accept-Encoding: identity" itself, so no transport adds gzip.
func RESTConfig(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.DisableCompression = true
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return identityEncoding{rt} })
	return cfg
}

// identityEncoding asks for uncompressed responses unless the request
// already names an encoding.
type identityEncoding struct{ next http.RoundTripper }

func (t identityEncoding) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Accept-Encoding") != "" {
		return t.next.RoundTrip(req)
	}
	// A RoundTripper must not change the request it was given.
	req = req.Clone(req.Context())
	req.Header.Set("Accept-Encoding", "identity")
	return t.next.RoundTrip(req)
}
