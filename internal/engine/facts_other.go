//go:build !unix

package engine

import "errors"

// freeBytes is not measured here: the preflight says so.
func freeBytes(string) (int64, error) { return 0, errors.New("not measured on this system") }
