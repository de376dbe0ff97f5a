//go:build !unix

package main

import "os/exec"

// ownGroup does nothing where there are no process groups to signal
// (Windows); the benchmarks that start windows and browsers run on Linux.
func ownGroup(*exec.Cmd) {}

// endGroup kills cmd's process (not its helpers), gently or not.
func endGroup(cmd *exec.Cmd, _ bool) { _ = cmd.Process.Kill() }
