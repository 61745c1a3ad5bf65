package chartpull

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Reference is a chart in an OCI registry: oci://HOST/PATH:TAG.
type Reference struct {
	Host, Path, Tag string
}

// ParseReference parses oci://HOST[:PORT]/PATH:TAG.
func ParseReference(ref string) (Reference, error) {
	rest, ok := strings.CutPrefix(ref, "oci://")
	host, path, okPath := strings.Cut(rest, "/")
	i := strings.LastIndex(path, ":")
	if !ok || !okPath || host == "" || i <= 0 || i == len(path)-1 {
		return Reference{}, &NotFoundError{msg: fmt.Sprintf("%q is not an OCI reference oci://HOST/PATH:TAG", ref)}
	}
	return Reference{Host: host, Path: path[:i], Tag: path[i+1:]}, nil
}

func (r Reference) String() string { return "oci://" + r.Host + "/" + r.Path + ":" + r.Tag }

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

type manifest struct {
	MediaType string       `json:"mediaType"`
	Config    descriptor   `json:"config"`
	Layers    []descriptor `json:"layers"`
}

// PullOCI downloads the chart archive ref names over HTTPS, checking its
// digest against the manifest.
func (c *Client) PullOCI(ctx context.Context, ref string) ([]byte, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	s := &registrySession{client: c, ref: r}
	data, err := s.get(ctx, "manifests/"+r.Tag, ManifestMediaType, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	m := &manifest{}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", r, err)
	}
	for _, l := range m.Layers {
		if l.MediaType != ChartLayerMediaType {
			continue
		}
		if l.Size > MaxArchiveSize {
			return nil, refusedf("the chart layer of %s is %d bytes, over %s, the most wharf reads", r, l.Size, sizeString(MaxArchiveSize))
		}
		blob, err := s.get(ctx, "blobs/"+l.Digest, "", MaxArchiveSize)
		if err != nil {
			return nil, err
		}
		if got := Digest(blob); got != l.Digest {
			return nil, fmt.Errorf("chart layer of %s: digest %s, the manifest says %s", r, got, l.Digest)
		}
		return blob, nil
	}
	return nil, &NotFoundError{msg: fmt.Sprintf("%s has no layer of type %s: not a Helm chart", r, ChartLayerMediaType)}
}

// registrySession talks to one repository of a registry, with the bearer
// token the registry handed out, if it asked for one.
type registrySession struct {
	client *Client
	ref    Reference
	token  string
}

// get reads what (manifests/TAG or blobs/DIGEST), at most limit bytes.
// Blobs may be redirected to another host over https, as registries serve
// them from a CDN: their digest is checked. Manifests stay on the host.
func (s *registrySession) get(ctx context.Context, what, accept string, limit int64) ([]byte, error) {
	rawURL := "https://" + s.ref.Host + "/v2/" + s.ref.Path + "/" + what
	for attempt := 0; ; attempt++ {
		header := http.Header{}
		if accept != "" {
			header.Set("Accept", accept)
		}
		if s.token != "" {
			header.Set("Authorization", "Bearer "+s.token)
		}
		resp, err := s.client.do(ctx, rawURL, header, strings.HasPrefix(what, "blobs/"))
		if err != nil {
			return nil, err
		}
		challenge := resp.Header.Get("WWW-Authenticate")
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && challenge != "" {
			resp.Body.Close()
			if s.token, err = s.anonymousToken(ctx, challenge); err != nil {
				return nil, err
			}
			continue
		}
		defer resp.Body.Close()
		if err := checkStatus(rawURL, resp); err != nil {
			return nil, err
		}
		return readAll(rawURL, resp.Body, limit)
	}
}

// anonymousToken answers a Bearer challenge (realm, service, scope) with a
// token request without credentials, as for a public repository.
func (s *registrySession) anonymousToken(ctx context.Context, challenge string) (string, error) {
	scheme, params, _ := strings.Cut(challenge, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("%s asks for %s authentication: only public charts can be pulled", s.ref, scheme)
	}
	p := parseChallenge(params)
	realm, err := url.Parse(p["realm"])
	if err != nil || realm.Scheme != "https" {
		return "", fmt.Errorf("%s: token realm %q is not an https URL", s.ref, p["realm"])
	}
	q := realm.Query()
	if p["service"] != "" {
		q.Set("service", p["service"])
	}
	scope := p["scope"]
	if scope == "" {
		scope = "repository:" + s.ref.Path + ":pull"
	}
	q.Set("scope", scope)
	realm.RawQuery = q.Encode()
	data, err := s.client.Get(ctx, realm.String(), nil, MaxManifestSize)
	if err != nil {
		return "", fmt.Errorf("token for %s: %w", s.ref, err)
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(data, &tok); err != nil {
		return "", fmt.Errorf("token for %s: %w", s.ref, err)
	}
	if tok.Token != "" {
		return tok.Token, nil
	}
	if tok.AccessToken != "" {
		return tok.AccessToken, nil
	}
	return "", fmt.Errorf("token for %s: the registry sent none", s.ref)
}

// parseChallenge splits `realm="https://x/token",service="x",scope="a,b"`
// into its parameters; quoted values may hold commas.
func parseChallenge(s string) map[string]string {
	out := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; {
		key, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		key = strings.ToLower(strings.TrimSpace(key))
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				val, rest = rest[1:], ""
			} else {
				val, rest = rest[1:end+1], rest[end+2:]
			}
		} else {
			val, rest, _ = strings.Cut(rest, ",")
			rest = "," + rest
		}
		out[key] = val
		s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ","))
	}
	return out
}
