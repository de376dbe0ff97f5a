package dbclone

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A PostgreSQL url source is read with pg_dump in a helper container. Its
// URL holds a password, and a process's arguments are readable by every
// user of the engine's host (ps), so the URL is taken apart here, by
// libpq's own rules, and handed over as files: a libpq service file
// (PGSERVICEFILE, service=berth) with the connection parameters and a
// password file with the password, both mode 600 and owned by the user
// pg_dump runs as. pg_dump's arguments name the service only.

// pgURL is a PostgreSQL source URL taken apart:
// postgresql://[USER[:PASSWORD]@][HOST[:PORT][,HOST[:PORT]...]][/DBNAME][?PARAM=VALUE&...]
// (or postgres://), percent-decoded.
type pgURL struct {
	// params are the connection parameters but the password, by libpq
	// keyword.
	params map[string]string
	// password is the password ("" for none: libpq keeps no empty one);
	// written is the form the URL gave it in.
	password, written string
}

// pgURLForm is the URL's form, for error messages.
const pgURLForm = "postgresql://USER:PASSWORD@HOST:PORT/DATABASE?PARAM=VALUE (or postgres://; several hosts as HOST1:PORT1,HOST2:PORT2, an IPv6 address in [ ])"

// pgParam says how a libpq connection parameter is handed to the helper.
type pgParam int

const (
	pgPlain  pgParam = iota // into the service file
	pgSecret                // into the service file, and scrubbed from output
	pgFile                  // a file on this machine: uploaded, the service file names the copy
	pgRefuse                // not taken (see pgRefused)
)

// pgParams are libpq's connection parameters (PostgreSQL 18's; an older
// image's libpq refuses those it does not know, see loadError).
var pgParams = map[string]pgParam{
	"host": pgPlain, "hostaddr": pgPlain, "port": pgPlain, "dbname": pgPlain, "user": pgPlain, "password": pgSecret,
	"passfile": pgRefuse, "service": pgRefuse, "require_auth": pgPlain, "channel_binding": pgPlain,
	"connect_timeout": pgPlain, "client_encoding": pgPlain, "options": pgPlain, "application_name": pgPlain,
	"fallback_application_name": pgPlain, "keepalives": pgPlain, "keepalives_idle": pgPlain,
	"keepalives_interval": pgPlain, "keepalives_count": pgPlain, "tcp_user_timeout": pgPlain, "replication": pgPlain,
	"gssencmode": pgPlain, "sslmode": pgPlain, "requiressl": pgPlain, "sslnegotiation": pgPlain, "sslcompression": pgPlain,
	"sslcert": pgFile, "sslkey": pgFile, "sslrootcert": pgFile, "sslcrl": pgFile, "sslcrldir": pgFile,
	"sslkeylogfile": pgRefuse, "sslpassword": pgSecret, "sslcertmode": pgPlain, "sslsni": pgPlain,
	"requirepeer": pgPlain, "ssl_min_protocol_version": pgPlain, "ssl_max_protocol_version": pgPlain,
	"min_protocol_version": pgPlain, "max_protocol_version": pgPlain, "krbsrvname": pgPlain, "gsslib": pgPlain,
	"gssdelegation": pgPlain, "target_session_attrs": pgPlain, "load_balance_hosts": pgPlain,
	"scram_client_key": pgSecret, "scram_server_key": pgSecret,
	"oauth_issuer": pgPlain, "oauth_client_id": pgPlain, "oauth_client_secret": pgSecret, "oauth_scope": pgPlain,
}

// pgRefused says why a parameter is not taken.
var pgRefused = map[string]string{
	"service":       "names a service of a pg_service.conf on this machine, which the helper container does not see: give the connection parameters in the URL",
	"passfile":      "names a password file on this machine: give the password in the URL (Berth hands it over in a password file of its own)",
	"sslkeylogfile": "would write the TLS session keys to a file: not taken",
}

// pgServiceLineMax is the longest line libpq reads in a service file
// (PostgreSQL 15's reader: a 1024-byte buffer, newline included, one
// byte spare).
const pgServiceLineMax = 1021

