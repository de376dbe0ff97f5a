//go:build desktop && cgo

package store

import (
	"fmt"
	"strings"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// Driver names the SQLite implementation this build uses: the desktop
// build links the system's libsqlite3 (with the libsqlite3 build tag, as
// scripts/build.sh does), the library WebKitGTK loads into the same process
// anyway. That keeps about 2.5 MB of translated SQLite out of the binary and
// its pages out of memory.
const Driver = "sqlite (C library)"

const driverName = "sqlite3"

// dsn opens path with the pragmas every connection needs; see Open. The
// path is passed as it is (no "file:" URI, so no %-decoding of it).
func dsn(path string) string {
	return path + "?" + strings.Join([]string{
		fmt.Sprintf("_busy_timeout=%d", BusyTimeout.Milliseconds()),
		"_journal_mode=WAL",
		"_synchronous=NORMAL",
		"_foreign_keys=1",
		"_txlock=immediate",
	}, "&")
}
