//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// ownGroup makes cmd start in a process group of its own, so that
// endGroup reaches the helpers it starts (WebKit's, a browser's).
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// endGroup sends cmd's process group SIGKILL, or SIGTERM when gently.
func endGroup(cmd *exec.Cmd, gently bool) {
	sig := syscall.SIGKILL
	if gently {
		sig = syscall.SIGTERM
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
