//go:build !((production || dev) && linux)

// Package nogl keeps GL out of the desktop window's process (see Init).
package nogl

// Init has nothing to do where Wails opens no GTK window.
func Init() {}
