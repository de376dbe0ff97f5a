package dbclone

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

// Fuzz targets of what dbclone reads from outside: source URLs (the user's
// environment), seeds (a definitions repo), and what it quotes for SQL and
// the clients' files. `go test` runs each seed corpus as a test; `make
// fuzz` fuzzes each for a while.

// pctAll percent-encodes every byte of s but letters and digits.
func pctAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// distinctive says whether a password is one whose presence in an error
// can only be a leak: long enough, and found in no other part of the URL
// nor in any message template (which hold printable ASCII only).
func distinctive(pw string, others ...string) bool {
	if len(pw) < 4 {
		return false
	}
	rare := false
	for _, r := range pw {
		rare = rare || r < 0x20 || r >= 0x7f
	}
	if !rare {
		return false
	}
	for _, o := range others {
		if strings.Contains(o, pw) {
			return false
		}
	}
	return true
}

// FuzzPostgresURL: parsing a PostgreSQL source URL never panics; an error
// names the variable and never shows the password; a parsed URL's service
// file and password file, read back by libpq's rules, give every
// parameter and the password back, and every line fits libpq's reader.
// The URL is postgresql://USER:PASSWORD@REST with user and password
// percent-encoded (only REST when both are empty).
func FuzzPostgresURL(f *testing.F) {
	for _, c := range [][3]string{
		{"app", "pw", "db.example:5432/shop"},
		{"app", "s3cr#t \"pw\" \\ :?&=%/@", "h1:5432,[::1]:5433/shop?sslmode=verify-full&application_name=a+b"},
		{"r@x", "p\x7fw\x00d", "h/db?options=-c%20a%3Db&target_session_attrs=read-write&ssl=true"},
		{"", "", "postgres://u:p#w?x&y=z:1@h/db"},
		{"", "", "postgresql://u:se/cret@h/db"},
		{"", "", "postgresql://u:se@cret@h/db?password=x"},
		{"", "", "postgresql:///db?host=%2Ftmp&port=,"},
		{"", "", "postgres://[fe80::1%25eth0]:1,[]:2/?hostaddr=10.0.0.1"},
		{"", "", "host=h password=secret"},
		{"", "", "mysql://u:pw@h/db"},
		{"u", "pw\r", "h/db?requiressl=1&connect_timeout=3&sslrootcert=system"},
		{"u", "\xff\xfepw\n", "h/db?service=x"},
		{"u", "pw", "h:0/db?sslkey=rel/key.pem&sslpassword=k%0A"},
		{"u", "pw", "h/db?options=" + strings.Repeat("x", 1100)},
	} {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, user, password, rest string) {
		raw := "postgresql://" + rest
		if user != "" || password != "" {
			raw = "postgresql://" + pctAll(user) + ":" + pctAll(password) + "@" + rest
		}
		u, err := parsePostgresURL(raw, "SRC_URL")
		if err != nil {
			if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "$SRC_URL") {
				t.Fatalf("error %q: want ErrSource naming $SRC_URL", err)
			}
			if distinctive(password, user, rest) && (strings.Contains(err.Error(), password) || strings.Contains(err.Error(), pctAll(password))) {
				t.Fatalf("the error shows the password: %v", err)
			}
			return
		}
		if !strings.Contains(rest, "password") && password != "" && u.password != password {
			t.Fatalf("password %q, want %q", u.password, password)
		}
		if !strings.Contains(rest, "user") && user != "" && u.params["user"] != user {
			t.Fatalf("user %q, want %q", u.params["user"], user)
		}
		svc := u.serviceFile()
		for _, l := range strings.Split(strings.TrimSuffix(svc, "\n"), "\n") {
			if len(l) > pgServiceLineMax {
				t.Fatalf("a service file line of %d bytes", len(l))
			}
		}
		got, err := readServiceFile(svc, "berth")
		if err != nil {
			t.Fatalf("libpq would not read the service file: %v\n%s", err, svc)
		}
		for k, v := range u.params {
			if pgParams[k] == pgFile && !(k == "sslrootcert" && v == "system") {
				v = "/berth/in/" + pgFilePrefix + k
			}
			if got[k] != v {
				t.Fatalf("parameter %s reads back as %q, want %q", k, got[k], v)
			}
		}
		if u.password == "" {
			if _, ok := got["passfile"]; ok {
				t.Fatal("a password file without a password")
			}
			return
		}
		if _, ok := got["password"]; ok {
			t.Fatal("the service file holds the password")
		}
		if got["passfile"] != "/berth/in/"+pgPassName {
			t.Fatalf("passfile %q", got["passfile"])
		}
		host, _, _ := strings.Cut(u.params["host"], ",")
		pw, ok := readPassFile(u.passFile(), host, "5432", u.params["dbname"], u.params["user"])
		if !ok || pw != u.password {
			t.Fatalf("the password file gives %q (%v), want %q", pw, ok, u.password)
		}
	})
}

