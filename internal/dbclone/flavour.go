package dbclone

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Database engines a Target may name.
const (
	EnginePostgres = "postgres"
	EngineMariaDB  = "mariadb"
)

// flavour is what dbclone does differently for one database engine: how a
// golden copy is loaded, how a logical copy is made, which seeds it takes.
// Copies of a cleanly stopped server's data folder (copy-on-write or a
// plain file copy) are the same for every engine.
type flavour struct {
	engine string
	// formats are the seed formats it loads.
	formats []string
	// load is the load script (see loadScript); logical the logical copy
	// script ("" when there is none yet).
	load, logical string
	// env is the scripts' non-secret environment; files the files (secrets
	// among them) uploaded to /berth/in; secrets what output is scrubbed of.
	env     func(t Target) []string
	files   func(t Target) map[string]fileSource
	secrets func(t Target) []string
	// keyExtra is what, besides the service's user, database and password,
	// a golden copy is keyed by ("" for PostgreSQL, whose keys predate it).
	keyExtra func(t Target) string
	// url checks a live database's URL (src.URL, from $src.URLName) and
	// returns the files that hand it to the load script (under /berth/in;
	// never in its environment or arguments) and what else the load's
	// output is scrubbed of. Its errors never show the URL's password.
	url func(src Source, t Target) (files map[string]fileSource, secrets []string, err error)
	// loadError explains a failed load.
	loadError func(src Source, step, out string) error
}

var flavours = map[string]*flavour{
	EnginePostgres: {
		engine:  EnginePostgres,
		formats: []string{FormatPlain, FormatCustom, FormatDirectory},
		load:    loadScript, logical: logicalScript,
		env: pgEnv,
		files: func(t Target) map[string]fileSource {
			return map[string]fileSource{"password": {data: []byte(t.Password)}, "restrict-key": {data: []byte(restrictKey())}}
		},
		secrets:   func(t Target) []string { return []string{t.Password} },
		keyExtra:  func(Target) string { return "" },
		url:       pgURLFiles,
		loadError: loadError,
	},
	EngineMariaDB: {
		engine:  EngineMariaDB,
		formats: []string{FormatPlain},
		load:    mariadbLoadScript, logical: mariadbLogicalScript,
		env: func(t Target) []string {
			return []string{"MY_DB=" + t.Database, "REL=" + relData(t)}
		},
		files:     mariadbFiles,
		secrets:   func(t Target) []string { return []string{t.Password, t.RootPassword} },
		keyExtra:  mariadbKeyExtra,
		url:       mariadbURLFiles,
		loadError: mariadbLoadError,
	},
}

// mariadbKeyExtra keys a MariaDB golden copy by root's password (hashed)
// or, for a random one, by the fact that it is random: the random value
// itself is made anew for each copy, so it cannot be part of a key that
// must stay the same from one load to the next. A root host other than the
// default "%" is part of the key too (only then, so that the keys of
// copies loaded before it was are unchanged).
func mariadbKeyExtra(t Target) string {
	root := fmt.Sprintf("%x", sha256.Sum256([]byte(t.RootPassword)))
	if t.RandomRoot {
		root = "random"
	}
	x := EngineMariaDB + "\x00" + root
	if h := rootHost(t); h != "%" {
		x += "\x00host\x00" + h
	}
	return x
}

// rootHost is where root may connect from besides localhost.
func rootHost(t Target) string { return cmp.Or(t.RootHost, "%") }

// defaultMountDir is the image's data folder, where Target.MountDir
// defaults.
func defaultMountDir(engine string) string {
	if engine == EngineMariaDB {
		return "/var/lib/mysql"
	}
	return "/var/lib/postgresql/data"
}

// flavourOf returns the flavour of t's engine ("" is PostgreSQL).
func flavourOf(t Target) (*flavour, error) {
	fl, ok := flavours[cmp.Or(t.Engine, EnginePostgres)]
	if !ok {
		return nil, fmt.Errorf("database engine %q is not supported (postgres and mariadb are)", t.Engine)
	}
	return fl, nil
}

// checkFormat refuses a seed the flavour cannot load.
func (fl *flavour) checkFormat(seed SeedInfo) error {
	if slices.Contains(fl.formats, seed.Format) {
		return nil
	}
	return fmt.Errorf("%w: seed %s is a pg_dump %s-format archive, which only PostgreSQL reads: a %s database loads plain SQL (mariadb-dump's output, maybe gzip or zstd compressed)",
		ErrSource, filepath.Base(seed.Path), seed.Format, fl.engine)
}

