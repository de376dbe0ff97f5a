//go:build !windows

package engine

// DefaultHost is the engine address of the "default" context.
const DefaultHost = "unix:///var/run/docker.sock"