// readOptionFile reads group of a MariaDB option file as the client's
// option file reader does (mysys my_default.c): lines of at most
// mariadbCnfLineMax bytes; leading white space dropped; # and ; start a
// comment line; # outside quotes ends the line; [GROUP]; NAME=VALUE with
// both trimmed, one pair of quotes around the value removed, then \b \t
// \n \r \s \" \' \\ undone (another \X is kept as is).
func readOptionFile(data, group string) (map[string]string, error) {
	out := map[string]string{}
	in := false
	for n, line := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
		if len(line) > mariadbCnfLineMax {
			return nil, fmt.Errorf("line %d: %d bytes, more than the reader takes", n+1, len(line))
		}
		line = strings.TrimLeft(line, " \t\v\f\r")
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return nil, fmt.Errorf("line %d: no ]", n+1)
			}
			in = strings.TrimSpace(line[1:end]) == group
			continue
		}
		if !in {
			continue
		}
		// a # outside quotes ends the line
		quote, escape := byte(0), false
		for i := 0; i < len(line); i++ {
			c := line[i]
			if (c == '\'' || c == '"') && !escape {
				if quote == 0 {
					quote = c
				} else if quote == c {
					quote = 0
				}
			}
			if quote == 0 && c == '#' {
				line = line[:i]
				break
			}
			escape = quote != 0 && c == '\\' && !escape
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok {
			out[k] = ""
			continue
		}
		v = strings.Trim(v, " \t\v\f\r")
		if len(v) > 1 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] != '\\' || i == len(v)-1 {
				b.WriteByte(v[i])
				continue
			}
			i++
			switch v[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 's':
				b.WriteByte(' ')
			case '"', '\'', '\\':
				b.WriteByte(v[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(v[i])
			}
		}
		out[k] = b.String()
	}
	return out, nil
}

// FuzzMariaDBURL: parsing a MariaDB source URL never panics; an error names
// the variable and never shows the password; a parsed URL written to the
// client option file and read back by the client's rules gives the user,
// password, host, port and TLS settings back. The URL is
// mariadb://USER:PASSWORD@REST with user and password percent-encoded
// (only REST when both are empty).
func FuzzMariaDBURL(f *testing.F) {
	for _, c := range [][3]string{
		{"app", "pw", "db.example:3307/shop"},
		{"r@x", `s3cr#t "pw" \ @:/?%'&=`, "[::1]:3306/my%20db?ssl=true&ssl-verify-server-cert=1&connect-timeout=3"},
		{"app", "a#b \"c\" \\d\te\n\r\b\v", "h/"},
		{"app", "", "h/shop?ssl=false"},
		{"", "", "mariadb://app:pa@ss@h/shop?ssl=true"},
		{"", "", "mysql://app:12/se@cret@h/shop"},
		{"", "", "mariadb://app:12#secret@h/shop"},
		{"", "", "postgres://u:p@h/db"},
		{"u", "pw", "h:70000/a/b?charset=utf8&ssl=1&ssl=0"},
		{"u", "p\x00w", "h/db"},
		{"u", strings.Repeat("p", 5000), "h/db"},
		{"u", "pw", strings.Repeat("h", 4100) + "/db"},
	} {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, user, password, rest string) {
		raw := "mariadb://" + rest
		if user != "" || password != "" {
			raw = "mariadb://" + pctAll(user) + ":" + pctAll(password) + "@" + rest
		}
		m, err := parseMariaDBURL(raw, "SRC_URL")
		if err != nil {
			if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "$SRC_URL") {
				t.Fatalf("error %q: want ErrSource naming $SRC_URL", err)
			}
			if distinctive(password, user, rest) && (strings.Contains(err.Error(), password) || strings.Contains(err.Error(), pctAll(password))) {
				t.Fatalf("the error shows the password: %v", err)
			}
			return
		}
		if m.user == "" || m.host == "" || m.port < 1 || m.port > 65535 {
			t.Fatalf("parsed %+v", m)
		}
		cnf := m.optionFile()
		client, err := readOptionFile(cnf, "client")
		if err != nil {
			t.Fatalf("the client would not read the option file: %v", err)
		}
		want := map[string]string{"protocol": "tcp", "host": m.host, "port": strconv.Itoa(m.port), "user": m.user}
		if m.hasPassword {
			want["password"] = m.password
		}
		if m.ssl != "" {
			want["ssl"] = m.ssl
		}
		if m.verify != "" {
			want["ssl-verify-server-cert"] = m.verify
		}
		if len(client) != len(want) {
			t.Fatalf("[client] reads back as %q, want %q", client, want)
		}
		for k, v := range want {
			if client[k] != v {
				t.Fatalf("%s reads back as %q, want %q", k, client[k], v)
			}
		}
		mc, _ := readOptionFile(cnf, "mariadb-client")
		if mc["connect-timeout"] != strconv.Itoa(m.timeout) {
			t.Fatalf("connect-timeout reads back as %q", mc["connect-timeout"])
		}
	})
}

