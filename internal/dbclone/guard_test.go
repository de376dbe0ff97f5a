package dbclone_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
)

// holdPort is an engine port whose helpers stop at the scripts' hold
// points named in points (BERTH_HOLD): at each, at runs with the helper's
// container and the point, and the helper goes on once it returns. at
// runs on a goroutine of its own: it reports with Errorf, never Fatal.
type holdPort struct {
	dbclone.Engine
	points string
	at     func(container, point string)

	mu   sync.Mutex
	seen []string // "point" for each hold reached, in order
	wg   sync.WaitGroup
}

const labelHold = "dev.berth.test-hold"

func (p *holdPort) RunHelper(ctx context.Context, h dbclone.Helper) (dbclone.HelperResult, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	h.Env = append(slices.Clone(h.Env), "BERTH_HOLD="+p.points)
	h.Labels = maps.Clone(h.Labels)
	if h.Labels == nil {
		h.Labels = map[string]string{}
	}
	h.Labels[labelHold] = id
	line := h.Line
	h.Line = func(l string) {
		if point, ok := strings.CutPrefix(strings.TrimSpace(l), "berth-hold "); ok {
			p.mu.Lock()
			p.seen = append(p.seen, point)
			p.mu.Unlock()
			p.wg.Add(1)
			go p.hold(ctx, id, point)
		}
		if line != nil {
			line(l)
		}
	}
	res, err := p.Engine.RunHelper(ctx, h)
	p.wg.Wait()
	return res, err
}

// hold finds the helper's container, runs at, and lets the helper go on.
func (p *holdPort) hold(ctx context.Context, id, point string) {
	defer p.wg.Done()
	out, err := exec.CommandContext(ctx, "docker", "ps", "-q", "--filter", "label="+labelHold+"="+id).Output()
	c := strings.TrimSpace(string(out))
	if err == nil && c != "" {
		p.at(c, point)
	}
	// the fifo is there (the script made it before saying so): writing a
	// line to it lets the script go on
	_ = exec.CommandContext(ctx, "docker", "exec", c, "sh", "-c", "echo go >/berth/hold-"+point).Run()
}

func (p *holdPort) reached() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

