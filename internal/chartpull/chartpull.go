// Package chartpull downloads Helm chart archives: over HTTP(S) from a
// classic chart repository (its index.yaml, then the archive it lists), and
// from an OCI registry through the distribution API (the manifest, then the
// chart layer), with anonymous bearer tokens where the registry asks for
// them. It holds only what wharf needs: public charts, no credentials.
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

	"sigs.k8s.io/yaml"
)

// Media types of a Helm chart stored in an OCI registry.
const (
	ManifestMediaType   = "application/vnd.oci.image.manifest.v1+json"
	ConfigMediaType     = "application/vnd.cncf.helm.config.v1+json"
	ChartLayerMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// MaxSize bounds every download: an index, a manifest or an archive.
const MaxSize = 32 << 20

// Client downloads charts. Its zero value uses a default HTTP client.
type Client struct {
	// HTTP makes the requests; nil means one with a 60-second timeout.
	HTTP *http.Client
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

// IndexEntry is one version of a chart as a repository's index lists it.
type IndexEntry struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
	Digest  string   `json:"digest"`
}

// Index is a chart repository's index.yaml, reduced to what a download
// needs.
type Index struct {
	Entries map[string][]IndexEntry `json:"entries"`
}

// FetchIndex reads repo's index.yaml.
func (c *Client) FetchIndex(ctx context.Context, repo string) (*Index, error) {
	base := strings.TrimSuffix(repo, "/")
	data, err := c.Get(ctx, base+"/index.yaml", nil)
	if err != nil {
		return nil, err
	}
	idx := &Index{}
	if err := yaml.Unmarshal(data, idx); err != nil {
		return nil, fmt.Errorf("index of %s: %w", base, err)
	}
	return idx, nil
}

// ResolveURL returns ref, an archive URL from repo's index, as an absolute
// URL: index URLs may be relative to the repository.
func ResolveURL(repo, ref string) (string, error) {
	base, err := url.Parse(strings.TrimSuffix(repo, "/") + "/")
	if err != nil {
		return "", fmt.Errorf("repository URL %q: %w", repo, err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("chart URL %q: %w", ref, err)
	}
	return base.ResolveReference(r).String(), nil
}

// Get downloads rawURL with the given extra headers. A 404 is a
// NotFoundError.
func (c *Client) Get(ctx context.Context, rawURL string, header http.Header) ([]byte, error) {
	resp, err := c.do(ctx, rawURL, header)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := checkStatus(rawURL, resp); err != nil {
		return nil, err
	}
	return readAll(rawURL, resp.Body)
}

func (c *Client) do(ctx context.Context, rawURL string, header http.Header) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &NotFoundError{msg: fmt.Sprintf("%q is not an http or https URL", rawURL)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", rawURL, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "wharf")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", rawURL, err)
	}
	return resp, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 60 * time.Second}
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

func readAll(rawURL string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rawURL, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s is larger than %d MiB", rawURL, MaxSize>>20)
	}
	return data, nil
}

// Digest returns the "sha256:<hex>" digest of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
