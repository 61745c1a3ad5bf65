package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// The manager's soft memory limit is 90% of its container's limit: the
// Deployment must give it a limit, and must not set GOMEMLIMIT, which
// would replace the 90% with the whole limit.
func TestDeploymentLeavesTheSoftMemoryLimitToTheManager(t *testing.T) {
	data, err := os.ReadFile("../config/manager/manager.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := &appsv1.Deployment{}
	if err := yaml.Unmarshal(data, d); err != nil || d.Kind != "Deployment" {
		t.Fatalf("config/manager/manager.yaml is not one Deployment: %v", err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Resources.Limits.Memory().IsZero() {
		t.Errorf("the manager container has no memory limit for its soft limit to follow")
	}
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" || e.Name == "AUTOMEMLIMIT" {
			t.Errorf("config/manager/manager.yaml sets %s: it replaces the manager's soft limit of %.0f%% of the container's", e.Name, softLimitRatio*100)
		}
	}
}

func TestSetMemoryLimit(t *testing.T) {
	for _, env := range []string{"GOMEMLIMIT", "AUTOMEMLIMIT"} {
		t.Setenv(env, "")
		if err := os.Unsetenv(env); err != nil {
			t.Fatal(err)
		}
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	var container uint64 = 256 << 20
	got, err := setMemoryLimit(memlimit.Limit(container))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(float64(container) * softLimitRatio); got != want {
		t.Errorf("soft limit = %d bytes, want %d (%.0f%% of %d)", got, want, softLimitRatio*100, container)
	}
	if got != debug.SetMemoryLimit(-1) {
		t.Errorf("the runtime's soft limit is not the one returned")
	}

	// Outside a container: no limit, and no error.
	debug.SetMemoryLimit(math.MaxInt64)
	got, err = setMemoryLimit(func() (uint64, error) { return 0, memlimit.ErrNoLimit })
	if err != nil || got != math.MaxInt64 {
		t.Errorf("without a container limit: soft limit %d, error %v; want none", got, err)
	}
}

func TestSetGCPercent(t *testing.T) {
	t.Setenv("GOGC", "")
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	if gogc := setGCPercent(); gogc != gcPercent {
		t.Errorf("GOGC = %d, want %d", gogc, gcPercent)
	}
	if got := debug.SetGCPercent(gcPercent); got != gcPercent {
		t.Errorf("the runtime's GOGC is %d, want %d", got, gcPercent)
	}
}
