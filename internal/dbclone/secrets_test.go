package dbclone_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/testenv"
)

// A process's arguments and environment are readable on the engine's
// host (ps, /proc): no helper may hold a secret there. These tests hold
// each kind of helper mid-run (a hold point, or a live source that keeps
// the dump waiting on a lock the test holds) and read every process's
// /proc/PID/cmdline and /proc/PID/environ on the host for the passwords
// involved; they also check that the helper's network namespace is its
// own (loopback only), or the default bridge for a live source, never the
// host's. A sampler reads /proc all along as well, to catch a short-lived
// process that a hold point does not stop at.

// procText is what the host shows of process pid: its arguments and its
// environment, NULs as spaces ("" when it is gone).
func procText(pid string) string {
	cmd, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil {
		return ""
	}
	env, _ := os.ReadFile("/proc/" + pid + "/environ")
	return strings.ReplaceAll(string(cmd), "\x00", " ") + "\x00" + strings.ReplaceAll(string(env), "\x00", " ")
}

func pids() []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// randomRoot matches a random root password as Berth makes them (48 hex
// digits), looked for in the helper's processes only.
var randomRoot = regexp.MustCompile(`(^|[^0-9a-fA-F])[0-9a-f]{48}([^0-9a-fA-F]|$)`)

// secretScan reads every process for secrets.
type secretScan struct {
	t       *testing.T
	secrets []string

	mu    sync.Mutex
	found map[string]bool // what the sampler reported
}

func newSecretScan(t *testing.T, secrets ...string) *secretScan {
	t.Helper()
	if os.Geteuid() != 0 || !localEngine() {
		testenv.Missing(t, "root and an engine on this machine (to read the helpers' processes)")
	}
	for _, s := range secrets {
		if len(s) < 8 {
			t.Fatalf("secret %q is too short to look for", s)
		}
	}
	return &secretScan{t: t, secrets: secrets, found: map[string]bool{}}
}

// leak says which secret text holds ("" for none).
func (s *secretScan) leak(text string) string {
	for _, x := range s.secrets {
		if strings.Contains(text, x) {
			return x
		}
	}
	return ""
}

