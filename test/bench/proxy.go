package bench

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Request is one API request that went through a Proxy.
type Request struct {
	// At is when the request arrived at the proxy.
	At time.Time `json:"at"`
	// Verb is the Kubernetes verb: get, list, watch, create, update,
	// patch, delete or deletecollection.
	Verb string `json:"verb"`
	// Resource is the resource, with "/subresource" when there is one
	// (e.g. services/status), prefixed by its group unless core.
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	// Code is the HTTP status of the answer (502 when the API server could
	// not be reached).
	Code int `json:"code"`
	// Took is how long the answer took, from the request's arrival to its
	// last byte (zero for a watch).
	Took time.Duration `json:"took,omitempty"`
}

// IsWrite reports whether the request changes something.
func (r Request) IsWrite() bool {
	switch r.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// Proxy is a plain-HTTP reverse proxy in front of the API server that
// records every request. A client pointed at it (see WriteKubeconfig)
// talks to the API server with the credentials of the upstream config, and
// each of its requests is counted exactly, by verb and resource, with the
// time it was made.
type Proxy struct {
	// URL is the proxy's address, http://127.0.0.1:PORT.
	URL string

	srv  *http.Server
	lis  net.Listener
	mu   sync.Mutex
	reqs []Request
}

// StartProxy starts a proxy that forwards to the API server of upstream
// with upstream's credentials.
func StartProxy(upstream *rest.Config) (*Proxy, error) {
	target, err := url.Parse(upstream.Host)
	if err != nil {
		return nil, fmt.Errorf("parse the API server URL %q: %w", upstream.Host, err)
	}
	transport, err := rest.TransportFor(upstream)
	if err != nil {
		return nil, fmt.Errorf("build the upstream transport: %w", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	p := &Proxy{URL: "http://" + lis.Addr().String(), lis: lis}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
		},
		Transport:     transport,
		FlushInterval: -1, // watches stream
		ErrorLog:      nullLogger(),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.UserAgent() == ObserverAgent {
				rp.ServeHTTP(w, r)
				return
			}
			rec := classify(r)
			rw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
			// A watch is recorded when it starts; anything else when it ends,
			// with its status.
			if rec.Verb == "watch" {
				p.record(rec)
			}
			rp.ServeHTTP(rw, r)
			if rec.Verb != "watch" {
				rec.Code = rw.code
				rec.Took = time.Since(rec.At)
				p.record(rec)
			}
		}),
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() { _ = p.srv.Serve(lis) }()
	return p, nil
}

func (p *Proxy) record(r Request) {
	p.mu.Lock()
	p.reqs = append(p.reqs, r)
	p.mu.Unlock()
}

// Requests returns a copy of every request recorded so far, in the order
// they arrived. A request is recorded when its answer is complete (a watch
// when it starts).
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	out := append([]Request(nil), p.reqs...)
	p.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Request) int { return a.At.Compare(b.At) })
	return out
}

// Close stops the proxy and cuts its open connections (watches included).
func (p *Proxy) Close() error {
	if err := p.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("close the proxy: %w", err)
	}
	return nil
}

// ObserverAgent is the user agent of the bench's observer (see
// ObserverConfig): the proxy forwards its requests like any other and
// records none of them.
const ObserverAgent = "wharfbench-observer"

// ObserverConfig returns the configuration of the observer's watches. They
// go through the proxy, uncounted, so that the observer sees the API
// server through the same hop as the manager: watching the API server
// directly, the observer saw svclb pods turn Ready up to 1.8 s before the
// manager did when the machine was saturated, and counted that as the
// manager's latency.
func (p *Proxy) ObserverConfig() *rest.Config {
	cfg := p.Config(-1, 0)
	cfg.UserAgent = ObserverAgent
	return cfg
}

// Config returns a client configuration that goes through the proxy,
// with client-side rate limiting as in qps and burst (qps < 0: none, as
// controller-runtime's GetConfig sets it).
func (p *Proxy) Config(qps float32, burst int) *rest.Config {
	return &rest.Config{Host: p.URL, QPS: qps, Burst: burst}
}

// WriteKubeconfig writes a kubeconfig for the proxy (no credentials: the
// proxy adds them) to path.
func (p *Proxy) WriteKubeconfig(path string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["bench"] = &clientcmdapi.Cluster{Server: p.URL}
	cfg.AuthInfos["bench"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "bench"}
	cfg.CurrentContext = "bench"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// statusWriter remembers the status code written and passes flushes on,
// which watches need.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func nullLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// PathInfo is what an API path names.
type PathInfo struct {
	Group, Resource, Subresource, Namespace, Name string
}

// ParsePath splits an API path (/api/v1/..., /apis/GROUP/VERSION/...).
// Paths that name no resource (discovery, /healthz) have an empty Resource.
func ParsePath(path string) PathInfo {
	segs := splitPath(path)
	var info PathInfo
	switch {
	case len(segs) >= 2 && segs[0] == "api":
		segs = segs[2:]
	case len(segs) >= 3 && segs[0] == "apis":
		info.Group = segs[1]
		segs = segs[3:]
	default:
		return info
	}
	if len(segs) >= 3 && segs[0] == "namespaces" {
		info.Namespace = segs[1]
		segs = segs[2:]
	}
	if len(segs) == 0 {
		return info
	}
	info.Resource = segs[0]
	if len(segs) > 1 {
		info.Name = segs[1]
	}
	if len(segs) > 2 {
		info.Subresource = segs[2]
	}
	return info
}

func splitPath(path string) []string {
	var segs []string
	start := -1
	for i := 0; i <= len(path); i++ {
		if i == len(path) || path[i] == '/' {
			if start >= 0 && i > start {
				segs = append(segs, path[start:i])
			}
			start = i + 1
		}
	}
	return segs
}

// classify names the verb and resource of an HTTP request to the API server.
func classify(r *http.Request) Request {
	info := ParsePath(r.URL.Path)
	rec := Request{At: time.Now(), Namespace: info.Namespace, Name: info.Name}
	rec.Resource = info.Resource
	if info.Subresource != "" {
		rec.Resource += "/" + info.Subresource
	}
	if info.Group != "" && rec.Resource != "" {
		rec.Resource = info.Group + "/" + rec.Resource
	}
	if info.Resource == "" {
		rec.Resource = "(non-resource)"
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1":
			rec.Verb = "watch"
		case info.Name == "" && info.Resource != "":
			rec.Verb = "list"
		default:
			rec.Verb = "get"
		}
	case http.MethodPost:
		rec.Verb = "create"
	case http.MethodPut:
		rec.Verb = "update"
	case http.MethodPatch:
		rec.Verb = "patch"
	case http.MethodDelete:
		if info.Name == "" {
			rec.Verb = "deletecollection"
		} else {
			rec.Verb = "delete"
		}
	default:
		rec.Verb = r.Method
	}
	return rec
}

// writeFileAtomic writes data to path through a temporary file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}
