// Package secret says which values are secrets and masks them wherever
// Berth prints or records anything: drift reports, plans, history, JSON
// output, the UI and the event stream show a mask with a keyed hash
// prefix, so that "changed" stays visible without the value.
package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
)

// secretWords are the parts of a variable name that mark its value as a
// secret.
var secretWords = []string{"PASSWORD", "PASSWD", "PASSPHRASE", "TOKEN", "SECRET", "KEY", "CREDENTIAL", "PRIVATE", "AUTH", "COOKIE", "SESSION", "SALT", "DSN"}

// Name says whether a variable's name marks its value as a secret
// (API_KEY, DB_PASSWORD, GITHUB_TOKEN, ...), and every *_FILE variable,
// whose value points at one.
func Name(name string) bool {
	u := strings.ToUpper(name)
	if strings.HasSuffix(u, "_FILE") {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(u, w) {
			return true
		}
	}
	return false
}

// dsnPassword finds key=value connection strings with a password.
var dsnPassword = regexp.MustCompile(`(?i)(^|[\s;])(password|pwd|passwd)\s*=`)

// Value says whether a value carries credentials whatever its name: a URL
// with a password (postgres://user:pw@host/db) or a connection string
// with password=.
func Value(v string) bool {
	if i := strings.Index(v, "://"); i > 0 {
		if u, err := url.Parse(strings.TrimSpace(v)); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				return true
			}
		} else if at := strings.LastIndex(v, "@"); at > i && strings.Contains(v[i+3:at], ":") {
			return true // user:pw@ in something url.Parse refuses
		}
	}
	return dsnPassword.MatchString(v)
}

// Masker masks values with a keyed hash: the same value masks the same
// within one process, and the mask says nothing a dictionary could undo.
type Masker struct{ key []byte }

// NewMasker returns a masker with a fresh random key.
func NewMasker() *Masker {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic("secret: no randomness: " + err.Error())
	}
	return &Masker{key: k}
}

// Prefix starts every mask.
const Prefix = "••••••"

// Mask is v masked: "••••••" and 8 hex digits of a keyed hash, or
// "••••••" alone for an empty value.
func (m *Masker) Mask(v string) string {
	if v == "" {
		return Prefix
	}
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(v))
	return Prefix + "(" + hex.EncodeToString(h.Sum(nil))[:8] + ")"
}

// Masked says whether s is a mask.
func Masked(s string) bool { return strings.HasPrefix(s, Prefix) }
