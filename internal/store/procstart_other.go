//go:build !linux

package store

// procStart is unknown outside Linux; pid liveness alone decides.
func procStart(int) string { return "" }
