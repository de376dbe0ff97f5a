package dbclone

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runGuard runs script after the guard functions in bash, with fake
// commands defined first (functions shadowing psql, mariadb, as_pg ...),
// and returns its standard output.
func runGuard(t *testing.T, fakes, script string, env ...string) string {
	t.Helper()
	cmd := exec.Command("bash", "-c", "set -Eeuo pipefail\n"+fakes+"\n"+holdFunction+psqlFunctions+"sandbox_ok() { [[ \"$(mariadb --help 2>/dev/null)\" == *--sandbox* ]]; }\n"+script)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return string(out)
}

// TestRestrictVersions: restrict_ok reads psql --version and says yes from
// the minor releases that brought \restrict on.
func TestRestrictVersions(t *testing.T) {
	for v, want := range map[string]bool{
		"psql (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)":     true,
		"psql (PostgreSQL) 15.14":                              true,
		"psql (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)":     false,
		"psql (PostgreSQL) 13.22":                              true,
		"psql (PostgreSQL) 13.21":                              false,
		"psql (PostgreSQL) 14.19":                              true,
		"psql (PostgreSQL) 14.18":                              false,
		"psql (PostgreSQL) 16.10 (Ubuntu 16.10-1.pgdg24.04+1)": true,
		"psql (PostgreSQL) 16.9":                               false,
		"psql (PostgreSQL) 17.6":                               true,
		"psql (PostgreSQL) 17.5":                               false,
		"psql (PostgreSQL) 18.0":                               true,
		"psql (PostgreSQL) 18rc1":                              true,
		"psql (PostgreSQL) 18beta2":                            false,
		"psql (PostgreSQL) 19devel":                            true,
		"psql (PostgreSQL) 12.22":                              false,
		"psql (PostgreSQL) 9.6.24":                             false,
		"psql (PostgreSQL) 15":                                 false,
		"psql (PostgreSQL) 99999999999999999999.1":             false,
		"psql (PostgreSQL) 15.99999999999999999999":            false,
		"something else":                                       false,
		"":                                                     false,
	} {
		fake := "psql() { printf '%s\\n' \"$PSQL_VERSION\"; }"
		got := strings.TrimSpace(runGuard(t, fake, "if restrict_ok; then echo yes; else echo no; fi", "PSQL_VERSION="+v))
		if got != map[bool]string{true: "yes", false: "no"}[want] {
			t.Errorf("%q: restrict_ok says %s", v, got)
		}
	}
}

// TestSandboxCheck: sandbox_ok looks for --sandbox in mariadb --help.
func TestSandboxCheck(t *testing.T) {
	for help, want := range map[string]string{
		"  --sandbox           Disallow commands that access the file system":  "yes",
		"  --binary-mode       Binary mode allows certain character sequences": "no",
	} {
		got := strings.TrimSpace(runGuard(t, "mariadb() { printf '%s\\n' \"$HELP\"; }", "if sandbox_ok; then echo yes; else echo no; fi", "HELP="+help))
		if got != want {
			t.Errorf("%q: sandbox_ok says %s", help, got)
		}
	}
}

// TestPsqlInFeed: psql_in feeds psql \restrict with the helper's key
// first, then the file without pg_dump's own \restrict and \unrestrict
// lines (those of the key in its head only).
func TestPsqlInFeed(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	const key = "0123abcd"
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	// as_pg records psql's arguments and input; cat reads the key from the
	// test's file
	fakes := `as_pg() { printf '%s\n' "$*" >"$DIR/args"; command cat >"$DIR/fed"; }
cat() { if [ "$1" = /berth/in/restrict-key ]; then command cat "$KEY_FILE"; else command cat "$@"; fi; }`
	for _, c := range []struct{ name, in, want string }{
		{"pg_dump", "--\n-- PostgreSQL database dump\n--\n\n\\restrict Own1Key\n\nSET x = 1;\nCOPY t (a) FROM stdin;\n\\restrict\n\\.\n\n-- PostgreSQL database dump complete\n\n\\unrestrict Own1Key\n\n",
			"\\restrict " + key + "\n--\n-- PostgreSQL database dump\n--\n\n\nSET x = 1;\nCOPY t (a) FROM stdin;\n\\restrict\n\\.\n\n-- PostgreSQL database dump complete\n\n\n"},
		{"older pg_dump", "SELECT 1;\n", "\\restrict " + key + "\nSELECT 1;\n"},
		{"unrestricting itself", "\\restrict abc\n\\unrestrict abc\n\\! touch /berth/work/pwned\n\\unrestrict " + key + "x\n",
			"\\restrict " + key + "\n\\! touch /berth/work/pwned\n\\unrestrict " + key + "x\n"},
		{"a key too far down", strings.Repeat("--\n", 40) + "\\restrict late\n\\unrestrict late\n",
			"\\restrict " + key + "\n" + strings.Repeat("--\n", 40) + "\\restrict late\n\\unrestrict late\n"},
		{"a key with other characters", "\\restrict a-b\n\\unrestrict a-b\n", "\\restrict " + key + "\n\\restrict a-b\n\\unrestrict a-b\n"},
		{"only the key lines", "\\restrict k\n\\unrestrict k\n", "\\restrict " + key + "\n"},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "-"), func(t *testing.T) {
			seed := filepath.Join(dir, "seed.sql")
			if err := os.WriteFile(seed, []byte(c.in), 0o600); err != nil {
				t.Fatal(err)
			}
			runGuard(t, fakes, `psql_in "$SEED" -v ON_ERROR_STOP=1 -d "$(dbname_conn "a b'c\\d")"`, "DIR="+dir, "KEY_FILE="+keyFile, "SEED="+seed)
			fed, _ := os.ReadFile(filepath.Join(dir, "fed"))
			if string(fed) != c.want {
				t.Errorf("psql was fed:\n%q\nwant:\n%q", fed, c.want)
			}
			args, _ := os.ReadFile(filepath.Join(dir, "args"))
			if got, want := strings.TrimSpace(string(args)), `psql -X -q -v ON_ERROR_STOP=1 -d dbname='a b\'c\\d' -f -`; got != want {
				t.Errorf("psql's arguments %q, want %q", got, want)
			}
		})
	}
}

// TestRestrictKey: a fresh key each time, of 64 hex digits.
func TestRestrictKey(t *testing.T) {
	a, b := restrictKey(), restrictKey()
	if a == b || len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("keys %q and %q", a, b)
	}
}
