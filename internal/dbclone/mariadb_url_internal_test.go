package dbclone

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestMariaDBURLParse takes MariaDB source URLs apart, and refuses bad
// ones with errors that name the variable and never show the password.
func TestMariaDBURLParse(t *testing.T) {
	const pw = "s3cr#t \"pw\" \\ @:/?%"
	good := []struct {
		raw  string
		want mariadbURL
	}{
		{"mariadb://app:pw@db.example:3307/shop", mariadbURL{user: "app", password: "pw", hasPassword: true, host: "db.example", port: 3307, database: "shop", timeout: 15}},
		{"mysql://app@10.0.0.5", mariadbURL{user: "app", host: "10.0.0.5", port: 3306, timeout: 15}},
		{"MariaDB://app:@h/", mariadbURL{user: "app", hasPassword: true, host: "h", port: 3306, timeout: 15}},
		{"mariadb://r%40x:" + escapePW(pw) + "@[::1]:3306/my%20db?ssl=true&ssl-verify-server-cert=1&connect-timeout=3",
			mariadbURL{user: "r@x", password: pw, hasPassword: true, host: "::1", port: 3306, database: "my db", ssl: "1", verify: "1", timeout: 3}},
		{"mysql://app:pw@h/shop?ssl=false", mariadbURL{user: "app", password: "pw", hasPassword: true, host: "h", port: 3306, database: "shop", ssl: "0", timeout: 15}},
	}
	for _, c := range good {
		got, err := parseMariaDBURL(c.raw, "SRC_URL")
		if err != nil {
			t.Errorf("%s: %v", c.raw, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.raw, got, c.want)
		}
	}

	bad := []struct{ raw, msg string }{
		{"shop-db:3306", "not a URL of the form mariadb://"},
		{"postgres://app:" + escapePW(pw) + "@h/shop", "a postgres:// URL, but this database is mariadb"},
		{"http://app:" + escapePW(pw) + "@h/shop", "does not start with mariadb:// or mysql://"},
		{"mariadb://:" + escapePW(pw) + "@h/shop", "names no user"},
		{"mariadb://app:" + escapePW(pw) + "@:3306/shop", "names no host"},
		{"mariadb://app:" + escapePW(pw) + "@h:70000/shop", "its port is not a port number"},
		{"mariadb://app:" + escapePW(pw) + "@h/shop/more", "one database at most"},
		{"mariadb://app:" + escapePW(pw) + "@h/shop?charset=utf8", `query parameter "charset" is not supported (a MariaDB source URL takes ssl, ssl-verify-server-cert, connect-timeout)`},
		{"mariadb://app:" + escapePW(pw) + "@h/shop?ssl=maybe", "ssl takes true or false"},
		{"mariadb://app:" + escapePW(pw) + "@h/shop?ssl=1&ssl=0", `"ssl" is given 2 times`},
		{"mariadb://app:" + escapePW(pw) + "@h/shop?connect-timeout=soon", "connect-timeout takes a number of seconds"},
		{"mariadb://app:" + escapePW(pw) + "@h/shop?ssl=false&ssl-verify-server-cert=true", "contradict"},
		{"mariadb://app:" + escapePW(pw) + "@h/shop?x=%zz", "its query (after ?) is not valid"},
		// a password left unencoded spills into the host, path, query or fragment
		{"mariadb://app:" + pw + "@h/shop", "not a valid URL"},
		{"mariadb://app:12#secret@h/shop", "holds a #"},
		{"mariadb://app:pa@ss@h/shop?ssl=true", ""}, // Go splits at the last @: a valid URL
		{"mariadb://app:12/se@cret@h/shop", "holds an @ after the host"},
		{"mariadb://app:12?se@cret@h/shop", "holds an @ after the host"},
		{"mariadb://app:pa%zzss@h/shop", "not a valid URL"},
	}
	for _, c := range bad {
		_, err := parseMariaDBURL(c.raw, "SRC_URL")
		if c.msg == "" {
			if err != nil {
				t.Errorf("%s: %v", c.raw, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", c.raw)
			continue
		}
		if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "$SRC_URL") || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %q, want ErrSource naming $SRC_URL and saying %q", c.raw, err, c.msg)
		}
		for _, secret := range []string{pw, escapePW(pw), "s3cr", "secret", "se@cret", "pa%zz", "12"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error shows %q: %v", c.raw, secret, err)
			}
		}
	}
}

// escapePW percent-encodes a password for a URL's user information.
func escapePW(s string) string {
	var b strings.Builder
	for _, r := range []byte(s) {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteByte(r)
		} else {
			fmt.Fprintf(&b, "%%%02X", r)
		}
	}
	return b.String()
}

// TestMariaDBURLOptionFile: the client option file holds the URL's parts,
// quoted so that the option file reader gives back every character.
func TestMariaDBURLOptionFile(t *testing.T) {
	m := mariadbURL{user: `r"x`, password: "a#b \"c\" \\d\te\n", hasPassword: true, host: "db", port: 3307, ssl: "1", verify: "0", timeout: 7}
	want := "[client]\nprotocol=tcp\nhost=\"db\"\nport=3307\nuser=\"r\\\"x\"\npassword=\"a#b \\\"c\\\" \\\\d\\te\\n\"\nssl=1\nssl-verify-server-cert=0\n" +
		"[mariadb-client]\nconnect-timeout=7\n"
	if got := m.optionFile(); got != want {
		t.Errorf("option file:\n%s\nwant:\n%s", got, want)
	}
	// no password: no password line (the client then sends none)
	m = mariadbURL{user: "app", host: "db", port: 3306, timeout: 15}
	if got := m.optionFile(); strings.Contains(got, "password") || strings.Contains(got, "ssl") {
		t.Errorf("option file without a password or TLS settings:\n%s", got)
	}
}
