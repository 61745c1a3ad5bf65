package controllers

import (
	"crypto/tls"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/wharf-dev/wharf/internal/metricsauth"
)

// LeaderElectionID names the Lease the replicas of the manager elect a
// leader with.
const LeaderElectionID = "wharf.networking.wharf.dev"

// ManagerConfig is what the manager's flags decide.
type ManagerConfig struct {
	// MetricsAddr is the metrics address; "0" turns metrics off.
	MetricsAddr string
	// MetricsSecure serves metrics over HTTPS to authenticated and
	// authorized callers only.
	MetricsSecure bool
	// EnableHTTP2 allows HTTP/2 on the metrics server.
	EnableHTTP2 bool
	// ProbeAddr is the address of /healthz and /readyz; "0" turns them off.
	ProbeAddr string
	// PprofAddr serves /debug/pprof/ when set; "0" or empty turns it off.
	PprofAddr string
	// LeaderElect elects a leader among replicas.
	LeaderElect bool
	// LeaderElectionNamespace holds the Lease; empty means the manager's own.
	LeaderElectionNamespace string
}

// ManagerOptions returns the controller-runtime options the manager runs
// with, the same for the binary and for tests.
func ManagerOptions(c ManagerConfig) ctrl.Options {
	var tlsOpts []func(*tls.Config)
	if !c.EnableHTTP2 {
		tlsOpts = append(tlsOpts, func(t *tls.Config) { t.NextProtos = []string{"http/1.1"} })
	}
	metrics := metricsserver.Options{BindAddress: c.MetricsAddr, SecureServing: c.MetricsSecure, TLSOpts: tlsOpts}
	if c.MetricsSecure {
		metrics.FilterProvider = metricsauth.FilterProvider
	}
	return ctrl.Options{
		Scheme:                        NewScheme(),
		Metrics:                       metrics,
		HealthProbeBindAddress:        c.ProbeAddr,
		PprofBindAddress:              c.PprofAddr,
		LeaderElection:                c.LeaderElect,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       c.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		Cache:                         CacheOptions(),
		Client:                        ClientOptions(),
	}
}

// SetupManager registers every wharf reconciler and the health and ready
// checks with mgr.
func SetupManager(mgr ctrl.Manager) error {
	if err := Setup(mgr); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add the ready check: %w", err)
	}
	return nil
}