// unquoteString reads a MariaDB string literal at the start of s (quotes
// ', backslash escapes on) as the server's lexer does, returning its value
// and the rest of s after it.
func unquoteString(s string) (string, string, error) {
	if !strings.HasPrefix(s, "'") {
		return "", s, errors.New("no opening quote")
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) {
				return "", "", errors.New("a backslash at the end")
			}
			i++
			switch s[i] {
			case '0':
				b.WriteByte(0)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			case 'Z':
				b.WriteByte(0x1a)
			case '%', '_':
				b.WriteByte('\\')
				b.WriteByte(s[i])
			default:
				b.WriteByte(s[i])
			}
		case '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("no closing quote")
}

// unquoteIdent reads a MariaDB quoted identifier at the start of s.
func unquoteIdent(s string) (string, string, error) {
	if !strings.HasPrefix(s, "`") {
		return "", s, errors.New("no opening backtick")
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '`' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '`' {
			b.WriteByte('`')
			i++
			continue
		}
		return b.String(), s[i+1:], nil
	}
	return "", "", errors.New("no closing backtick")
}

// FuzzSQLQuote: what dbclone quotes for MariaDB (string literals and
// identifiers in the accounts' SQL, values in an option file) reads back
// as exactly what was quoted, and a quoted value followed by more SQL ends
// where it should: nothing in the value can end it early.
func FuzzSQLQuote(f *testing.F) {
	for _, s := range []string{"", "app", "it's", `back\slash`, "a'b\\'c", "nul\x00byte", "new\nline\r", "\x1a", "`tick`", "'; DROP DATABASE x; --", `\%_`, "é\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, rest, err := unquoteString(sqlString(s) + " AND 1")
		if err != nil || v != s || rest != " AND 1" {
			t.Fatalf("sqlString(%q) = %s reads back as %q, rest %q (%v)", s, sqlString(s), v, rest, err)
		}
		v, rest, err = unquoteIdent(sqlIdent(s) + ".t")
		if err != nil || v != s || rest != ".t" {
			t.Fatalf("sqlIdent(%q) = %s reads back as %q, rest %q (%v)", s, sqlIdent(s), v, rest, err)
		}
		// A line the client reads whole: parseMariaDBURL refuses values
		// whose quoted line is longer (escapes can double a value).
		if line := "user=" + cnfValue(s) + " # comment"; len(line) <= mariadbCnfLineMax {
			got, err := readOptionFile("[client]\n"+line+"\n", "client")
			if err != nil || got["user"] != s {
				t.Fatalf("cnfValue(%q) = %s reads back as %q (%v)", s, cnfValue(s), got["user"], err)
			}
		}
	})
}

// FuzzInspectSeed: whatever a seed file holds, InspectSeed never panics
// nor reads more than it needs; its checksum and size are the file's; it
// names the compression by the magic bytes, a custom format only for a
// PGDMP archive, and refuses (ErrSource) what it cannot read; a wrong
// expected checksum is refused.
func FuzzInspectSeed(f *testing.F) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte("-- PostgreSQL database dump\nSELECT 1;\n"))
	w.Close()
	enc, _ := zstd.NewWriter(nil)
	for _, s := range [][]byte{
		[]byte("-- PostgreSQL database dump\nSELECT 1;\n"),
		[]byte("PGDMP\x01\x0e\x00\x04\x08\x01\x01"),
		[]byte("PGDMP\x01\x0f\x00"),
		[]byte("PGDMP\x02"),
		gz.Bytes(),
		gz.Bytes()[:10],
		enc.EncodeAll([]byte("PGDMP\x01\x0e\x00\x04\x08\x01\x01"), nil),
		enc.EncodeAll(bytes.Repeat([]byte("x"), 1<<16), nil),
		{0x28, 0xb5, 0x2f, 0xfd, 0x00},
		{0x1f, 0x8b},
		{},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "seed")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		info, err := InspectSeed(p, "")
		if info.SHA256 != hex.EncodeToString(sum[:]) || info.Size != int64(len(data)) {
			t.Fatalf("checksum %s size %d, want %x %d", info.SHA256, info.Size, sum, len(data))
		}
		switch {
		case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
			if info.Compression != CompressGzip {
				t.Fatalf("compression %q of a gzip file", info.Compression)
			}
		case bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}):
			if info.Compression != CompressZstd {
				t.Fatalf("compression %q of a zstd file", info.Compression)
			}
		default:
			if info.Compression != CompressNone {
				t.Fatalf("compression %q without its magic bytes", info.Compression)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrSource) {
				t.Fatalf("error %v: want ErrSource", err)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error %q is not UTF-8", err)
			}
			return
		}
		switch info.Format {
		case FormatPlain:
		case FormatCustom:
			if info.Compression == CompressNone && !bytes.HasPrefix(data, []byte("PGDMP")) {
				t.Fatal("a custom format without PGDMP")
			}
		default:
			t.Fatalf("format %q of a file", info.Format)
		}
		if _, err := InspectSeed(p, strings.Repeat("0", 64)); !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Fatalf("a wrong checksum: %v", err)
		}
	})
}
