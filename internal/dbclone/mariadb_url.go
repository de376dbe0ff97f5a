package dbclone

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// mariadbURL is a live MariaDB (or MySQL) server's URL, taken apart:
// mariadb://USER[:PASSWORD]@HOST[:PORT][/DATABASE][?PARAMS], or mysql://.
type mariadbURL struct {
	user, host string
	// password is set when hasPassword (it may be empty then).
	password    string
	hasPassword bool
	port        int
	// database is the one database to read; "" for every database but the
	// system ones (mysql, information_schema, performance_schema, sys).
	database string
	// ssl and verify are the client's ssl and ssl-verify-server-cert
	// options: "" (the client's default), "0" or "1".
	ssl, verify string
	// timeout is the connect timeout in seconds.
	timeout int
}

// mariadbDefaultPort is the port a URL without one names.
const mariadbDefaultPort = 3306

// mariadbURLParams are the query parameters a MariaDB source URL may
// carry (see parseMariaDBURL for their values).
var mariadbURLParams = []string{"ssl", "ssl-verify-server-cert", "connect-timeout"}

// mariadbURLForm is the URL's form, for error messages.
const mariadbURLForm = "mariadb://USER:PASSWORD@HOST:PORT/DATABASE (or mysql://; the port defaults to 3306, the database to every one but the system databases)"

// parseMariaDBURL parses raw, the value of the environment variable name.
// Its errors name $name and never show the URL (nor its password).
func parseMariaDBURL(raw, name string) (mariadbURL, error) {
	bad := func(format string, args ...any) (mariadbURL, error) {
		return mariadbURL{}, fmt.Errorf("%w: $%s: %s", ErrSource, name, fmt.Sprintf(format, args...))
	}
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return bad("not a URL of the form %s", mariadbURLForm)
	}
	switch strings.ToLower(scheme) {
	case "mariadb", "mysql":
	case "postgres", "postgresql":
		return bad("a %s:// URL, but this database is mariadb: give a URL of the form %s", strings.ToLower(scheme), mariadbURLForm)
	default:
		return bad("does not start with mariadb:// or mysql:// (the form is %s)", mariadbURLForm)
	}
	// url.Parse's errors quote the URL: they are not passed on.
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a valid URL: characters such as @ : / ? # %% in the user or password must be percent-encoded (%%40 for @, %%23 for #...)")
	}
	// What follows concerns parts a password with an unencoded @ ? / or #
	// spills into: they are described, never shown.
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("holds a #: a # in the user or password must be written %%23")
	}
	if strings.Contains(u.EscapedPath(), "@") || strings.Contains(u.RawQuery, "@") {
		return bad("holds an @ after the host: an @ in the user or password must be written %%40 (and / as %%2F, ? as %%3F)")
	}
	var m mariadbURL
	if u.User != nil {
		m.user = u.User.Username()
		m.password, m.hasPassword = u.User.Password()
	}
	if m.user == "" {
		return bad("names no user (the form is %s)", mariadbURLForm)
	}
	if m.host = u.Hostname(); m.host == "" {
		return bad("names no host (the form is %s)", mariadbURLForm)
	}
	m.port = mariadbDefaultPort
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("its port is not a port number (1 to 65535)")
		}
		m.port = n
	}
	m.database = strings.TrimPrefix(u.Path, "/")
	if strings.Contains(m.database, "/") {
		return bad("its path holds a /: a URL names one database at most (…/DATABASE; a / in the password must be written %%2F)")
	}
	for _, s := range []string{m.user, m.password, m.host, m.database} {
		if strings.ContainsRune(s, 0) {
			return bad("holds a NUL character (%%00)")
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("its query (after ?) is not valid: write it as NAME=VALUE&NAME=VALUE, percent-encoded")
	}
	m.timeout = 15
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(mariadbURLParams, k) {
			return bad("query parameter %q is not supported (a MariaDB source URL takes %s)", k, strings.Join(mariadbURLParams, ", "))
		}
		if len(q[k]) != 1 {
			return bad("query parameter %q is given %d times", k, len(q[k]))
		}
		v := q[k][0]
		switch k {
		case "ssl", "ssl-verify-server-cert":
			var b string
			switch strings.ToLower(v) {
			case "true", "1", "on", "yes":
				b = "1"
			case "false", "0", "off", "no":
				b = "0"
			default:
				return bad("query parameter %s takes true or false", k)
			}
			if k == "ssl" {
				m.ssl = b
			} else {
				m.verify = b
			}
		case "connect-timeout":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 3600 {
				return bad("query parameter connect-timeout takes a number of seconds (1 to 3600)")
			}
			m.timeout = n
		}
	}
	if m.ssl == "0" && m.verify == "1" {
		return bad("ssl=false and ssl-verify-server-cert=true contradict each other")
	}
	for _, v := range []struct{ key, value string }{{"user", m.user}, {"password", m.password}, {"host", m.host}} {
		if n := len(v.key) + 1 + len(cnfValue(v.value)); n > mariadbCnfLineMax {
			return bad("its %s is too long for the client's option file (a line of %d bytes at most once quoted)", v.key, mariadbCnfLineMax)
		}
	}
	return m, nil
}

// mariadbCnfLineMax is the longest option file line the client reads
// whole (mysys reads lines into a 4096-byte buffer with fgets, newline
// included, one byte spare; the rest of a longer line is read as another
// line).
const mariadbCnfLineMax = 4093

// optionFile is the client option file that hands the URL to mariadb and
// mariadb-dump (--defaults-extra-file): [client] is read by both, the
// connect timeout goes to the mariadb client only (mariadb-dump has no
// such option, and an unknown one in its groups is an error).
func (m mariadbURL) optionFile() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[client]\nprotocol=tcp\nhost=%s\nport=%d\nuser=%s\n", cnfValue(m.host), m.port, cnfValue(m.user))
	if m.hasPassword {
		fmt.Fprintf(&b, "password=%s\n", cnfValue(m.password))
	}
	if m.ssl != "" {
		fmt.Fprintf(&b, "ssl=%s\n", m.ssl)
	}
	if m.verify != "" {
		fmt.Fprintf(&b, "ssl-verify-server-cert=%s\n", m.verify)
	}
	fmt.Fprintf(&b, "[mariadb-client]\nconnect-timeout=%d\n", m.timeout)
	return b.String()
}

// cnfValue quotes s for a MariaDB option file: in double quotes, with the
// escapes the option file reader undoes (and a # inside quotes is no
// comment).
func cnfValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\b", `\b`)
	return `"` + r.Replace(s) + `"`
}

// mariadbURLFiles hands a MariaDB URL source to the load script: the
// client option file (source.cnf, mode 600 as every uploaded file), the
// database to read (source-db, empty for all), and the SQL that makes
// that database on the private server when the service names none
// (source.sql). The URL's password is what else output is scrubbed of.
func mariadbURLFiles(src Source, t Target) (map[string]fileSource, []string, error) {
	m, err := parseMariaDBURL(src.URL, src.URLName)
	if err != nil {
		return nil, nil, err
	}
	var pre string
	if m.database != "" && t.Database == "" {
		pre = fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s;\n", sqlIdent(m.database))
	}
	files := map[string]fileSource{
		"source.cnf": {data: []byte(m.optionFile())},
		"source-db":  {data: []byte(m.database)},
		"source.sql": {data: []byte(pre)},
	}
	var secrets []string
	if m.hasPassword {
		secrets = append(secrets, m.password, url.QueryEscape(m.password), url.PathEscape(m.password))
	}
	return files, secrets, nil
}