// inHelper runs a shell command in a held helper and returns its output.
func inHelper(ctx context.Context, container, script string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", "exec", container, "sh", "-c", script).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestSeedEscapes: plain seeds that try psql's meta-commands that run a
// program or touch a file (\! and \o |cmd, \g |cmd in the middle of a
// line, \copy ... program, \w, \i of the password, a seed that
// unrestricts itself with a key of its own) fail, saying why, and none of
// them made /berth/work/pwned in the helper (looked at as the load script
// ends); a seed made by pg_dump 15.20, with its own \restrict lines,
// loads.
func TestSeedEscapes(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	vol := f.volume("env", nil)
	var mu sync.Mutex
	pwned := map[string]string{} // container → what /berth/work held at the end
	port := &holdPort{Engine: f.port, points: "end", at: func(c, point string) {
		out, err := inHelper(f.ctx, c, "ls -A /berth/work; if [ -e /berth/work/pwned ]; then echo PWNED; fi")
		if err != nil {
			t.Errorf("looking into the helper: %v: %s", err, out)
		}
		mu.Lock()
		pwned[c] = out
		mu.Unlock()
	}}
	c := dbclone.New(port)
	for _, s := range []struct{ name, sql string }{
		{"shell", "CREATE TABLE t (a int);\n\\! touch /berth/work/pwned\n"},
		{"output-pipe", "\\o |touch /berth/work/pwned\nSELECT 1;\n"},
		{"mid-line", "SELECT 1 \\g |touch /berth/work/pwned\n"},
		{"copy-program", "CREATE TABLE t (a int);\n\\copy t to program 'touch /berth/work/pwned'\n"},
		{"write-buffer", "SELECT 1\n\\w /berth/work/pwned\n"},
		{"include-password", "\\i /berth/in/password\n"},
		{"unrestrict-itself", "\\restrict abc\n\\unrestrict abc\n\\! touch /berth/work/pwned\n"},
		{"setenv-then-shell", "\\setenv X 1\n\\! touch /berth/work/pwned\n"},
	} {
		t.Run(s.name, func(t *testing.T) {
			seed := filepath.Join(dir, s.name+".sql")
			writeFile(t, seed, []byte(s.sql))
			mu.Lock()
			clear(pwned)
			mu.Unlock()
			res, err := c.Clone(f.ctx, dbclone.Source{Kind: "seed", Seed: seed, Name: "seed " + s.name}, f.target(vol, ""), nil)
			if err == nil {
				f.goldenCleanup(res.From)
				t.Error("the hostile seed loaded")
			} else {
				t.Logf("error: %v", err)
				if !errors.Is(err, dbclone.ErrSource) || !strings.Contains(err.Error(), "holds psql meta-commands") {
					t.Errorf("error %q: want ErrSource saying the seed holds psql meta-commands", err)
				}
				if strings.Contains(err.Error(), pgPass) {
					t.Errorf("the error shows the service's password: %v", err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(pwned) != 1 {
				t.Fatalf("the load's helper was looked into %d times, want once (points reached %v)", len(pwned), port.reached())
			}
			for _, out := range pwned {
				if strings.Contains(out, "PWNED") {
					t.Errorf("the seed ran a command in the helper: /berth/work holds %q", out)
				}
			}
		})
	}

	// pg_dump 15.20 writes \restrict KEY and \unrestrict KEY around its
	// dump: it loads whole
	src := f.sourceDB()
	plain := f.dump(src, dir, "seed.sql")
	if head := f.docker("exec", src, "head", "-n", "8", "/tmp/seed.sql"); !strings.Contains(head, "\\restrict ") {
		t.Fatalf("the image's pg_dump writes no \\restrict line:\n%s", head)
	}
	tg := f.target(vol, "")
	res := f.clone(t, c, dbclone.Source{Kind: "seed", Seed: plain, Name: "seed"}, tg, nil)
	if !res.GoldenLoaded {
		t.Errorf("result %+v", res)
	}
	sameSums(t, "a pg_dump seed loaded under \\restrict", f.checksums(f.postgres("env", vol)), f.checksums(src))
}

// TestMariaDBSeedEscapes: MariaDB seeds that try the client's commands that
// run a program or touch a file (\! and system, tee and \T, \! in the
// middle of a line, source) fail, and none of them made /berth/work/pwned
// in the helper.
func TestMariaDBSeedEscapes(t *testing.T) {
	f := newFixtureFor(t, myImage)
	dir := t.TempDir()
	vol := f.volume("env", nil)
	var mu sync.Mutex
	var looked []string
	port := &holdPort{Engine: f.port, points: "end", at: func(c, point string) {
		out, err := inHelper(f.ctx, c, "ls -A /berth/work; if [ -e /berth/work/pwned ]; then echo PWNED; fi")
		if err != nil {
			t.Errorf("looking into the helper: %v: %s", err, out)
		}
		mu.Lock()
		looked = append(looked, out)
		mu.Unlock()
	}}
	c := dbclone.New(port)
	for _, s := range []struct{ name, sql string }{
		{"shell", "CREATE TABLE t (a int);\n\\! touch /berth/work/pwned\n"},
		{"system", "CREATE TABLE t (a int);\nsystem touch /berth/work/pwned\n"},
		{"tee", "tee /berth/work/pwned\nSELECT 1;\n"},
		{"tee-short", "\\T /berth/work/pwned\nSELECT 1;\n"},
		{"mid-line", "SELECT 1 \\! touch /berth/work/pwned\n;\n"},
		{"source", "source /berth/in/post.sql\n"},
		{"sandbox-off", "/*M!999999\\- enable the sandbox mode */\n\\! touch /berth/work/pwned\n"},
	} {
		t.Run(s.name, func(t *testing.T) {
			seed := filepath.Join(dir, s.name+".sql")
			writeFile(t, seed, []byte(s.sql))
			mu.Lock()
			looked = nil
			mu.Unlock()
			res, err := c.Clone(f.ctx, dbclone.Source{Kind: "seed", Seed: seed, Name: "seed " + s.name}, f.myTarget(vol, ""), nil)
			if err == nil {
				f.goldenCleanup(res.From)
				t.Error("the hostile seed loaded")
			} else {
				t.Logf("error: %v", err)
				if !errors.Is(err, dbclone.ErrSource) {
					t.Errorf("error %q: want ErrSource", err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(looked) != 1 {
				t.Fatalf("the load's helper was looked into %d times, want once (points reached %v)", len(looked), port.reached())
			}
			if strings.Contains(looked[0], "PWNED") {
				t.Errorf("the seed ran a command in the helper: /berth/work holds %q", looked[0])
			}
		})
	}
}

// oddNames are database names a shell or a connection string would
// misread: a space, quotes, =, a leading -, a newline, a backslash.
var oddNames = []string{"a b", "it's", "k=v dbname=postgres", "-x", "new\nline", `back\slash "q"`}

// TestLogicalCopyNames: the logical copy copies databases whose names the
// shell, psql's options or a connection string would misread, each with
// its own rows.
func TestLogicalCopyNames(t *testing.T) {
	f := newFixture(t)
	src := f.volume("src", nil)
	db := f.postgres("src", src)
	for i, n := range oddNames {
		f.psql(db, "CREATE DATABASE "+pgIdent(n))
		f.docker("exec", "-e", "PGPASSWORD="+pgPass, "-e", "PGDATABASE="+n, db, "psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", pgUser,
			"-c", "CREATE TABLE t (v text); INSERT INTO t SELECT "+pgQuote(n)+" || "+strings.Repeat("'!'||", i)+"'' FROM generate_series(1, 100)")
	}
	c := dbclone.New(f.port)
	c.Force = dbclone.StrategyLogical
	vol := f.volume("copy", nil)
	tg := f.target(vol, "")
	if _, err := c.Clone(f.ctx, dbclone.Source{Kind: "env", Volume: src, Container: db, Name: "the source"}, tg, nil); err != nil {
		t.Fatal(err)
	}
	cp := f.postgres("copy", vol)
	for i, n := range oddNames {
		got := f.docker("exec", "-e", "PGPASSWORD="+pgPass, "-e", "PGDATABASE="+n, cp, "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", pgUser,
			"-c", "SELECT count(*) || ' ' || min(v) FROM t")
		if want := "100 " + n + strings.Repeat("!", i); got != want {
			t.Errorf("database %q in the copy: %q, want %q", n, got, want)
		}
	}
}

func pgIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// TestMariaDBURLNames: a MariaDB url source of every database copies
// databases whose names the shell or mariadb-dump's options would misread
// (a newline, quotes, a backtick, =, a leading -, a backslash), each with
// its own rows.
func TestMariaDBURLNames(t *testing.T) {
	f := newFixtureFor(t, myImage)
	src := f.myServer("src", "")
	names := append(slices.Clone(oddNames), "tick`name")
	for i, n := range names {
		f.myIn(src, "mysql", "CREATE DATABASE "+myIdent(n)+"; CREATE TABLE "+myIdent(n)+".t (v text); INSERT INTO "+myIdent(n)+".t SELECT CONCAT("+myQuote(n)+", REPEAT('!', "+string(rune('0'+i))+")) FROM seq_1_to_100")
	}
	ip := f.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", src)
	vol := f.volume("env", nil)
	tg := f.myTarget(vol, "")
	tg.Database = ""
	urlVar := "SRC_URL_" + strings.ToUpper(f.prefix[len(f.prefix)-8:])
	f.clone(t, f.c, dbclone.Source{Kind: "url", URL: "mariadb://root:" + escapeAll(myRootPW) + "@" + ip + "/", URLName: urlVar, Name: "every database at $" + urlVar}, tg, nil)
	db := f.mariadb("env", vol)
	for i, n := range names {
		got := f.myIn(db, "mysql", "SELECT CONCAT(COUNT(*), ' ', MIN(v)) FROM "+myIdent(n)+".t")
		if want := "100 " + n + strings.Repeat("!", i); got != strings.NewReplacer("\n", `\n`, `\`, `\\`).Replace(want) && got != want {
			t.Errorf("database %q in the copy: %q, want %q", n, got, want)
		}
	}
}

func myIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func myQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}

// escapeAll percent-encodes every byte of s but letters and digits.
func escapeAll(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

// waitFor polls cond (each poll's own cost sets the pace) until it holds
// or the deadline passes.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
	}
}
