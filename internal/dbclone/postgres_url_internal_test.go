package dbclone

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPostgresURLParse takes PostgreSQL source URLs apart by libpq's
// rules, and refuses what the helper cannot be given with errors that name
// the variable and never show the password.
func TestPostgresURLParse(t *testing.T) {
	const pw = `s3cr#t "pw" \ :?&=%`
	enc := escapePW(pw)
	good := []struct {
		raw      string
		params   map[string]string
		password string
	}{
		{"postgres://app:pw@db.example:5433/shop", map[string]string{"user": "app", "host": "db.example", "port": "5433", "dbname": "shop"}, "pw"},
		{"postgresql://app@10.0.0.5", map[string]string{"user": "app", "host": "10.0.0.5"}, ""},
		{"PostgreSQL://app:@h/", map[string]string{"user": "app", "host": "h"}, ""},
		{"postgres://r%40x:" + enc + "@[::1]:5432/my%20db+x?sslmode=verify-full&application_name=a+b%26c",
			map[string]string{"user": "r@x", "host": "::1", "port": "5432", "dbname": "my db+x", "sslmode": "verify-full", "application_name": "a+b&c"}, pw},
		// libpq reads the user information up to the first @ before any
		// /: # ? & = and : need no encoding in a password
		{"postgres://app:p#w?x&y=z:1@h/db", map[string]string{"user": "app", "host": "h", "dbname": "db"}, "p#w?x&y=z:1"},
		{"postgres://app:pw@h1:5432,h2:5433,[fe80::1%25eth0]:5434/db?target_session_attrs=read-write",
			map[string]string{"user": "app", "host": "h1,h2,fe80::1%eth0", "port": "5432,5433,5434", "dbname": "db", "target_session_attrs": "read-write"}, "pw"},
		{"postgres://h1,h2:6000/db", map[string]string{"host": "h1,h2", "port": ",6000", "dbname": "db"}, ""},
		{"postgres://app:pw@h/db?ssl=true", map[string]string{"user": "app", "host": "h", "dbname": "db", "sslmode": "require"}, "pw"},
		{"postgres://app:pw@h/db?requiressl=1&connect_timeout=3", map[string]string{"user": "app", "host": "h", "dbname": "db", "sslmode": "require", "connect_timeout": "3"}, "pw"},
		// query parameters override the URL's parts, a later one an earlier
		{"postgres://app:pw@h/db?user=other&password=" + enc + "&dbname=x&dbname=y&host=g&port=1",
			map[string]string{"user": "other", "host": "g", "port": "1", "dbname": "y"}, pw},
		{"postgres:///db?hostaddr=10.1.2.3&options=-c%20search_path%3Dapp", map[string]string{"hostaddr": "10.1.2.3", "dbname": "db", "options": "-c search_path=app"}, ""},
		{"postgres://app@h?sslrootcert=system&", map[string]string{"user": "app", "host": "h", "sslrootcert": "system"}, ""},
	}
	for _, c := range good {
		got, err := parsePostgresURL(c.raw, "SRC_URL")
		if err != nil {
			t.Errorf("%s: %v", c.raw, err)
			continue
		}
		if !maps.Equal(got.params, c.params) || got.password != c.password {
			t.Errorf("%s:\n got %q password %q\nwant %q password %q", c.raw, got.params, got.password, c.params, c.password)
		}
	}

	bad := []struct{ raw, msg string }{
		{"db.example:5432", "not a URL of the form postgresql://"},
		{"host=h password=" + pw, "a key=value connection string"},
		{"mariadb://app:" + enc + "@h/shop", "a mariadb:// URL, but this database is postgres"},
		{"http://app:" + enc + "@h/shop", "does not start with postgresql:// or postgres://"},
		{"postgres://app:" + enc + "@/shop", "names no host"},
		{"postgres://app:" + enc + "@h,/shop", "host 2 is empty"},
		{"postgres://app:" + enc + "@%2Fvar%2Frun%2Fpostgresql/shop", "host 1 is a Unix socket"},
		{"postgres://app:" + enc + "@[::1/shop", "is not closed"},
		{"postgres://app:" + enc + "@[]:5432/shop", "empty IPv6 address"},
		{"postgres://app:" + enc + "@[::1]x/shop", "followed by something other than"},
		{"postgres://app:" + enc + "@h:70000/shop", "port 1 is not a port number"},
		{"postgres://app:" + enc + "@h:54x/shop", "port 1 is not a port number"},
		{"postgres://app:" + enc + "@h/shop?host=h1,h2,h3&port=1,2", "gives 2 ports for 3 hosts"},
		{"postgres://app:" + enc + "@h/shop?charset=utf8", `query parameter "charset" is not a libpq connection parameter`},
		{"postgres://app:" + enc + "@h/shop?sslmode", "query parameter 1 has no ="},
		{"postgres://app:" + enc + "@h/shop?a=b=c", "query parameter 1 holds a second ="},
		{"postgres://app:" + enc + "@h/shop?sslmode=%zz", "value holds a malformed percent-encoding"},
		{"postgres://app:" + enc + "@h/sh%0", "database holds a malformed percent-encoding"},
		{"postgres://app:" + enc + "@h/shop%00", "database holds %00"},
		{"postgres://app:pa%00ss@h/shop", "password holds %00"},
		{"postgres://app:" + enc + "@h/shop?ssl=false", `query parameter "ssl" is not a libpq connection parameter`},
		{"postgres://app:" + enc + "@h/shop?service=prod", "the service parameter names a service of a pg_service.conf"},
		{"postgres://app:" + enc + "@h/shop?passfile=/home/me/.pgpass", "the passfile parameter names a password file"},
		{"postgres://app:" + enc + "@h/shop?sslkeylogfile=/tmp/k", "the sslkeylogfile parameter would write"},
		{"postgres://app:" + enc + "@h/shop?sslrootcert=ca.pem", "the sslrootcert parameter must be an absolute path"},
		{"postgres://app:" + enc + "@h/shop?application_name=a%0Ab", "the application_name parameter holds a line break"},
		{"postgres://app:" + enc + "@h/shop?application_name=ab%20", "the application_name parameter ends with a space"},
		{"postgres://app:" + enc + "@h/shop?options=" + strings.Repeat("x", 1100), "the options parameter is too long for a libpq service file (1013 bytes at most)"},
		{"postgres://app:pa%0Ass@h/shop", "the password holds a line break"},
		{"postgres://app:pass%0D@h/shop", "the password holds a line break"},
		{"postgres://app:pw@h/shop\x00", "holds a NUL"},
		// a password left unencoded spills into the hosts, database or
		// query: described, never shown
		{"postgres://app:se/cret@h/shop", "holds an @ after the user information"},
		{"postgres://app:se@cret@h/shop", "holds an @ after the user information"},
		{"postgres://app:secretpw/x?secretpw=1@h/shop", "holds an @ after the user information"},
		{"postgres://app:12/sec=ret&x@h/shop?sslmode=require", "holds an @ after the user information"},
		{"postgres://app:" + enc + "@h/shop?s%zzecret=1", "query parameter 1's name holds a malformed percent-encoding"},
		{"postgres://app:" + enc + "@h/shop?SeCrEt.Pw=1", "query parameter 1 is not a libpq connection parameter"},
	}
	for _, c := range bad {
		_, err := parsePostgresURL(c.raw, "SRC_URL")
		if err == nil {
			t.Errorf("%s: accepted", c.raw)
			continue
		}
		if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "$SRC_URL") || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %q, want ErrSource naming $SRC_URL and saying %q", c.raw, err, c.msg)
		}
		for _, secret := range []string{pw, enc, "s3cr", "secret", "cret", "se@", "pa%00", "SeCrEt", "/home/me", "prod"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error shows %q: %v", c.raw, secret, err)
			}
		}
	}
}