// mariadbFiles are the SQL run before the seed (the service's database)
// and after it (the service's accounts, as the image's entrypoint would
// make them), and the health check's client settings. For a random root
// password, t.RootPassword is the one Berth made for this load (see
// withRandomRoot).
func mariadbFiles(t Target) map[string]fileSource {
	var pre, post strings.Builder
	if t.Database != "" {
		fmt.Fprintf(&pre, "CREATE DATABASE IF NOT EXISTS %s;\n", sqlIdent(t.Database))
	}
	hc := randomHex(16)
	fmt.Fprintf(&post, "SET @@SESSION.SQL_LOG_BIN=0;\n")
	// mariadb-install-db also makes password-less root accounts for the
	// helper's host name and loopback addresses: removed, as the image's
	// entrypoint does.
	fmt.Fprintf(&post, "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');\nFLUSH PRIVILEGES;\n")
	fmt.Fprintf(&post, "ALTER USER 'root'@'localhost' IDENTIFIED BY %s;\n", sqlString(t.RootPassword))
	if h := sqlString(rootHost(t)); rootHost(t) != "localhost" {
		fmt.Fprintf(&post, "CREATE OR REPLACE USER 'root'@%s IDENTIFIED BY %s;\n", h, sqlString(t.RootPassword))
		fmt.Fprintf(&post, "GRANT ALL ON *.* TO 'root'@%s WITH GRANT OPTION;\nGRANT PROXY ON ''@'%%' TO 'root'@%s WITH GRANT OPTION;\n", h, h)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		fmt.Fprintf(&post, "CREATE OR REPLACE USER 'healthcheck'@%s IDENTIFIED BY %s;\n", sqlString(h), sqlString(hc))
	}
	if t.User != "" && t.User != "root" {
		fmt.Fprintf(&post, "CREATE USER IF NOT EXISTS %s@'%%';\n", sqlString(t.User))
		fmt.Fprintf(&post, "ALTER USER %s@'%%' IDENTIFIED BY %s;\n", sqlString(t.User), sqlString(t.Password))
		if t.Database != "" {
			fmt.Fprintf(&post, "GRANT ALL ON %s.* TO %s@'%%';\n", sqlIdent(t.Database), sqlString(t.User))
		}
	}
	cnf := fmt.Sprintf("[mariadb-client]\nport=3306\nsocket=/run/mysqld/mysqld.sock\nuser=healthcheck\npassword=%s\nprotocol=socket\n", hc)
	return map[string]fileSource{
		"pre.sql":         {data: []byte(pre.String())},
		"post.sql":        {data: []byte(post.String())},
		"healthcheck.cnf": {data: []byte(cnf)},
	}
}

// noSandboxError refuses an image whose mariadb client has no --sandbox.
func noSandboxError(what, version string) error {
	return fmt.Errorf("%w: %s: the image's mariadb client (%s) has no --sandbox, with which Berth loads seeds and dumps so that no client command in them can run a program or touch a file: use an image of MariaDB 10.5.25, 10.6.18, 10.11.8, 11.0.6, 11.1.5, 11.2.4, 11.4.2 or later",
		ErrSource, what, cmp.Or(version, "version unknown"))
}

// noRestrictError refuses plain SQL where the image's psql has no
// \restrict.
func noRestrictError(what, version string) error {
	return fmt.Errorf("%w: %s is plain SQL, which Berth loads with psql under \\restrict so that no meta-command in it (\\! \\o |... \\copy ... program) can run a program or touch a file, and the image's psql (%s) is older than that (13.22, 14.19, 15.14, 16.10, 17.6, 18): use a newer image of the same major version, or a custom-format dump (pg_dump -Fc), which pg_restore loads without psql",
		ErrSource, what, cmp.Or(version, "version unknown"))
}

