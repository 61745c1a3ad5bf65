package memlimit

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestContainerLimit(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		want                int64
	}{
		{"cgroup v2 with a limit", "memory.max", "268435456\n", 268435456},
		{"cgroup v2 without", "memory.max", "max\n", 0},
		{"cgroup v1 with a limit", "memory/memory.limit_in_bytes", "134217728\n", 134217728},
		{"cgroup v1 without", "memory/memory.limit_in_bytes", "9223372036854771712\n", 0},
		{"no cgroup files", "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.file != "" {
				path := filepath.Join(root, tc.file)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ContainerLimit(root)
			if err != nil || got != tc.want {
				t.Errorf("ContainerLimit = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "memory.max"), []byte("lots"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ContainerLimit(root); err == nil {
		t.Error("a malformed limit gave no error")
	}
}

func TestApply(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "memory.max"), []byte("200000000"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	s, err := Apply(50, root)
	if err != nil || s.GCPercent != 50 || s.ContainerLimit != 200000000 || s.SoftLimit != 180000000 {
		t.Fatalf("Apply = %+v, %v", s, err)
	}
	if got := debug.SetMemoryLimit(-1); got != 180000000 {
		t.Errorf("runtime soft limit %d, want 180000000", got)
	}
	if got := debug.SetGCPercent(-2); got != 50 {
		t.Errorf("runtime GOGC %d, want 50", got)
	}
	debug.SetGCPercent(100)

	// The environment wins.
	t.Setenv("GOGC", "200")
	t.Setenv("GOMEMLIMIT", "1GiB")
	s, err = Apply(50, root)
	if err != nil || s != (Settings{}) {
		t.Errorf("Apply with GOGC and GOMEMLIMIT set = %+v, %v; want nothing changed", s, err)
	}
}