// TestPostgresURLFiles: the service file holds every parameter (files
// replaced by their copies in the helper, a connect timeout unless the URL
// sets one, the password file), the password file the password; libpq's
// readers give back every value; nothing but the files carries a secret.
func TestPostgresURLFiles(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	const pw = `p\w:x #"y" `
	raw := "postgres://app:" + escapePW(pw) + "@h1:5432,[::1]:5433/shop?sslmode=verify-full&sslrootcert=" + ca + "&sslpassword=k%3Ay&options=-c%20a%3Db"
	files, secrets, err := pgURLFiles(Source{Kind: "url", URL: raw, URLName: "SRC_URL"}, Target{})
	if err != nil {
		t.Fatal(err)
	}
	want := "[berth]\nconnect_timeout=15\ndbname=shop\nhost=h1,::1\noptions=-c a=b\npassfile=/berth/in/pgpass\nport=5432,5433\n" +
		"sslmode=verify-full\nsslpassword=k:y\nsslrootcert=/berth/in/pg-sslrootcert\nuser=app\n"
	if got := string(files[pgServiceName].data); got != want {
		t.Errorf("service file:\n%s\nwant:\n%s", got, want)
	}
	if got, want := string(files[pgPassName].data), `*:*:*:*:p\\w\:x #"y" `+"\n"; got != want {
		t.Errorf("password file %q, want %q", got, want)
	}
	if files[pgFilePrefix+"sslrootcert"].path != ca {
		t.Errorf("the certificate is not uploaded: %+v", files)
	}
	if len(files) != 3 {
		t.Errorf("files %v", slicesOfKeys(files))
	}
	svc, err := readServiceFile(string(files[pgServiceName].data), "berth")
	if err != nil {
		t.Fatal(err)
	}
	if svc["sslpassword"] != "k:y" || svc["options"] != "-c a=b" || svc["host"] != "h1,::1" {
		t.Errorf("libpq reads the service file as %q", svc)
	}
	if got, ok := readPassFile(string(files[pgPassName].data), "h1", "5432", "shop", "app"); !ok || got != pw {
		t.Errorf("libpq reads the password %q (%v), want %q", got, ok, pw)
	}
	for _, s := range []string{pw, "k:y", escapePW(pw)} {
		found := false
		for _, x := range secrets {
			found = found || x == s
		}
		if !found {
			t.Errorf("output is not scrubbed of %q (secrets %q)", s, secrets)
		}
	}
	for name, f := range files {
		if name != pgServiceName && name != pgPassName && strings.Contains(string(f.data), pw) {
			t.Errorf("%s holds the password", name)
		}
	}
	// a URL's own timeout, no password: no password file
	files, _, err = pgURLFiles(Source{Kind: "url", URL: "postgres://app@h/db?connect_timeout=4", URLName: "SRC_URL"}, Target{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files[pgServiceName].data); got != "[berth]\nconnect_timeout=4\ndbname=db\nhost=h\nuser=app\n" {
		t.Errorf("service file:\n%s", got)
	}
	if _, ok := files[pgPassName]; ok {
		t.Error("a password file without a password")
	}
	// a certificate that is not there
	_, _, err = pgURLFiles(Source{Kind: "url", URL: "postgres://app:" + escapePW(pw) + "@h/db?sslcert=/nonexistent/c.pem", URLName: "SRC_URL"}, Target{})
	if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "/nonexistent/c.pem, which cannot be read here") || strings.Contains(err.Error(), pw) {
		t.Errorf("a missing certificate: %v", err)
	}
}

