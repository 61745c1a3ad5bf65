// Package metricsauth puts an HTTP endpoint (the manager's /metrics) behind
// the cluster's own authentication and authorization: a caller presents a
// bearer token, the API server says whose it is (TokenReview), and the API
// server's authorizer says whether that user may use the verb on the path
// (SubjectAccessReview, a non-resource URL: grant it with a ClusterRole rule
// `nonResourceURLs: ["/metrics"], verbs: ["get"]`).
//
// Decisions are remembered for a short while (AllowTTL, DenyTTL) so that a
// scraper costs the API server two reviews per AllowTTL, not two per
// scrape. Only a hash of the token is kept. Reviews of tokens the Guard
// has not allowed before are rate limited (ReviewQPS, ReviewBurst): a
// flood of distinct made-up tokens, none of which can be remembered
// usefully, costs the API server at most ReviewBurst reviews at once and
// ReviewQPS a second after; callers beyond that get 429 Too Many Requests
// without a review. A token the Guard allowed before is reviewed again,
// when its decision expires, without waiting for that limit, so a scraper
// goes on being served through a flood that never pauses; a scraper whose
// grant was taken away is refused at its first request after the decision
// expired, within AllowTTL. A scraper that starts during such a flood may
// get 429 until it wins a review.
package metricsauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Defaults of Guard.
const (
	// AllowTTL is how long an allowed caller is remembered.
	AllowTTL = time.Minute
	// DenyTTL is how long a refused token or user is remembered.
	DenyTTL = 10 * time.Second
	// ReviewTimeout bounds each review request to the API server.
	ReviewTimeout = 10 * time.Second
	// MaxRemembered bounds the remembered decisions, so that a flood of
	// made-up tokens cannot grow the manager's memory.
	MaxRemembered = 1024
	// ReviewQPS is how many reviews a second the Guard asks the API server
	// for, in the long run, for tokens it has not allowed before. A
	// Prometheus scraper needs one once; then its re-reviews, one every
	// AllowTTL, do not count against this limit.
	ReviewQPS = 2
	// ReviewBurst is how many reviews the Guard may ask for at once.
	ReviewBurst = 10
)

// Guard authenticates and authorizes requests through the API server.
type Guard struct {
	tokens authnclient.TokenReviewInterface
	access authzclient.SubjectAccessReviewInterface

	// AllowTTL, DenyTTL, ReviewTimeout and MaxRemembered default to the
	// package's constants.
	AllowTTL, DenyTTL, ReviewTimeout time.Duration
	MaxRemembered                    int
	// reviews limits the reviews asked for: ReviewQPS, ReviewBurst.
	reviews flowcontrol.RateLimiter

	mu         sync.Mutex
	remembered map[[sha256.Size]byte]entry
	now        func() time.Time
}

// entry is what the Guard remembers of one token, verb and path.
//
// A token the Guard has allowed is renewable: when its decision expires,
// its review does not wait for the shared limit (reviews), so a flood of
// made-up tokens, which spends that limit, cannot starve a scraper. Made-up
// tokens never become renewable, so the flood's cost stays bounded by the
// shared limit, and renewable entries are bounded by MaxRemembered: at most
// two review requests per renewable token per AllowTTL while it stays
// allowed, one try per DenyTTL while the API server cannot answer.
//
// The re-review is made during the request, not in the background while
// the expired allow goes on being served: a token whose grant was taken
// away is then refused at its first request after AllowTTL, never later,
// even when the API server is slow or unreachable, and no goroutine
// outlives a request.
type entry struct {
	decision
	renewable bool
	// renewAfter is the earliest time a renewable token's review may start
	// outside the shared limit. Starting one pushes it by DenyTTL, so that
	// concurrent requests or an API server that fails do not multiply the
	// reviews.
	renewAfter time.Time
}

// decision is the answer for one token, verb and path.
type decision struct {
	status int // http.StatusOK, StatusUnauthorized or StatusForbidden
	user   string
	until  time.Time
}

// New returns a Guard that asks the API server of cfg, through httpClient.
func New(cfg *rest.Config, httpClient *http.Client) (*Guard, error) {
	authn, err := authnclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("authentication client: %w", err)
	}
	authz, err := authzclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("authorization client: %w", err)
	}
	return &Guard{
		tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews(),
		AllowTTL: AllowTTL, DenyTTL: DenyTTL, ReviewTimeout: ReviewTimeout, MaxRemembered: MaxRemembered,
		reviews:    flowcontrol.NewTokenBucketRateLimiter(ReviewQPS, ReviewBurst),
		remembered: map[[sha256.Size]byte]entry{}, now: time.Now,
	}, nil
}

