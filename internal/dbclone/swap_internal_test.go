package dbclone

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/testenv"
)

// tree reads a folder into path → content ("<dir>" for folders).
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case rel == ".":
		case fi.IsDir():
			out[rel] = "<dir>"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func render(m map[string]string) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q ", k, m[k])
	}
	return b.String()
}

// runSwap runs a piece of shell with swapFunctions over the volume root
// d, with an environment.
func runSwap(t *testing.T, d, script string, env ...string) error {
	t.Helper()
	full := "set -Eeuo pipefail\nshopt -s nullglob\nD=" + d + " N=" + d + "/" + stageDir + " O=" + d + "/" + oldDir + "\n" + swapFunctions + script
	cmd := exec.Command("bash", "-c", full)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Logf("bash: %v\n%s", err, out)
	}
	return err
}

var (
	oldData = map[string]string{"PG_VERSION": "15 old", "base/1": "old rows", "only-old": "gone after", ".hidden": "old dot"}
	newData = map[string]string{"PG_VERSION": "15 new", "base/1": "new rows", "global/x": "new global", ".hidden": "new dot"}
)

func expectData(t *testing.T, d string, want map[string]string, what string) {
	t.Helper()
	got := tree(t, d)
	w := map[string]string{}
	for k, v := range want {
		w[k] = v
		for p := filepath.Dir(k); p != "."; p = filepath.Dir(p) {
			w[p] = "<dir>"
		}
	}
	if render(got) != render(w) {
		t.Errorf("%s:\n got  %s\n want %s", what, render(got), render(w))
	}
}

// TestSwapIsCrashSafe kills the swap at each of its points (in the shell,
// as a killed helper would be) and builds by hand the states between the
// moves of single entries; settle always ends with either the whole old
// data or the whole new data, never a mix and never neither.
func TestSwapIsCrashSafe(t *testing.T) {
	testenv.Tool(t, "bash")
	stage := func(t *testing.T) string {
		d := t.TempDir()
		write(t, d, oldData)
		write(t, filepath.Join(d, stageDir), newData)
		return d
	}
	t.Run("complete swap", func(t *testing.T) {
		d := stage(t)
		if err := runSwap(t, d, "swap\n"); err != nil {
			t.Fatal(err)
		}
		expectData(t, d, newData, "after a swap")
	})
	for _, point := range []string{"swap-journalled", "swap-half"} {
		t.Run("killed at "+point, func(t *testing.T) {
			d := stage(t)
			if err := runSwap(t, d, "swap\n", "BERTH_FAILPOINT="+point); err == nil {
				t.Fatal("the failpoint did not kill the swap")
			}
			if _, err := os.Stat(filepath.Join(d, swapJournal)); err != nil {
				t.Fatalf("no journal after a kill at %s: %v", point, err)
			}
			if err := runSwap(t, d, "settle\n"); err != nil {
				t.Fatal(err)
			}
			expectData(t, d, newData, "settled after a kill at "+point)
			// Settling again changes nothing.
			if err := runSwap(t, d, "settle\n"); err != nil {
				t.Fatal(err)
			}
			expectData(t, d, newData, "settled twice")
		})
	}
	t.Run("killed while staging", func(t *testing.T) {
		d := t.TempDir()
		write(t, d, oldData)
		write(t, filepath.Join(d, stageDir), map[string]string{"PG_VERSION": "15 new"}) // half a copy, no journal
		if err := runSwap(t, d, "settle\n"); err != nil {
			t.Fatal(err)
		}
		expectData(t, d, oldData, "an unfinished copy is dropped, the old data kept")
	})
	// By hand: each entry moved or not, in the order swap moves them.
	oldNames := []string{".hidden", "PG_VERSION", "base", "only-old"}
	newNames := []string{".hidden", "PG_VERSION", "base", "global"}
	for movedOld := 0; movedOld <= len(oldNames); movedOld++ {
		for movedNew := 0; movedNew <= len(newNames); movedNew++ {
			if movedNew > 0 && movedOld < len(oldNames) {
				continue // new entries move only once every old one has
			}
			t.Run(fmt.Sprintf("old %d of %d moved, new %d of %d", movedOld, len(oldNames), movedNew, len(newNames)), func(t *testing.T) {
				d := stage(t)
				n, o := filepath.Join(d, stageDir), filepath.Join(d, oldDir)
				var journal []byte
				for _, e := range newNames {
					journal = append(append(journal, e...), 0)
				}
				if err := os.WriteFile(filepath.Join(d, swapJournal), journal, 0o644); err != nil {
					t.Fatal(err)
				}
				os.MkdirAll(o, 0o755)
				for _, e := range oldNames[:movedOld] {
					if err := os.Rename(filepath.Join(d, e), filepath.Join(o, e)); err != nil {
						t.Fatal(err)
					}
				}
				for _, e := range newNames[:movedNew] {
					if err := os.Rename(filepath.Join(n, e), filepath.Join(d, e)); err != nil {
						t.Fatal(err)
					}
				}
				if err := runSwap(t, d, "settle\n"); err != nil {
					t.Fatal(err)
				}
				expectData(t, d, newData, "settled")
			})
		}
	}
	t.Run("journal gone, leftovers not yet removed", func(t *testing.T) {
		d := t.TempDir()
		write(t, d, newData)
		write(t, filepath.Join(d, stageDir), map[string]string{})
		write(t, filepath.Join(d, oldDir), oldData)
		if err := runSwap(t, d, "settle\n"); err != nil {
			t.Fatal(err)
		}
		expectData(t, d, newData, "a finished swap's leftovers go")
	})
}
