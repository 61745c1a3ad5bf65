// Package memlimit sets the Go garbage collector up for a long-running
// controller in a container: a soft memory limit under the container's
// limit, and a collection target tighter than Go's default, unless the
// GOMEMLIMIT and GOGC environment variables say otherwise.
package memlimit

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// LimitFraction of the container's memory limit becomes the Go soft limit,
// leaving room for what the runtime does not count (stacks it has not
// returned, the executable's pages).
const LimitFraction = 0.9

// Settings are what Apply set; zero values mean "left as it was".
type Settings struct {
	// GCPercent is the GOGC value set, or 0 when GOGC was in the
	// environment.
	GCPercent int
	// SoftLimit is the soft memory limit set in bytes, or 0.
	SoftLimit int64
	// ContainerLimit is the memory limit found in the cgroup, or 0.
	ContainerLimit int64
}

// Apply sets GOGC to gcPercent unless the environment sets GOGC, and the
// soft memory limit to LimitFraction of the cgroup's memory limit (read
// under cgroupRoot, normally /sys/fs/cgroup) unless the environment sets
// GOMEMLIMIT or there is no limit.
func Apply(gcPercent int, cgroupRoot string) (Settings, error) {
	var s Settings
	if _, ok := os.LookupEnv("GOGC"); !ok && gcPercent > 0 {
		debug.SetGCPercent(gcPercent)
		s.GCPercent = gcPercent
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		return s, nil
	}
	limit, err := ContainerLimit(cgroupRoot)
	if err != nil || limit == 0 {
		return s, err
	}
	s.ContainerLimit = limit
	s.SoftLimit = int64(float64(limit) * LimitFraction)
	debug.SetMemoryLimit(s.SoftLimit)
	return s, nil
}

// ContainerLimit returns the memory limit of the cgroup the process runs
// in, from cgroup v2's memory.max or cgroup v1's memory.limit_in_bytes
// under root, or 0 when there is none.
func ContainerLimit(root string) (int64, error) {
	for _, file := range []string{filepath.Join(root, "memory.max"), filepath.Join(root, "memory", "memory.limit_in_bytes")} {
		data, err := os.ReadFile(file)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("read the memory limit: %w", err)
		}
		v := strings.TrimSpace(string(data))
		if v == "max" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("memory limit %q in %s: %w", v, file, err)
		}
		// cgroup v1 writes a page-aligned maximum for "no limit".
		if n <= 0 || n >= math.MaxInt64/2 {
			return 0, nil
		}
		return n, nil
	}
	return 0, nil
}