// sample reads /proc every 20 ms until ctx ends, reporting each process
// found holding a secret once.
func (s *secretScan) sample(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, pid := range pids() {
			text := procText(pid)
			if x := s.leak(text); x != "" {
				argv, _, _ := strings.Cut(text, "\x00")
				s.mu.Lock()
				if !s.found[argv] {
					s.found[argv] = true
					s.t.Errorf("the sampler saw a process holding %q in its arguments or environment: %.300s", x, argv)
				}
				s.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// held is what a held helper showed.
type held struct {
	point   string
	mode    string   // its network mode
	ownNS   bool     // its network namespace is not this host's
	ifaces  []string // its network interfaces
	argv    []string // the arguments of its processes
	scanned int      // processes read on the host
}

// look inspects a held helper: its network, and every process on the host
// for secrets (and, in the helper's own processes, for a random root
// password: randomRoot).
func (s *secretScan) look(ctx context.Context, container, point string) held {
	t := s.t
	h := held{point: point}
	out, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{.State.Pid}} {{.HostConfig.NetworkMode}}", container).Output()
	f := strings.Fields(string(out))
	if err != nil || len(f) != 2 {
		t.Errorf("inspecting helper %s: %v %q", container, err, out)
		return h
	}
	pid, mode := f[0], f[1]
	h.mode = mode
	hostNS, _ := os.Readlink("/proc/self/ns/net")
	netNS, _ := os.Readlink("/proc/" + pid + "/ns/net")
	h.ownNS = netNS != "" && netNS != hostNS
	dev, _ := os.ReadFile("/proc/" + pid + "/net/dev")
	for _, l := range strings.Split(string(dev), "\n")[2:] {
		if name, _, ok := strings.Cut(l, ":"); ok {
			h.ifaces = append(h.ifaces, strings.TrimSpace(name))
		}
	}
	pidNS, _ := os.Readlink("/proc/" + pid + "/ns/pid")
	for _, p := range pids() {
		text := procText(p)
		if text == "" {
			continue
		}
		h.scanned++
		argv, _, _ := strings.Cut(text, "\x00")
		if x := s.leak(text); x != "" {
			t.Errorf("at %s: process %s holds %q in its arguments or environment: %.300s", point, p, x, argv)
		}
		if ns, _ := os.Readlink("/proc/" + p + "/ns/pid"); ns != "" && ns == pidNS {
			h.argv = append(h.argv, strings.TrimSpace(argv))
			if randomRoot.MatchString(text) {
				t.Errorf("at %s: the helper's process %s holds something like a random root password: %.300s", point, p, argv)
			}
		}
	}
	return h
}

// isolated checks a held helper's network: a namespace of its own with
// loopback only (bridge: on the default bridge).
func isolated(t *testing.T, what string, h held, bridge bool) {
	t.Helper()
	if !h.ownNS {
		t.Errorf("%s: the helper runs in this host's network namespace", what)
	}
	switch {
	case bridge && (h.mode != "bridge" || !slicesContains(h.ifaces, "eth0")):
		t.Errorf("%s: network %q, interfaces %v: want the default bridge", what, h.mode, h.ifaces)
	case !bridge && (h.mode != "none" || strings.Join(h.ifaces, " ") != "lo"):
		t.Errorf("%s: network %q, interfaces %v: want none, loopback only", what, h.mode, h.ifaces)
	}
}

func slicesContains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// running says whether one of the helper's processes has arguments
// holding every one of words.
func (h held) running(words ...string) bool {
	for _, a := range h.argv {
		all := true
		for _, w := range words {
			all = all && strings.Contains(a, w)
		}
		if all {
			return true
		}
	}
	return false
}

// stopAt returns a hold port over port whose helpers stop at points, and
// the helpers seen there (one look each).
func (s *secretScan) stopAt(ctx context.Context, port dbclone.Engine, points string) (*holdPort, func() []held) {
	var mu sync.Mutex
	var seen []held
	hp := &holdPort{Engine: port, points: points, at: func(c, point string) {
		h := s.look(ctx, c, point)
		mu.Lock()
		seen = append(seen, h)
		mu.Unlock()
	}}
	return hp, func() []held {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		return out
	}
}

// one returns the single helper seen, failing t otherwise.
func one(t *testing.T, what string, seen []held) held {
	t.Helper()
	if len(seen) != 1 {
		t.Fatalf("%s: %d helpers held, want one", what, len(seen))
	}
	if seen[0].scanned < 10 {
		t.Fatalf("%s: only %d processes read on the host", what, seen[0].scanned)
	}
	return seen[0]
}

// lockSession is a client session on a source server that the test feeds
// statements to, one line at a time.
type lockSession struct {
	in  io.WriteCloser
	cmd *exec.Cmd
}

func startSession(t *testing.T, ctx context.Context, args ...string) *lockSession {
	t.Helper()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"exec", "-i"}, args...)...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &lockSession{in: in, cmd: cmd}
	t.Cleanup(func() { s.close() })
	return s
}

func (s *lockSession) send(t *testing.T, sql string) {
	t.Helper()
	if _, err := io.WriteString(s.in, sql+"\n"); err != nil {
		t.Fatal(err)
	}
}

func (s *lockSession) close() {
	if s.in != nil {
		s.in.Close()
		_ = s.cmd.Wait()
		s.in = nil
	}
}

// cloneAside clones src into tg with the fixture's cloner on a goroutine
// of its own; wait returns its error. Should the test end first, release
// (what the clone may be waiting on) is called and the clone waited for;
// the golden copy it made is removed.
func (f *fixture) cloneAside(src dbclone.Source, tg dbclone.Target, release func()) (wait func() error) {
	done := make(chan struct{})
	var res dbclone.Result
	var err error
	go func() {
		defer close(done)
		res, err = f.c.Clone(f.ctx, src, tg, nil)
	}()
	f.t.Cleanup(func() {
		release()
		<-done
		if res.From != "" {
			f.removeVolume(res.From + "-ready")
			f.removeVolume(res.From)
		}
	})
	return func() error { <-done; return err }
}

// randomPW is a test password of its own, found nowhere else on the
// host: prefix, a dash and 16 random hex digits.
func randomPW(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%x", prefix, b)
}

