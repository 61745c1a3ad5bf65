package main

import (
	"os"
	"runtime/debug"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// The soft memory limit has one source: the Deployment passes the
// container's memory limit as GOMEMLIMIT.
func TestDeploymentSetsGOMEMLIMITFromTheMemoryLimit(t *testing.T) {
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
		t.Errorf("the manager container has no memory limit for GOMEMLIMIT to follow")
	}
	found := false
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" && e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil &&
			e.ValueFrom.ResourceFieldRef.Resource == "limits.memory" {
			found = true
		}
	}
	if !found {
		t.Fatal("config/manager/manager.yaml does not set GOMEMLIMIT from limits.memory: the manager would run without a soft memory limit")
	}
}

func TestSetGCPercent(t *testing.T) {
	t.Setenv("GOGC", "")
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	if gogc, _ := setGCPercent(); gogc != gcPercent {
		t.Errorf("GOGC = %d, want %d", gogc, gcPercent)
	}
	if got := debug.SetGCPercent(gcPercent); got != gcPercent {
		t.Errorf("the runtime's GOGC is %d, want %d", got, gcPercent)
	}
}