// Where the files go in the helper (under /berth/in).
const (
	pgServiceName = "pg_service.conf"
	pgPassName    = "pgpass"
	pgFilePrefix  = "pg-" // pg-sslrootcert ...
)

// parsePostgresURL parses raw, the value of the environment variable name,
// the way libpq parses a connection URI: the user information runs to the
// first @ before any /, the user to its first colon; hosts are separated
// by commas, an IPv6 address is written in brackets; the database runs to
// the ?; every part and every query parameter is percent-decoded (+ is a
// +), %00 is refused; a query parameter must be one of libpq's, given as
// NAME=VALUE, a later one overrides an earlier (and the URL's own user,
// password, hosts, ports and database); ssl=true means sslmode=require.
// Its errors name $name and never show the URL, its password, nor any part
// a password left unencoded could have spilled into.
func parsePostgresURL(raw, name string) (pgURL, error) {
	bad := func(format string, args ...any) (pgURL, error) {
		return pgURL{}, fmt.Errorf("%w: $%s: %s", ErrSource, name, fmt.Sprintf(format, args...))
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		if strings.Contains(raw, "=") {
			return bad("a key=value connection string: give a URL of the form %s", pgURLForm)
		}
		return bad("not a URL of the form %s", pgURLForm)
	}
	switch strings.ToLower(scheme) {
	case "postgresql", "postgres":
	case "mariadb", "mysql":
		return bad("a %s:// URL, but this database is postgres: give a URL of the form %s", strings.ToLower(scheme), pgURLForm)
	default:
		return bad("does not start with postgresql:// or postgres:// (the form is %s)", pgURLForm)
	}
	if strings.IndexByte(raw, 0) >= 0 {
		return bad("holds a NUL character")
	}
	u := pgURL{params: map[string]string{}}
	// The parts are stored raw and decoded after the parse, as libpq does
	// (a decoding error names the part, never shows it).
	raws := map[string]string{}
	p := 0
	// user information: up to the first @ before any /
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		userinfo := rest[:i]
		user, pw, hasPW := strings.Cut(userinfo, ":")
		if user != "" {
			raws["user"] = user
		}
		if hasPW && pw != "" {
			raws["password"] = pw
		}
		p = i + 1
	}
	// hosts and ports
	var hosts, ports strings.Builder
	next := byte(0)
	for {
		var host string
		if p < len(rest) && rest[p] == '[' {
			end := strings.IndexByte(rest[p+1:], ']')
			if end < 0 {
				return bad("an IPv6 address opened with [ is not closed with ]")
			}
			if end == 0 {
				return bad("holds an empty IPv6 address []")
			}
			host = rest[p+1 : p+1+end]
			p += end + 2
			if p < len(rest) && !strings.ContainsRune(":/?,", rune(rest[p])) {
				return bad("an IPv6 address in [ ] is followed by something other than :PORT, /, ? or a comma")
			}
		} else {
			end := strings.IndexAny(rest[p:], ":/?,")
			if end < 0 {
				end = len(rest) - p
			}
			host = rest[p : p+end]
			p += end
		}
		hosts.WriteString(host)
		next = at(rest, p)
		if next == ':' {
			p++
			end := strings.IndexAny(rest[p:], "/?,")
			if end < 0 {
				end = len(rest) - p
			}
			ports.WriteString(rest[p : p+end])
			p += end
			next = at(rest, p)
		}
		if next != ',' {
			break
		}
		p++
		hosts.WriteByte(',')
		ports.WriteByte(',')
	}
	if hosts.Len() > 0 {
		raws["host"] = hosts.String()
	}
	if ports.Len() > 0 {
		raws["port"] = ports.String()
	}
	// the database, up to the query
	if next != 0 && next != '?' {
		p++
		end := strings.IndexByte(rest[p:], '?')
		if end < 0 {
			end = len(rest) - p
		}
		if db := rest[p : p+end]; db != "" {
			raws["dbname"] = db
		}
		p += end
		next = at(rest, p)
	}
	// A password with an unencoded / or @ ends the user information early
	// (or late): what follows the host then holds an @.
	for _, part := range []string{raws["host"], raws["port"], raws["dbname"], rest[min(p, len(rest)):]} {
		if strings.Contains(part, "@") {
			return bad("holds an @ after the user information: an @ or / in the user or password must be percent-encoded (%%40, %%2F), and so must an @ in the hosts, database or parameters")
		}
	}
	for _, k := range []string{"user", "password", "host", "port", "dbname"} {
		if r, ok := raws[k]; ok {
			v, err := pgDecode(r)
			if err != nil {
				return bad("its %s %v", pgPartName(k), err)
			}
			u.params[k] = v
		}
	}
	// query parameters
	if next == '?' {
		query := rest[p+1:]
		n := 0
		for query != "" {
			n++
			pair, more, _ := strings.Cut(query, "&")
			query = more
			k, v, ok := strings.Cut(pair, "=")
			if !ok {
				return bad("query parameter %d has no = (the query is NAME=VALUE&NAME=VALUE)", n)
			}
			if strings.Contains(v, "=") {
				return bad("query parameter %d holds a second = (percent-encode an = in a value as %%3D)", n)
			}
			key, err := pgDecode(k)
			if err != nil {
				return bad("query parameter %d's name %v", n, err)
			}
			val, err := pgDecode(v)
			if err != nil {
				return bad("query parameter %d's value %v", n, err)
			}
			if key == "ssl" && val == "true" { // as libpq does, for JDBC's sake
				key, val = "sslmode", "require"
			}
			if _, known := pgParams[key]; !known {
				if pgKeywordShape(key) {
					return bad("query parameter %q is not a libpq connection parameter", key)
				}
				return bad("query parameter %d is not a libpq connection parameter", n)
			}
			if key == "requiressl" { // as libpq does
				key, val = "sslmode", map[bool]string{true: "require", false: "prefer"}[strings.HasPrefix(val, "1")]
			}
			u.params[key] = val
			if key == "password" {
				raws["password"] = v
			}
		}
	}
	if pw, ok := u.params["password"]; ok {
		u.password, u.written = pw, raws["password"]
		delete(u.params, "password")
	}
	return u, u.check(bad)
}