// TestNoSecretsInProcesses (PostgreSQL): while a plain seed loads (psql
// and the private server running), a copy, a logical copy (psql restoring
// the roles) and a live source's dump (pg_dump waiting on a lock the test
// holds on the source) run, no process on the host holds the service's
// password or the source's in its arguments or environment; every helper
// but the source's has a network namespace of its own with loopback only,
// the source's is on the bridge.
func TestNoSecretsInProcesses(t *testing.T) {
	f := newFixture(t)
	tgPW := randomPW("svc")
	readerPW := randomPW("rdr") + `#?&=:%/@ "x"`
	written := strings.NewReplacer("%", "%25", "/", "%2F", "@", "%40").Replace(readerPW)
	s := newSecretScan(t, tgPW, readerPW, written, readerPW[:20])

	src := f.sourceDB()
	f.psql(src, "CREATE ROLE reader LOGIN PASSWORD "+pgQuote(readerPW)+"; GRANT pg_read_all_data TO reader")
	seed := f.dump(src, t.TempDir(), "seed.sql")
	// from here on (the setup put the source's password in a client's
	// arguments), the sampler reads /proc all along
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); s.sample(ctx) }()
	defer func() { cancel(); <-done }()
	target := func(vol string) dbclone.Target {
		tg := f.target(vol, "")
		tg.Password = tgPW
		return tg
	}

	// a plain seed, held while psql reads it
	port, seen := s.stopAt(f.ctx, f.port, "psql")
	c := dbclone.New(port)
	vol := f.volume("seed", nil)
	res := f.clone(t, c, dbclone.Source{Kind: "seed", Seed: seed, Name: "seed"}, target(vol), nil)
	h := one(t, "the seed's load", seen())
	isolated(t, "the seed's load", h, false)
	if !h.running("psql", "-f -") || !h.running("postgres", "-D") {
		t.Errorf("the seed's load was held with neither psql nor the server running: %q", h.argv)
	}
	golden := res.From

	// a copy (copy-on-write or plain), held before its swap
	port, seen = s.stopAt(f.ctx, f.port, "copy")
	c = dbclone.New(port)
	if _, err := c.Clone(f.ctx, dbclone.Source{Kind: "golden", Volume: golden, Name: "the golden copy"}, target(f.volume("copy", nil)), nil); err != nil {
		t.Fatal(err)
	}
	h = one(t, "the copy", seen())
	isolated(t, "the copy", h, false)

	// a logical copy, held while psql restores the roles
	port, seen = s.stopAt(f.ctx, f.port, "psql")
	c = dbclone.New(port)
	c.Force = dbclone.StrategyLogical
	if _, err := c.Clone(f.ctx, dbclone.Source{Kind: "golden", Volume: golden, Name: "the golden copy"}, target(f.volume("logical", nil)), nil); err != nil {
		t.Fatal(err)
	}
	h = one(t, "the logical copy", seen())
	isolated(t, "the logical copy", h, false)
	if !h.running("psql", "-f -") {
		t.Errorf("the logical copy was held without psql running: %q", h.argv)
	}

	// a live source: pg_dump waits on the lock the test holds on a table
	lock := startSession(t, f.ctx, "-e", "PGPASSWORD="+pgPass, src, "psql", "-X", "-q", "-h", "127.0.0.1", "-U", pgUser, "-d", pgDB)
	lock.send(t, "BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;")
	waitFor(t, "the test's lock on the source", 2*time.Minute, func() bool {
		return f.psql(src, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'orders' AND l.mode = 'AccessExclusiveLock' AND l.granted") == "1"
	})
	ip := f.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", src)
	var looked []held
	urlTarget := target(f.volume("url", nil))
	wait := f.cloneAside(dbclone.Source{Kind: "url", URL: "postgres://reader:" + written + "@" + ip + "/" + pgDB, URLName: "TEST_URL", Name: "the source"}, urlTarget, lock.close)
	waitFor(t, "pg_dump waiting on the lock", 2*time.Minute, func() bool {
		return f.psql(src, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'reader' AND wait_event_type = 'Lock'") != "0"
	})
	helper := f.docker("ps", "-q", "--filter", "label=dev.berth.helper=true", "--filter", "label="+dbclone.LabelEnv+"="+f.prefix)
	if helper == "" || strings.Contains(helper, "\n") {
		t.Fatalf("the source's helper: %q", helper)
	}
	looked = append(looked, s.look(f.ctx, helper, "pg_dump"))
	lock.send(t, "COMMIT;")
	lock.close()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	h = one(t, "the source's dump", looked)
	isolated(t, "the source's dump", h, true)
	if !h.running("pg_dump", "service=berth") {
		t.Errorf("the source's dump was looked at without pg_dump running: %q", h.argv)
	}
}

// TestMariaDBNoSecretsInProcesses: the same for MariaDB's helpers: a seed's
// load (held before the seed is read, the private server running), a live
// source's dump (mariadb-dump waiting on a table the test locked), the
// new random root password given to a copy, and a logical copy; the
// service's passwords, the source's and the random root passwords are in
// no process's arguments or environment.
func TestMariaDBNoSecretsInProcesses(t *testing.T) {
	f := newFixtureFor(t, myImage)
	svcPW := randomPW("svc")
	readerPW := randomPW("rdr") + `#?&=:%/@ "x" \`
	s := newSecretScan(t, svcPW, readerPW, escapeAll(readerPW), readerPW[:20])

	src := f.myServer("src", "")
	f.myIn(src, myDB, `CREATE TABLE customers (id int PRIMARY KEY, name varchar(100)) ENGINE=InnoDB;
INSERT INTO customers SELECT seq, CONCAT('customer ', seq) FROM seq_1_to_5000;
CREATE USER reader@'%' IDENTIFIED BY `+myQuote(readerPW)+`;
GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* TO reader@'%';`)
	seed := filepath.Join(t.TempDir(), "seed.sql")
	writeFile(t, seed, []byte(f.docker("exec", "-e", "MYSQL_PWD="+myRootPW, src, "mariadb-dump", "-uroot", myDB)+"\n"))
	// from here on (the setup put the source's password in a client's
	// arguments), the sampler reads /proc all along
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); s.sample(ctx) }()
	defer func() { cancel(); <-done }()
	target := func(vol string) dbclone.Target {
		tg := f.myTarget(vol, "")
		tg.Password, tg.RootPassword, tg.RandomRoot = svcPW, "", true
		return tg
	}

	// a seed, held before it is read
	port, seen := s.stopAt(f.ctx, f.port, "restore")
	c := dbclone.New(port)
	res := f.clone(t, c, dbclone.Source{Kind: "seed", Seed: seed, Name: "seed"}, target(f.volume("seed", nil)), nil)
	h := one(t, "the seed's load", seen())
	isolated(t, "the seed's load", h, false)
	if !h.running("mariadbd", "--skip-networking") {
		t.Errorf("the seed's load was held without its server running: %q", h.argv)
	}
	golden := res.From

	// a copy into a target whose root password is random: held while root
	// gets its new one
	port, seen = s.stopAt(f.ctx, f.port, "root")
	c = dbclone.New(port)
	if _, err := c.Clone(f.ctx, dbclone.Source{Kind: "golden", Volume: golden, Name: "the golden copy"}, target(f.volume("copy", nil)), nil); err != nil {
		t.Fatal(err)
	}
	h = one(t, "the new root password", seen())
	isolated(t, "the new root password", h, false)

	// a logical copy, held before the dump
	port, seen = s.stopAt(f.ctx, f.port, "copy")
	c = dbclone.New(port)
	c.Force = dbclone.StrategyLogical
	if _, err := c.Clone(f.ctx, dbclone.Source{Kind: "golden", Volume: golden, Name: "the golden copy"}, target(f.volume("logical", nil)), nil); err != nil {
		t.Fatal(err)
	}
	h = one(t, "the logical copy", seen())
	isolated(t, "the logical copy", h, false)

	// a live source: mariadb-dump waits on a table the test locked
	lock := startSession(t, f.ctx, "-e", "MYSQL_PWD="+myRootPW, src, "mariadb", "-uroot", "-h", "127.0.0.1", myDB)
	lock.send(t, "LOCK TABLES customers WRITE;")
	waitFor(t, "the test's lock on the source", 2*time.Minute, func() bool {
		return f.myIn(src, myDB, "SHOW OPEN TABLES FROM shop WHERE `Table` = 'customers' AND In_use > 0") != ""
	})
	ip := f.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", src)
	urlTarget := target(f.volume("url", nil))
	wait := f.cloneAside(dbclone.Source{Kind: "url", URL: "mariadb://reader:" + escapeAll(readerPW) + "@" + ip + "/shop", URLName: "TEST_URL", Name: "the source"}, urlTarget, lock.close)
	waitFor(t, "mariadb-dump waiting on the lock", 2*time.Minute, func() bool {
		return f.myIn(src, myDB, "SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'reader' AND state LIKE 'Waiting for table%'") != "0"
	})
	helper := f.docker("ps", "-q", "--filter", "label=dev.berth.helper=true", "--filter", "label="+dbclone.LabelEnv+"="+f.prefix)
	if helper == "" || strings.Contains(helper, "\n") {
		t.Fatalf("the source's helper: %q", helper)
	}
	looked := []held{s.look(f.ctx, helper, "mariadb-dump")}
	lock.send(t, "UNLOCK TABLES;")
	lock.close()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	h = one(t, "the source's dump", looked)
	isolated(t, "the source's dump", h, true)
	if !h.running("mariadb-dump", "--defaults-extra-file=/berth/in/source.cnf") {
		t.Errorf("the source's dump was looked at without mariadb-dump running: %q", h.argv)
	}
}