// sqlString quotes s as a MariaDB string literal.
func sqlString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`)
	return "'" + r.Replace(s) + "'"
}

// sqlIdent quotes s as a MariaDB identifier.
func sqlIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// mariadbLoadError turns a failed MariaDB load's output into an error that
// says what is wrong with the source.
func mariadbLoadError(src Source, step, out string) error {
	what := src.Name
	tail := lastLines(out, 6)
	if err := seedTooBig(what, out); err != nil {
		return err
	}
	if src.Kind == SourceURL {
		if err := mariadbURLError(src, step, out, tail); err != nil {
			return err
		}
	}
	switch {
	case strings.Contains(out, "berth-error no-sandbox"):
		return noSandboxError(what, lastField(out, "berth-error no-sandbox "))
	case strings.Contains(out, "Not allowed in the sandbox mode"), strings.Contains(out, "Unknown command '\\"):
		return fmt.Errorf("%w: %s holds client commands (\\! system tee source ...), which Berth never runs: a seed must be SQL as mariadb-dump writes it\n%s", ErrSource, what, tail)
	case strings.Contains(out, "berth-error truncated"):
		return fmt.Errorf("%w: %s is truncated: the dump does not end with mariadb-dump's closing line", ErrSource, what)
	case strings.Contains(out, "berth-error newer-major"):
		if f := strings.Fields(lastField(out, "berth-error newer-major ")); len(f) == 2 {
			return fmt.Errorf("%w: %s was dumped from MariaDB %s, newer than the image's MariaDB %s: use a mariadb:%s image (or newer) for this database",
				ErrSource, what, f[0], f[1], f[0])
		}
	case strings.Contains(out, "No space left on device"), strings.Contains(out, "Disk full"), strings.Contains(out, "errno: 28"):
		return fmt.Errorf("%w: loading %s\n%s", ErrNoSpace, what, tail)
	case strings.Contains(out, "unexpected end of file"), strings.Contains(out, "not in gzip format"), strings.Contains(out, "crc error"):
		return fmt.Errorf("%w: %s is corrupt or truncated (gzip)\n%s", ErrSource, what, tail)
	}
	if step == "restoring" || step == "unpacking the seed" {
		return fmt.Errorf("%w: %s could not be loaded (corrupt, truncated or not a MariaDB/MySQL SQL dump?)\n%s", ErrSource, what, tail)
	}
	return fmt.Errorf("loading %s failed while %s\n%s", what, cmp.Or(step, "starting"), tail)
}

// mariadbURLError explains a failed load of a live server by the client
// errors in out (nil when it is none of them): the server's error
// numbers, as mariadb and mariadb-dump print them ("ERROR 1045 (28000):
// ..." and "Got error: 1045: ...").
func mariadbURLError(src Source, step, out, tail string) error {
	what, v := src.Name, "$"+src.URLName
	has := func(codes ...string) bool {
		for _, c := range codes {
			if strings.Contains(out, "ERROR "+c+" ") || strings.Contains(out, "error: "+c+":") {
				return true
			}
		}
		return false
	}
	switch {
	case strings.Contains(out, "berth-error newer-major"):
		if f := strings.Fields(lastField(out, "berth-error newer-major ")); len(f) == 2 {
			return fmt.Errorf("%w: %s runs MariaDB %s, newer than the image's MariaDB %s: use a mariadb:%s image (or newer) for this database",
				ErrSource, what, f[0], f[1], f[0])
		}
	case has("1045", "1698"):
		// MariaDB refuses a connection without TLS that require_secure_transport
		// forbids as it refuses a wrong password.
		hint := ""
		if m, err := parseMariaDBURL(src.URL, src.URLName); err == nil && m.ssl == "0" {
			hint = " (or it accepts TLS connections only: then remove ssl=false from " + v + ")"
		}
		return fmt.Errorf("%w: %s refused the credentials in %s%s\n%s", ErrSource, what, v, hint, tail)
	case has("1049"):
		return fmt.Errorf("%w: %s: the server has no such database (check the database in %s)\n%s", ErrSource, what, v, tail)
	case has("1044") && step == "reading the source database":
		return fmt.Errorf("%w: %s refused the user in %s access to the database\n%s", ErrSource, what, v, tail)
	case has("3159"), strings.Contains(out, "insecure transport are prohibited"): // a MySQL server's answer
		return fmt.Errorf("%w: %s accepts TLS connections only: remove ssl=false from %s\n%s", ErrSource, what, v, tail)
	case has("2026"), strings.Contains(out, "SSL connection error"), strings.Contains(out, "TLS/SSL error"):
		return fmt.Errorf("%w: %s: the TLS connection failed (with ssl-verify-server-cert=true in %s, a certificate the image's CA store does not trust? with ssl=true, a server without TLS?)\n%s",
			ErrSource, what, v, tail)
	case has("2002", "2003", "2005", "2006", "2013"), strings.Contains(out, "Can't connect to"), strings.Contains(out, "Unknown server host"):
		return fmt.Errorf("%w: %s is unreachable from the engine's containers (check the host and port in %s)\n%s", ErrSource, what, v, tail)
	case has("1044", "1142", "1227", "1370") || strings.Contains(out, "Access denied"):
		return fmt.Errorf("%w: %s: the user in %s may not read everything a copy needs (SELECT, SHOW VIEW, TRIGGER and EVENT on the databases copied, and the routines' definitions)\n%s",
			ErrSource, what, v, tail)
	case strings.Contains(out, "No space left on device"), strings.Contains(out, "Disk full"), strings.Contains(out, "errno: 28"):
		return nil
	case step == "reading the source database" || step == "copying the source database":
		return fmt.Errorf("%w: %s could not be copied\n%s", ErrSource, what, tail)
	}
	return nil
}
