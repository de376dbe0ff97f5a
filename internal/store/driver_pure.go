//go:build !desktop || !cgo

package store

import (
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Driver names the SQLite implementation this build uses: without cgo
// (the CLI, the tests) a pure Go translation of SQLite, so that the CLI
// builds and runs with no C toolchain or library.
const Driver = "sqlite (pure Go)"

const driverName = "sqlite"

// dsn opens path with the pragmas every connection needs; see Open.
func dsn(path string) string {
	return path + "?" + strings.Join([]string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", BusyTimeout.Milliseconds()),
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(1)",
		"_txlock=immediate",
	}, "&")
}
