package testenv

import (
	"net/http"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
)

// Counter counts the requests made through a rest.Config by HTTP method.
type Counter struct {
	mu     sync.Mutex
	counts map[string]int
	paths  map[string][]string
}

// Counting returns a copy of cfg whose requests are counted by c.
func Counting(cfg *rest.Config) (*rest.Config, *Counter) {
	c := &Counter{counts: map[string]int{}, paths: map[string][]string{}}
	out := rest.CopyConfig(cfg)
	out.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.URL.Query().Get("watch") != "true" {
				c.mu.Lock()
				c.counts[req.Method]++
				c.paths[req.Method] = append(c.paths[req.Method], req.URL.Path)
				c.mu.Unlock()
			}
			return rt.RoundTrip(req)
		})
	})
	return out, c
}

// Writes returns how many POST, PUT, PATCH and DELETE requests were made.
func (c *Counter) Writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[http.MethodPost] + c.counts[http.MethodPut] + c.counts[http.MethodPatch] + c.counts[http.MethodDelete]
}

// WritePaths lists the paths written to, for failure messages.
func (c *Counter) WritePaths() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		for _, p := range c.paths[m] {
			out = append(out, m+" "+p)
		}
	}
	return strings.Join(out, "\n")
}

// Count returns how many requests used method.
func (c *Counter) Count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[method]
}

// Reset sets every count to zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = map[string]int{}
	c.paths = map[string][]string{}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