// FilterProvider is a controller-runtime metrics server FilterProvider.
func FilterProvider(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	g, err := New(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return g.Filter, nil
}

// Filter wraps next: it answers 401 without a valid bearer token, 403 when
// the token's user may not use the method on the path, 429 (Retry-After: 1)
// when a review is needed but the rate limit is spent, and 500 when the
// API server cannot be asked.
func (g *Guard) Filter(log logr.Logger, next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := g.decide(r.Context(), bearerToken(r), strings.ToLower(r.Method), r.URL.Path)
		switch {
		case errors.Is(err, errTooManyReviews):
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		case err != nil:
			log.Error(err, "could not review a metrics request")
			http.Error(w, "authentication or authorization failed", http.StatusInternalServerError)
		case d.status == http.StatusUnauthorized:
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
		case d.status == http.StatusForbidden:
			log.V(4).Info("metrics request refused", "user", d.user, "path", r.URL.Path)
			http.Error(w, fmt.Sprintf("user %q may not %s %s", d.user, r.Method, r.URL.Path), http.StatusForbidden)
		default:
			next.ServeHTTP(w, r)
		}
	}), nil
}

// decide returns the remembered decision for token, verb and path, or asks
// the API server for one: a token allowed before at once, any other within
// the shared limit, else errTooManyReviews.
func (g *Guard) decide(ctx context.Context, token, verb, path string) (decision, error) {
	if token == "" {
		return decision{status: http.StatusUnauthorized}, nil
	}
	key := sha256.Sum256([]byte(verb + "\x00" + path + "\x00" + token))
	d, ok, renew := g.recall(key)
	if ok {
		return d, nil
	}
	if !renew && g.reviews != nil && !g.reviews.TryAccept() {
		return decision{}, errTooManyReviews
	}
	d, err := g.review(ctx, token, verb, path)
	if err != nil {
		return decision{}, err
	}
	ttl := g.DenyTTL
	if d.status == http.StatusOK {
		ttl = g.AllowTTL
	}
	d.until = g.now().Add(ttl)
	g.remember(key, d)
	return d, nil
}

// errTooManyReviews says a review was needed while the rate limit was spent.
var errTooManyReviews = errors.New("too many reviews")

// review asks the API server who holds token and whether they may use verb
// on path.
func (g *Guard) review(ctx context.Context, token, verb, path string) (decision, error) {
	ctx, cancel := context.WithTimeout(ctx, g.ReviewTimeout)
	defer cancel()
	tr, err := g.tokens.Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("review the token: %w", err)
	}
	if !tr.Status.Authenticated {
		return decision{status: http.StatusUnauthorized}, nil
	}
	u := tr.Status.User
	extra := make(map[string]authorizationv1.ExtraValue, len(u.Extra))
	for k, v := range u.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := g.access.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("review the access of %s: %w", u.Username, err)
	}
	if !sar.Status.Allowed || sar.Status.Denied {
		return decision{status: http.StatusForbidden, user: u.Username}, nil
	}
	return decision{status: http.StatusOK, user: u.Username}, nil
}

// recall returns the unexpired decision for key (ok), or else whether key
// is a renewable token whose review may start now without the shared limit
// (renew); a true renew claims that review until DenyTTL from now.
func (g *Guard) recall(key [sha256.Size]byte) (d decision, ok, renew bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, found := g.remembered[key]
	now := g.now()
	switch {
	case !found:
		return decision{}, false, false
	case now.Before(e.until):
		return e.decision, true, false
	case e.renewable && !now.Before(e.renewAfter):
		e.renewAfter = now.Add(g.DenyTTL)
		g.remembered[key] = e
		return decision{}, false, true
	}
	return decision{}, false, false
}

// remember keeps d, renewable if it allows. When MaxRemembered decisions
// are kept, the expired ones that are not renewable are dropped, and the
// expired renewable ones too if d allows: a flood's refusals never push out
// a scraper that was allowed. If that makes no room, d is not kept, unless
// it replaces the decision for the same key.
func (g *Guard) remember(key [sha256.Size]byte, d decision) {
	g.mu.Lock()
	defer g.mu.Unlock()
	allows := d.status == http.StatusOK
	if _, replaces := g.remembered[key]; !replaces && len(g.remembered) >= g.MaxRemembered {
		g.dropExpired(false)
		if allows && len(g.remembered) >= g.MaxRemembered {
			g.dropExpired(true)
		}
		if len(g.remembered) >= g.MaxRemembered {
			return
		}
	}
	g.remembered[key] = entry{decision: d, renewable: allows, renewAfter: d.until}
}

// dropExpired forgets the expired decisions that are renewable or not, as
// asked; g.mu is held.
func (g *Guard) dropExpired(renewable bool) {
	now := g.now()
	for k, e := range g.remembered {
		if e.renewable == renewable && !now.Before(e.until) {
			delete(g.remembered, k)
		}
	}
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
