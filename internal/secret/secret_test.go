package secret

import (
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	for _, n := range []string{"POSTGRES_PASSWORD", "db_passwd", "GITHUB_TOKEN", "API_KEY", "AWS_SECRET_ACCESS_KEY", "PRIVATE_KEY_PEM", "POSTGRES_PASSWORD_FILE", "SENTRY_DSN", "BASIC_AUTH", "SESSION_COOKIE"} {
		if !Name(n) {
			t.Errorf("%s not secret", n)
		}
	}
	for _, n := range []string{"PORT", "PGHOST", "LISTEN_ADDR", "WORKER_INTERVAL", "TZ", "V"} {
		if Name(n) {
			t.Errorf("%s secret", n)
		}
	}
}

func TestValue(t *testing.T) {
	for _, v := range []string{"postgres://shop:s3cret@db:5432/shop", "mysql://root:pw@tcp(db)/x", "redis://:pw@cache:6379/0", "host=db user=shop password=s3cret dbname=shop", "Server=db;Pwd=x;"} {
		if !Value(v) {
			t.Errorf("%q not secret", v)
		}
	}
	for _, v := range []string{"postgres://shop@db/shop", "http://example.com/a:b", "cache:6379", "5s", "user=shop"} {
		if Value(v) {
			t.Errorf("%q secret", v)
		}
	}
}

func TestMask(t *testing.T) {
	m := NewMasker()
	a, b := m.Mask("shop"), m.Mask("shop")
	if a != b || !Masked(a) || strings.Contains(a, "shop") {
		t.Errorf("masks %q %q", a, b)
	}
	if m.Mask("other") == a {
		t.Error("two values, one mask")
	}
	if NewMasker().Mask("shop") == a {
		t.Error("another key gave the same mask: the prefix is not keyed")
	}
	if m.Mask("") != Prefix {
		t.Errorf("empty: %q", m.Mask(""))
	}
}