// at is s[i], or 0 past its end.
func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func pgPartName(k string) string {
	switch k {
	case "host":
		return "host list"
	case "port":
		return "port list"
	case "dbname":
		return "database"
	}
	return k
}

// pgKeywordShape says whether s looks like a parameter name (and not like
// a fragment of a password, which is never shown).
func pgKeywordShape(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || r == '-' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// pgDecode percent-decodes s as libpq does: %XX is a byte, %00 and a
// malformed escape are refused, every other byte (+ too) is itself.
func pgDecode(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+3 > len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
			return "", fmt.Errorf("holds a malformed percent-encoding (%% must be followed by two hex digits)")
		}
		c := byte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		if c == 0 {
			return "", fmt.Errorf("holds %%00, which libpq refuses")
		}
		b.WriteByte(c)
		i += 2
	}
	return b.String(), nil
}

// unhex is the value of a hex digit, -1 for another byte.
func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// check refuses what the helper cannot be given: no host, a Unix socket,
// ports that do not match the hosts, parameters that name this machine's
// files or services, and values a service file or a password file cannot
// hold.
func (u pgURL) check(bad func(string, ...any) (pgURL, error)) error {
	fail := func(format string, args ...any) error {
		_, err := bad(format, args...)
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(u.params)) {
		if pgParams[k] == pgRefuse {
			return fail("the %s parameter %s", k, pgRefused[k])
		}
	}
	hosts, hasHost := u.params["host"]
	addrs, hasAddr := u.params["hostaddr"]
	if (!hasHost || hosts == "") && (!hasAddr || addrs == "") {
		return fail("names no host (the form is %s)", pgURLForm)
	}
	count := 0
	if hasHost {
		hs := strings.Split(hosts, ",")
		count = len(hs)
		for i, h := range hs {
			if strings.HasPrefix(h, "/") || strings.HasPrefix(h, "@") {
				return fail("host %d is a Unix socket, which the helper container cannot reach: give a host name or address", i+1)
			}
			if h == "" && !hasAddr {
				return fail("host %d is empty", i+1)
			}
		}
	}
	if hasAddr {
		count = max(count, len(strings.Split(addrs, ",")))
	}
	if ports, ok := u.params["port"]; ok {
		ps := strings.Split(ports, ",")
		if len(ps) != 1 && len(ps) != count {
			return fail("gives %d ports for %d hosts (one port for all, or one per host)", len(ps), count)
		}
		for i, p := range ps {
			if p == "" {
				continue
			}
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return fail("port %d is not a port number (1 to 65535)", i+1)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(u.params)) {
		v := u.params[k]
		switch {
		case strings.ContainsAny(v, "\n\r"):
			return fail("the %s parameter holds a line break, which a libpq service file cannot hold", k)
		case v != "" && strings.ContainsRune(" \t\v\f", rune(v[len(v)-1])):
			return fail("the %s parameter ends with a space, which a libpq service file drops", k)
		case len(k)+1+len(v) > pgServiceLineMax:
			return fail("the %s parameter is too long for a libpq service file (%d bytes at most)", k, pgServiceLineMax-len(k)-1)
		}
		if pgParams[k] == pgFile && !(k == "sslrootcert" && v == "system") && !filepath.IsAbs(v) {
			return fail("the %s parameter must be an absolute path on this machine (Berth uploads the file into the helper)", k)
		}
	}
	if strings.Contains(u.password, "\n") || strings.HasSuffix(u.password, "\r") {
		return fail("the password holds a line break, which libpq cannot read from a password file")
	}
	return nil
}

// serviceFile is the libpq service file of u, service "berth": one
// KEY=VALUE line per parameter (a value runs to the end of its line), the
// password file named by passfile when there is a password, and a 15 s
// connect timeout unless the URL sets one. files maps each parameter that
// names a file on this machine to the copy the helper gets.
func (u pgURL) serviceFile() string {
	params := make(map[string]string, len(u.params)+2)
	for k, v := range u.params {
		if pgParams[k] == pgFile && !(k == "sslrootcert" && v == "system") {
			v = "/berth/in/" + pgFilePrefix + k
		}
		params[k] = v
	}
	if _, ok := params["connect_timeout"]; !ok {
		params["connect_timeout"] = "15"
	}
	if u.password != "" {
		params["passfile"] = "/berth/in/" + pgPassName
	}
	var b strings.Builder
	b.WriteString("[berth]\n")
	for _, k := range slices.Sorted(maps.Keys(params)) {
		fmt.Fprintf(&b, "%s=%s\n", k, params[k])
	}
	return b.String()
}

// passFile is the libpq password file holding u's password for any host,
// port, database and user (\ and : escaped).
func (u pgURL) passFile() string {
	return "*:*:*:*:" + strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(u.password) + "\n"
}

// pgURLFiles hands a PostgreSQL URL source to the load script: the service
// file, the password file and the files the URL names (certificates, a
// key, revocation lists), and what output is scrubbed of (the URL's
// secrets, decoded and encoded).
func pgURLFiles(src Source, _ Target) (map[string]fileSource, []string, error) {
	u, err := parsePostgresURL(src.URL, src.URLName)
	if err != nil {
		return nil, nil, err
	}
	files := map[string]fileSource{pgServiceName: {data: []byte(u.serviceFile())}}
	if u.password != "" {
		files[pgPassName] = fileSource{data: []byte(u.passFile())}
	}
	for k, v := range u.params {
		if pgParams[k] != pgFile || (k == "sslrootcert" && v == "system") {
			continue
		}
		if _, err := os.Stat(v); err != nil {
			return nil, nil, fmt.Errorf("%w: $%s: the %s parameter names %s, which cannot be read here: %v", ErrSource, src.URLName, k, v, err)
		}
		files[pgFilePrefix+k] = fileSource{path: v}
	}
	var secrets []string
	for k, v := range u.params {
		if pgParams[k] == pgSecret && v != "" {
			secrets = append(secrets, v, url.QueryEscape(v), url.PathEscape(v))
		}
	}
	if u.password != "" {
		secrets = append(secrets, u.password, u.written, url.QueryEscape(u.password), url.PathEscape(u.password))
	}
	return files, secrets, nil
}
