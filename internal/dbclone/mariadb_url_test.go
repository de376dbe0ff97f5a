package dbclone_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
)

// readerPW is the source's read-only account's password: every character
// a URL or an option file treats specially.
const readerPW = `r3ad #"er" \ pw:@/?%'&=`

// myServer starts a MariaDB server with the service's settings and the
// server options args; certs, when set, is a folder copied to
// /etc/mysql/tls before the server starts.
func (f *fixture) myServer(suffix, certs string, args ...string) string {
	f.t.Helper()
	name := f.prefix + "-" + suffix
	vol := f.volume(suffix, nil)
	create := []string{"create", "--name", name, "--label", "dev.berth.test=" + f.prefix,
		"-e", "MARIADB_ROOT_PASSWORD=" + myRootPW, "-e", "MARIADB_USER=" + myUser, "-e", "MARIADB_PASSWORD=" + myPass,
		"-e", "MARIADB_DATABASE=" + myDB, "-v", vol + ":/var/lib/mysql", myImage}
	f.docker(append(create, args...)...)
	f.t.Cleanup(func() { f.removeContainer(name) })
	if certs != "" {
		f.docker("cp", certs+"/.", name+":/etc/mysql/tls")
	}
	f.docker("start", name)
	f.myReady(name)
	return name
}

// myIn is f.my as root on database db.
func (f *fixture) myIn(container, db, sql string) string {
	f.t.Helper()
	return f.docker("exec", "-e", "MYSQL_PWD="+myRootPW, container, "mariadb", "-h", "127.0.0.1", "-u", "root", "-sN", "-D", db, "-e", sql)
}

// myTLS writes a certificate authority and a server certificate it
// signed into a new folder and returns it (ca.pem, server.pem,
// server-key.pem, readable by the server's user).
func myTLS(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, kind string, der []byte) {
		writeFile(t, filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}))
	}
	caKey, srvKey := key(), key()
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "berth test CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mariadb source"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("server.pem", "CERTIFICATE", srvDER)
	write("server-key.pem", "PRIVATE KEY", pk)
	return dir
}

