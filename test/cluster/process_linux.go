package cluster

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the child in its own process group, so a terminal's
// Ctrl-C reaches only the parent (which stops the cluster in order), and has
// the kernel kill it if the parent dies without stopping it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func terminateGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }

func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
