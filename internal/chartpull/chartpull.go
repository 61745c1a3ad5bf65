// Package chartpull downloads Helm chart archives: over HTTP(S) from a
// classic chart repository (its index.yaml, then the archive it lists), and
// from an OCI registry through the distribution API (the manifest, then the
// chart layer), with anonymous bearer tokens where the registry asks for
// them. It holds only what wharf needs: public charts, no credentials.
//
// What a repository sends is not trusted: a redirect may not leave the
// host or fall back from https to http, an index may not point at an
// archive on another host, plain http is refused unless the Client allows
// it, and every download is capped (see the Max constants).
//
// Why not Helm's own getters (helm.sh/helm/v3 pkg/getter, pkg/repo,
// pkg/registry), which wharf already links for rendering: HTTPGetter reads
// a whole response into memory with no cap and follows redirects wherever
// they lead (net/http's defaults), so the caps and the redirect policy
// above would have to be rebuilt around it anyway; and pkg/repo decodes an
// index.yaml as one document (sigs.k8s.io/yaml, YAML to JSON to structs),
// which grew the heap by about 50 MiB for a 7.5 MiB index where
// FindChart's stream grows it by under 8 MiB (TestFindChartMemory), while
// the manager's limit is 256 MiB and a repository is not trusted. What is
// left here beyond those caps is two GETs per chart and the OCI manifest's
// three media types.
package chartpull

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Media types of a Helm chart stored in an OCI registry.
const (
	ManifestMediaType   = "application/vnd.oci.image.manifest.v1+json"
	ConfigMediaType     = "application/vnd.cncf.helm.config.v1+json"
	ChartLayerMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// Caps on what is read from a repository or registry.
const (
	// MaxArchiveSize bounds a chart archive. Charts are well under 1 MiB
	// (Traefik's is about 250 KiB).
	MaxArchiveSize = 10 << 20
	// MaxIndexSize bounds an index.yaml. The index is read as a stream
	// (see FindChart), so this caps the download, not memory. Repositories
	// of one vendor (Traefik's: about 1-3 MiB) are well under it; an index
	// over it belongs to a repository too large to be used this way: pull
	// the chart from an OCI registry instead.
	MaxIndexSize = 8 << 20
	// MaxEntrySize bounds one version's entry in an index, the most of an
	// index held in memory at once besides the list of the chart's
	// version strings.
	MaxEntrySize = 1 << 20
	// MaxManifestSize bounds an OCI manifest and a token response.
	MaxManifestSize = 1 << 20
	// maxRedirects is how many redirects one request may follow.
	maxRedirects = 5
)

// Client downloads charts. Its zero value uses a default HTTP client and
// refuses plain http.
type Client struct {
	// HTTP makes the requests; nil means one with a 60-second timeout.
	// Its CheckRedirect is replaced by the Client's redirect policy.
	HTTP *http.Client
	// AllowHTTP permits plain http:// URLs, and redirects from http to
	// http. An https URL never redirects to http.
	AllowHTTP bool
}

// NotFoundError says the repository or registry does not have what was
// asked for: retrying will not help until the request changes.
type NotFoundError struct{ msg string }

func (e *NotFoundError) Error() string { return e.msg }

// IsNotFound reports whether err is, or wraps, a NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// RefusedError says the repository sent something wharf refuses to use: a
// redirect to another host or to plain http, an archive URL on another
// host, a download over its cap. Retrying will not help until the
// repository or the request changes.
type RefusedError struct{ msg string }

func (e *RefusedError) Error() string { return e.msg }

// IsRefused reports whether err is, or wraps, a RefusedError.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

func refusedf(format string, args ...any) error {
	return &RefusedError{msg: fmt.Sprintf(format, args...)}
}

// ResolveURL returns ref, an archive URL from repo's index, as an absolute
// URL: index URLs may be relative to the repository. An absolute URL must
// have the repository's scheme and host: an index cannot send wharf to
// another server.
func ResolveURL(repo, ref string) (string, error) {
	base, err := url.Parse(strings.TrimSuffix(repo, "/") + "/")
	if err != nil {
		return "", fmt.Errorf("repository URL %q: %w", repo, err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("chart URL %q: %w", ref, err)
	}
	u := base.ResolveReference(r)
	if u.Scheme != base.Scheme || !strings.EqualFold(u.Host, base.Host) {
		return "", refusedf("the index of %s points at %s, which is not on %s://%s: archives are only fetched from the repository's own host",
			repo, u.Redacted(), base.Scheme, base.Host)
	}
	return u.String(), nil
}

// Get downloads rawURL with the given extra headers, reading at most limit
// bytes. A 404 is a NotFoundError; a body over limit a RefusedError.
func (c *Client) Get(ctx context.Context, rawURL string, header http.Header, limit int64) ([]byte, error) {
	resp, err := c.do(ctx, rawURL, header, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := checkStatus(rawURL, resp); err != nil {
		return nil, err
	}
	return readAll(rawURL, resp.Body, limit)
}

// do sends a GET. Redirects stay on the host of rawURL unless crossHost
// is set (OCI blobs, which registries serve from a CDN and whose digest is
// checked); none goes from https to http.
func (c *Client) do(ctx context.Context, rawURL string, header http.Header, crossHost bool) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &NotFoundError{msg: fmt.Sprintf("%q is not an http or https URL", rawURL)}
	}
	if u.Scheme == "http" && !c.AllowHTTP {
		return nil, refusedf("%s is plain http, which is not allowed here: use https", u.Redacted())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", rawURL, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "wharf")
	resp, err := c.httpClient(crossHost).Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", rawURL, err)
	}
	return resp, nil
}

func (c *Client) httpClient(crossHost bool) *http.Client {
	hc := &http.Client{Timeout: 60 * time.Second}
	if c.HTTP != nil {
		copied := *c.HTTP
		hc = &copied
	}
	hc.CheckRedirect = c.redirectPolicy(crossHost)
	return hc
}

// redirectPolicy refuses a redirect that leaves the first request's host
// (unless crossHost) or lands on plain http when that is not allowed or
// the first request was https.
func (c *Client) redirectPolicy(crossHost bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		switch {
		case len(via) > maxRedirects:
			return refusedf("%s: more than %d redirects", first.Redacted(), maxRedirects)
		case req.URL.Scheme != "https" && (req.URL.Scheme != "http" || first.Scheme != "http" || !c.AllowHTTP):
			return refusedf("%s redirects to %s: a redirect may not leave https", first.Redacted(), req.URL.Redacted())
		case !crossHost && !strings.EqualFold(req.URL.Host, first.Host):
			return refusedf("%s redirects to %s: a redirect may not leave %s", first.Redacted(), req.URL.Redacted(), first.Host)
		}
		return nil
	}
}

func checkStatus(rawURL string, resp *http.Response) error {
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusNotFound:
		return &NotFoundError{msg: fmt.Sprintf("%s: 404 Not Found", rawURL)}
	default:
		return fmt.Errorf("get %s: %s", rawURL, resp.Status)
	}
}

func readAll(rawURL string, r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rawURL, err)
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(rawURL, limit)
	}
	return data, nil
}

func tooLarge(rawURL string, limit int64) error {
	return refusedf("%s is larger than %s, the most wharf reads", rawURL, sizeString(limit))
}

func sizeString(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Digest returns the "sha256:<hex>" digest of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