func slicesOfKeys(m map[string]fileSource) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// readServiceFile reads service from a libpq service file as libpq does
// (PostgreSQL 15's parseServiceFile): a line is at most pgServiceLineMax
// bytes; trailing white space is dropped, then leading; # starts a
// comment line; [NAME] starts a service; KEY=VALUE splits at the first =,
// and the first value of a key counts.
func readServiceFile(data, service string) (map[string]string, error) {
	out := map[string]string{}
	in := false
	for n, line := range strings.SplitAfter(data, "\n") {
		if line == "" {
			continue
		}
		if len(line) > pgServiceLineMax+1 || len(line) == pgServiceLineMax+1 && !strings.HasSuffix(line, "\n") {
			return nil, errors.New("line too long")
		}
		line = strings.TrimRight(line, " \t\n\v\f\r")
		line = strings.TrimLeft(line, " \t\n\v\f\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			name, _, _ := strings.Cut(line[1:], "]")
			in = name == service
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, errors.New("syntax error on line " + string(rune('0'+n)))
		}
		if _, known := pgParams[k]; !known {
			return nil, errors.New("syntax error: unknown keyword " + k)
		}
		if _, seen := out[k]; !seen {
			out[k] = v
		}
	}
	return out, nil
}

// readPassFile finds the password for host, port, database and user in a
// libpq password file as libpq does (passwordFromFile): lines without
// their trailing CR and LF, # comments, fields of * or the value, \
// escaping the next character, the first matching line.
func readPassFile(data, host, port, db, user string) (string, bool) {
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		rest, ok := line, true
		for _, want := range []string{host, port, db, user} {
			if rest, ok = passField(rest, want); !ok {
				break
			}
		}
		if !ok {
			continue
		}
		var b strings.Builder
		for i := 0; i < len(rest) && rest[i] != ':'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
			}
			b.WriteByte(rest[i])
		}
		return b.String(), true
	}
	return "", false
}

// passField matches one field of a password file line against want (pwdfMatchesString).
func passField(line, want string) (string, bool) {
	if strings.HasPrefix(line, "*:") {
		return line[2:], true
	}
	i, j := 0, 0
	for i < len(line) && j < len(want) {
		if line[i] == '\\' && i+1 < len(line) {
			i++
		}
		if line[i] != want[j] {
			return "", false
		}
		i++
		j++
	}
	if j == len(want) && i < len(line) && line[i] == ':' {
		return line[i+1:], true
	}
	return "", false
}
