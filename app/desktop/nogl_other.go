//go:build !((production || dev) && linux)

package desktop

// initWithoutGL has nothing to do where Wails opens no GTK window.
func initWithoutGL() {}
