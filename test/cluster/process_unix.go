//go:build unix && !linux

package cluster

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the child in its own process group, so a terminal's
// Ctrl-C reaches only the parent, which stops the cluster in order.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func terminateGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }

func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
