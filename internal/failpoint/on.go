//go:build failpoint && unix

package failpoint

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
)

const (
	envName   = "BERTH_FAILPOINT"       // NAME:N, the point to die at
	traceName = "BERTH_FAILPOINT_TRACE" // a file the points passed are written to
)

var (
	mu     sync.Mutex
	counts = map[string]int{}
)

// Enabled says whether this build can kill itself at points.
const Enabled = true

// Hit counts a pass through point name and kills the process when
// BERTH_FAILPOINT names this pass.
func Hit(name string) {
	mu.Lock()
	counts[name]++
	n := counts[name]
	if f := os.Getenv(traceName); f != "" {
		if w, err := os.OpenFile(f, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
			fmt.Fprintf(w, "%s:%d\n", name, n)
			w.Close()
		}
	}
	want := os.Getenv(envName)
	mu.Unlock()
	if want == "" {
		return
	}
	point, count, ok := strings.Cut(want, ":")
	if point != name || (ok && count != fmt.Sprint(n)) || (!ok && n != 1) {
		return
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}

// HelperEnv is what a helper container gets so that its script can kill
// itself at its own points.
func HelperEnv() []string {
	if v := os.Getenv(envName); v != "" {
		return []string{envName + "=" + v}
	}
	return nil
}