// TestMariaDBURLSource clones a live MariaDB server by URL: one database
// into the service's (of the same name, and of another), and every
// database; the clone holds the source's
// rows (row counts and CHECKSUM TABLE), views, triggers, routines and
// events, and the service's accounts, not the source's. The source
// accepts TLS connections only, and the account read with has SELECT,
// SHOW VIEW, TRIGGER and EVENT only: no LOCK TABLES, no RELOAD, so no
// lock or flush can have been taken. An unreachable server, a wrong
// password, an unknown database, a newer server, refused TLS settings and
// bad URLs fail with ErrSource, never show the password, leave no golden
// copy and leave the target's database as it was.
func TestMariaDBURLSource(t *testing.T) {
	f := newFixtureFor(t, myImage)
	tls := myTLS(t)
	src := f.myServer("src", tls, "--ssl-ca=/etc/mysql/tls/ca.pem", "--ssl-cert=/etc/mysql/tls/server.pem",
		"--ssl-key=/etc/mysql/tls/server-key.pem", "--require-secure-transport=ON")
	quoted := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(readerPW) + "'"
	f.myIn(src, myDB, `CREATE TABLE customers (id int PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200)) ENGINE=InnoDB;
INSERT INTO customers SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.test') FROM seq_1_to_20000;
CREATE TABLE products (id int PRIMARY KEY, title char(32), price decimal(10,2), note text) ENGINE=InnoDB;
INSERT INTO products SELECT seq, MD5(seq), (seq % 1000) / 7, REPEAT('x', seq % 50) FROM seq_1_to_10000;
CREATE TABLE orders (id bigint AUTO_INCREMENT PRIMARY KEY, customer int, product int, qty int, at datetime,
  FOREIGN KEY (customer) REFERENCES customers (id), FOREIGN KEY (product) REFERENCES products (id), KEY (customer)) ENGINE=InnoDB;
INSERT INTO orders (customer, product, qty, at) SELECT 1 + seq % 20000, 1 + seq % 10000, seq % 7, '2026-01-01' + INTERVAL seq MINUTE FROM seq_1_to_30000;
CREATE TABLE notes (id int PRIMARY KEY, body text) ENGINE=Aria;
INSERT INTO notes VALUES (1, 'quote '' and backslash \\ and unicode é');
CREATE TABLE audit (n int) ENGINE=InnoDB;
INSERT INTO audit VALUES (0);
CREATE VIEW big_orders AS SELECT customer, SUM(qty) AS qty FROM orders GROUP BY customer HAVING SUM(qty) > 10;
CREATE TRIGGER count_notes AFTER INSERT ON notes FOR EACH ROW UPDATE audit SET n = n + 1;
CREATE PROCEDURE add_note(IN b text) INSERT INTO notes SELECT MAX(id) + 1, b FROM notes;
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM notes WHERE id < 0;
CREATE DATABASE extra;
CREATE TABLE extra.kv (k int PRIMARY KEY, v varbinary(32)) ENGINE=InnoDB;
INSERT INTO extra.kv SELECT seq, UNHEX(SHA2(seq, 256)) FROM seq_1_to_5000;
CREATE USER reader@'%' IDENTIFIED BY `+quoted+`;
GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* TO reader@'%';`)
	want := f.myChecksums(src)
	if len(want) != 5 {
		t.Fatalf("source tables %v", want)
	}
	wantExtra := f.myChecksumsIn(src, "extra")
	objects := func(f *fixture, c string) string {
		return f.myIn(c, myDB, `SELECT (SELECT COUNT(*) FROM information_schema.views WHERE table_schema = 'shop'),
  (SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = 'shop'),
  (SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = 'shop'),
  (SELECT COUNT(*) FROM information_schema.events WHERE event_schema = 'shop'),
  (SELECT COUNT(*) FROM big_orders)`)
	}
	wantObjects := objects(f, src)
	ip := f.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", src)
	mkURL := func(scheme, user, password, host, path, query string) string {
		return (&url.URL{Scheme: scheme, User: url.UserPassword(user, password), Host: host, Path: path, RawQuery: query}).String()
	}
	escaped := strings.TrimPrefix(url.UserPassword("reader", readerPW).String(), "reader:")
	// each test's variable name is its own: what its golden copies are
	// described by
	urlVar := "SRC_URL_" + strings.ToUpper(f.prefix[len(f.prefix)-8:])
	source := func(u string) dbclone.Source {
		return dbclone.Source{Kind: "url", URL: u, URLName: urlVar, Name: "the database at $" + urlVar}
	}
	var steps []string
	progress := func(p dbclone.Progress) { steps = append(steps, p.Step) }
	noSecret := func(t *testing.T, what, s string) {
		t.Helper()
		for _, secret := range []string{readerPW, escaped, myRootPW, myPass} {
			if strings.Contains(s, secret) {
				t.Errorf("%s shows a password (%q):\n%s", what, secret, s)
			}
		}
	}

	// a server that says it is a newer MariaDB
	newer := f.myServer("newer", "", "--version=11.4.2-MariaDB-ubu2404")
	newerIP := f.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", newer)

	// the target holds a database already; it must survive every failure
	vol := f.volume("env", nil)
	db := f.mariadb("env", vol)
	f.my(db, myUser, myPass, "CREATE TABLE keep (v text); INSERT INTO keep VALUES ('precious')")
	before := f.myChecksums(db)
	tg := f.myTarget(vol, db)

	t.Run("faults", func(t *testing.T) {
		f := f.sub(t)
		for _, c := range []struct{ name, url, want string }{
			{"unreachable", mkURL("mariadb", "reader", readerPW, "127.0.0.1:1", "/shop", "ssl=true"), "is unreachable from the engine's containers (check the host and port in $" + urlVar + ")"},
			{"wrong-password", mkURL("mariadb", "reader", "wrong-"+readerPW, ip, "/shop", "ssl=true"), "refused the credentials in $" + urlVar},
			{"unknown-database", mkURL("mariadb", "reader", readerPW, ip, "/nope", "ssl=true"), "the server has no such database (check the database in $" + urlVar + ")"},
			{"newer-server", mkURL("mariadb", "root", myRootPW, newerIP+":3306", "/shop", ""), "runs MariaDB 11.4, newer than the image's MariaDB 10.11: use a mariadb:11.4 image"},
			{"tls-refused", mkURL("mysql", "reader", readerPW, ip, "/shop", "ssl=false"), "refused the credentials in $" + urlVar + " (or it accepts TLS connections only: then remove ssl=false from $" + urlVar + ")"},
			{"certificate-untrusted", mkURL("mariadb", "reader", readerPW, ip, "/shop", "ssl-verify-server-cert=true"), "the TLS connection failed"},
			{"bad-parameter", mkURL("mariadb", "reader", readerPW, ip, "/shop", "charset=utf8mb4"), `$` + urlVar + `: query parameter "charset" is not supported`},
			{"unset", "", "the source URL variable " + urlVar + " is not set"},
		} {
			t.Run(c.name, func(t *testing.T) {
				steps = nil
				_, err := f.c.Clone(f.ctx, source(c.url), tg, progress)
				if err == nil {
					t.Fatal("the clone succeeded")
				}
				t.Logf("error: %v", err)
				if !errors.Is(err, dbclone.ErrSource) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %q: want ErrSource saying %q", err, c.want)
				}
				noSecret(t, "the error", err.Error())
				noSecret(t, "the progress", strings.Join(steps, "\n"))
				f.myNoGolden("$" + urlVar)
			})
		}
		f.myReady(db)
		sameSums(t, "the target after the failures", f.myChecksums(db), before)
	})

	t.Run("one-database", func(t *testing.T) {
		f := f.sub(t)
		steps = nil
		res := f.clone(t, f.c, source(mkURL("mariadb", "reader", readerPW, ip, "/shop", "ssl=true")), tg, progress)
		t.Logf("clone by URL: %s in %v (%d bytes); steps %v", res.Strategy, res.Duration, res.Bytes, steps)
		if !res.GoldenLoaded || res.Bytes == 0 {
			t.Errorf("result %+v: want a golden copy loaded now and a size", res)
		}
		noSecret(t, "the progress", strings.Join(steps, "\n"))
		f.myReady(db) // started again after the copy
		sameSums(t, "the clone of the URL", f.myChecksums(db), want)
		if got := objects(f, db); got != wantObjects {
			t.Errorf("views, triggers, routines, events, view rows: %q, want %q", got, wantObjects)
		}
		f.my(db, myUser, myPass, "CALL add_note('by the clone')")
		if got := f.my(db, myUser, myPass, "SELECT n FROM audit"); got != "1" {
			t.Errorf("the trigger on the clone counted %q notes, want 1", got)
		}
		if got := f.my(db, "root", myRootPW, "SELECT CURRENT_USER()"); got != "root@%" {
			t.Errorf("root over TCP: %q", got)
		}
		if got := f.my(db, myUser, myPass, "SELECT CURRENT_USER()"); got != myUser+"@%" {
			t.Errorf("%s over TCP: %q", myUser, got)
		}
		if got := f.my(db, "root", myRootPW, "SELECT COUNT(*) FROM mysql.global_priv WHERE User = 'reader'"); got != "0" {
			t.Errorf("the source's account was copied (%s)", got)
		}
		if got := f.my(db, "root", myRootPW, "SHOW DATABASES LIKE 'extra'"); got != "" {
			t.Errorf("a database the URL does not name was copied: %q", got)
		}
		// nothing in the golden copy holds the source's password
		if out := f.docker("run", "--rm", "--network", "none", "-e", "P="+readerPW, "-v", res.From+":/v:ro", "--entrypoint", "sh", myImage,
			"-c", `grep -rlF -e "$P" /v | wc -l`); out != "0" {
			t.Errorf("%s files of the golden copy hold the source's password", out)
		}
		labels := f.docker("volume", "inspect", res.From)
		noSecret(t, "the golden volume", labels)
		if !strings.Contains(labels, "database at $"+urlVar) || strings.Contains(labels, ip+":3306") || strings.Contains(labels, "reader") {
			t.Errorf("the golden volume's description shows the URL, or not the variable:\n%s", labels)
		}

		// a second clone the same day reuses the golden copy
		vol2 := f.volume("again", nil)
		res2, err := f.c.Clone(f.ctx, source(mkURL("mariadb", "reader", readerPW, ip, "/shop", "ssl=true")), f.myTarget(vol2, ""), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res2.GoldenLoaded || res2.From != res.From {
			t.Errorf("second clone %+v: want the golden copy %s reused", res2, res.From)
		}
	})

	t.Run("another-name", func(t *testing.T) {
		f := f.sub(t)
		// the URL's database goes into the service's, whatever its name
		vol := f.volume("other", nil)
		f.clone(t, f.c, source(mkURL("mariadb", "reader", readerPW, ip, "/extra", "ssl=true")), f.myTarget(vol, ""), nil)
		c := f.mariadb("other", vol)
		sameSums(t, "extra cloned into shop", f.myChecksums(c), wantExtra)
		if got := f.my(c, "root", myRootPW, "SHOW DATABASES LIKE 'extra'"); got != "" {
			t.Errorf("the source's database name was kept: %q", got)
		}
	})

	t.Run("every-database", func(t *testing.T) {
		f := f.sub(t)
		vol := f.volume("all", nil)
		res := f.clone(t, f.c, source(mkURL("mysql", "reader", readerPW, ip, "", "ssl=1&connect-timeout=20")), f.myTarget(vol, ""), nil)
		t.Logf("clone of every database: %s in %v (%d bytes)", res.Strategy, res.Duration, res.Bytes)
		c := f.mariadb("all", vol)
		sameSums(t, "shop in the clone of every database", f.myChecksums(c), want)
		sameSums(t, "extra in the clone of every database", f.myChecksumsIn(c, "extra"), wantExtra)
		if got := objects(f, c); got != wantObjects {
			t.Errorf("views, triggers, routines, events, view rows: %q, want %q", got, wantObjects)
		}
		if got := f.my(c, "root", myRootPW, "SELECT COUNT(*) FROM mysql.global_priv WHERE User = 'reader'"); got != "0" {
			t.Errorf("the source's account was copied (%s)", got)
		}
	})
}
