package ship

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/wharf-dev/wharf/controllers"
)

// managerOptions are the manager's options as cmd/manager.go sets them for
// the Deployment's flags (--leader-elect, --metrics-bind-address with
// --metrics-secure), with addresses on the loopback interface. Keep them
// in step with cmd/manager.go.
func managerOptions(metricsAddr, probeAddr, leaderNamespace string) ctrl.Options {
	opts := controllers.ManagerOptions(controllers.ManagerConfig{
		MetricsAddr:             metricsAddr,
		MetricsSecure:           true,
		ProbeAddr:               probeAddr,
		LeaderElect:             true,
		LeaderElectionNamespace: leaderNamespace,
	})
	// Other tests of this binary run managers with the same controller names.
	opts.Controller = config.Controller{SkipNameValidation: ptr.To(true)}
	return opts
}

// runManager starts wharf's manager with opts against cfg, as cmd/ does
// (controllers.Setup, health and ready checks), logging into logs. The
// returned stop function stops it and waits (it also runs at cleanup).
func runManager(t *testing.T, cfg *rest.Config, opts ctrl.Options, logs io.Writer) (mgr ctrl.Manager, stop func()) {
	t.Helper()
	opts.Logger = zap.New(zap.WriteTo(logs), zap.UseDevMode(true))
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		t.Fatalf("create the manager: %v", err)
	}
	if err := controllers.SetupManager(mgr); err != nil {
		t.Fatalf("set up the manager: %v", err)
	}
	ctx, cancel := context.WithCancel(ctrl.LoggerInto(context.Background(), opts.Logger))
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("manager: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("the manager did not stop within 30s")
			}
		})
	}
	t.Cleanup(stop)
	return mgr, stop
}

// syncBuffer is a log sink safe for concurrent writers, that outlives the
// test (late log lines never reach a finished testing.T).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns the last n lines.
func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(strings.TrimRight(b.buf.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// denials records the API requests refused with 401 or 403 through a
// rest.Config: how often each method and path was refused, with the API
// server's first message for it.
type denials struct {
	mu    sync.Mutex
	keys  []string
	count map[string]int
	msg   map[string]string
}

// recordDenials returns a copy of cfg whose refused requests d records.
func recordDenials(cfg *rest.Config) (*rest.Config, *denials) {
	d := &denials{count: map[string]int{}, msg: map[string]string{}}
	out := rest.CopyConfig(cfg)
	out.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(req)
			if err != nil || (resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized) {
				return resp, err
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			key := fmt.Sprintf("%d %s %s", resp.StatusCode, req.Method, req.URL.Path)
			d.mu.Lock()
			if d.count[key] == 0 {
				d.keys = append(d.keys, key)
				d.msg[key] = apiMessage(body)
			}
			d.count[key]++
			d.mu.Unlock()
			return resp, nil
		})
	})
	return out, d
}

// all returns one line per refused method and path.
func (d *denials) all() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.keys))
	for _, k := range d.keys {
		out = append(out, fmt.Sprintf("%s (%d times): %s", k, d.count[k], d.msg[k]))
	}
	return out
}

// apiMessage returns the message of an API Status body (JSON or
// protobuf), else the body.
func apiMessage(body []byte) string {
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
	if st, ok := obj.(*metav1.Status); err == nil && ok && st.Message != "" {
		return st.Message
	}
	return strconv.Quote(string(bytes.TrimSpace(body)))
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
