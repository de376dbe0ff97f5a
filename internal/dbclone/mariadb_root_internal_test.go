package dbclone

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestMariaDBGoldenKeyRoot: a golden copy of a random-root service is
// keyed by the fact that root is random (so its key is the same at every
// load), never shared with a service that gives root a password (or none),
// and the keys of copies whose root host is the default are the ones they
// had before root hosts were part of the key.
func TestMariaDBGoldenKeyRoot(t *testing.T) {
	fl := flavours[EngineMariaDB]
	base := Target{Engine: EngineMariaDB, Image: "mariadb:10.11", User: "app", Password: "pw", Database: "shop"}
	with := func(f func(*Target)) Target {
		t := base
		f(&t)
		return t
	}
	key := func(t Target) string { return goldenKey("seed:abc", "sha256:img", t, fl) }
	random := with(func(t *Target) { t.RandomRoot = true })
	given := with(func(t *Target) { t.RootPassword = "r00t" })
	empty := base

	// Computed twice, and with a random password drawn each time: the
	// same key.
	first, again := key(random), key(random)
	drawn, redrawn := key(withRandomRoot(random)), key(withRandomRoot(random))
	if first != again || first != drawn || drawn != redrawn {
		t.Error("a random-root service's key changes with the random password")
	}
	keys := map[string]string{}
	for name, tg := range map[string]Target{
		"random":               random,
		"given":                given,
		"empty":                empty,
		"given-is-random-text": with(func(t *Target) { t.RootPassword = "random" }),
		"random-localhost":     with(func(t *Target) { t.RandomRoot, t.RootHost = true, "localhost" }),
		"given-localhost":      with(func(t *Target) { t.RootPassword, t.RootHost = "r00t", "localhost" }),
		"given-10":             with(func(t *Target) { t.RootPassword, t.RootHost = "r00t", "10.%" }),
		"random-other-user":    with(func(t *Target) { t.RandomRoot, t.Password = true, "other" }),
	} {
		k := key(tg)
		if other, ok := keys[k]; ok {
			t.Errorf("%s and %s share a golden copy", name, other)
		}
		keys[k] = name
	}

	// "%" is the default root host: same key as none, and as the key
	// before root hosts were keyed.
	if key(with(func(t *Target) { t.RootPassword, t.RootHost = "r00t", "%" })) != key(given) {
		t.Error(`root host "%" and the default have different keys`)
	}
	h := sha256.New()
	fmt.Fprintf(h, "v1\x00%s\x00%s\x00%s\x00%s\x00%s\x00", "seed:abc", "sha256:img", given.User, given.Database, given.AuthMethod)
	pw := sha256.Sum256([]byte(given.Password))
	h.Write(pw[:])
	fmt.Fprintf(h, "\x00%s\x00%x", EngineMariaDB, sha256.Sum256([]byte(given.RootPassword)))
	if want := fmt.Sprintf("%x", h.Sum(nil)); key(given) != want {
		t.Errorf("the key of a given root password changed: %s, was %s", key(given), want)
	}
}

// TestMariaDBRandomRootFiles: a random-root load makes root@localhost and
// root@'%' (or the root host) with a strong random password of its own,
// which the load's output is scrubbed of; a given password is used as it
// is.
func TestMariaDBRandomRootFiles(t *testing.T) {
	fl := flavours[EngineMariaDB]
	hex48 := regexp.MustCompile(`^[0-9a-f]{48}$`)
	random := Target{Engine: EngineMariaDB, RandomRoot: true, User: "app", Password: "pw", Database: "shop"}
	a, b := withRandomRoot(random), withRandomRoot(random)
	if !hex48.MatchString(a.RootPassword) || a.RootPassword == b.RootPassword {
		t.Fatalf("random root passwords %q and %q: want two different 48-digit ones", a.RootPassword, b.RootPassword)
	}
	if g := withRandomRoot(Target{RootPassword: "given"}); g.RootPassword != "given" {
		t.Errorf("a given root password became %q", g.RootPassword)
	}
	post := string(fl.files(a)["post.sql"].data)
	for _, want := range []string{
		"ALTER USER 'root'@'localhost' IDENTIFIED BY '" + a.RootPassword + "';",
		"CREATE OR REPLACE USER 'root'@'%' IDENTIFIED BY '" + a.RootPassword + "';",
		"GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;",
		"ALTER USER 'app'@'%' IDENTIFIED BY 'pw';",
	} {
		if !strings.Contains(post, want) {
			t.Errorf("post.sql lacks %q:\n%s", want, post)
		}
	}
	if !strings.Contains(scrub("ERROR near '"+a.RootPassword+"'", fl.secrets(a)...), "***") {
		t.Error("the load's output is not scrubbed of the random root password")
	}
	local := a
	local.RootHost = "localhost"
	if post := string(fl.files(local)["post.sql"].data); strings.Contains(post, "'root'@'%'") || !strings.Contains(post, "'root'@'localhost'") {
		t.Errorf("root host localhost: want root@localhost only:\n%s", post)
	}
	net := a
	net.RootHost = "10.0.%"
	if post := string(fl.files(net)["post.sql"].data); !strings.Contains(post, "CREATE OR REPLACE USER 'root'@'10.0.%'") || strings.Contains(post, "'root'@'%'") {
		t.Errorf("root host 10.0.%%: want root@'10.0.%%':\n%s", post)
	}

	sql := mariadbRootSQL(`it's \ odd`)
	if !strings.Contains(sql, `SET @pw = 'it\'s \\ odd';`) || !strings.Contains(sql, "FLUSH PRIVILEGES;") ||
		!strings.Contains(sql, "FROM mysql.global_priv WHERE User = 'root'") {
		t.Errorf("root SQL:\n%s", sql)
	}
}
