package spec

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsAndConfigs: file, environment and inline sources are read at
// load time, their content never serialised; the digest in the service's
// hash is keyed, and changes with the content; a missing variable and a
// file outside the folder say so.
func TestSecretsAndConfigs(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"berth.yaml": "name: sec\n",
		"pw.txt":     "hunter2-from-file",
		"compose.yaml": `services:
  db:
    image: mariadb:10.11
    environment: {MARIADB_ROOT_PASSWORD_FILE: /run/secrets/pw}
    secrets: [pw, {source: token, target: api-token, uid: "999", mode: 0400}]
    configs: [{source: app, target: /etc/app.conf}]
secrets:
  pw: {file: ./pw.txt}
  token: {environment: TOKEN}
configs:
  app: {content: "inline-config-text"}
`,
	})
	load := func(key []byte, env map[string]string) (*Project, error) {
		return LoadDefinition(context.Background(), dir, LoadOptions{Environment: env, DigestKey: key})
	}
	p, err := load([]byte("k1"), map[string]string{"TOKEN": "tok-secret-value"})
	if err != nil {
		t.Fatal(err)
	}
	db := p.Service("db")
	if len(db.Secrets) != 2 || db.Secrets[0].Target != "/run/secrets/api-token" || db.Secrets[0].UID != "999" || db.Secrets[0].Mode != 0o400 ||
		db.Secrets[1].Target != "/run/secrets/pw" || db.Secrets[1].Mode != 0o444 {
		t.Errorf("secrets %+v", db.Secrets)
	}
	if string(p.Secret("pw").Content) != "hunter2-from-file" || string(p.Secret("token").Content) != "tok-secret-value" ||
		string(p.Config("app").Content) != "inline-config-text" {
		t.Errorf("contents not read: %q %q %q", p.Secret("pw").Content, p.Secret("token").Content, p.Config("app").Content)
	}
	data, _ := json.Marshal(p)
	for _, v := range []string{"hunter2-from-file", "tok-secret-value", "inline-config-text"} {
		if strings.Contains(string(data), v) {
			t.Errorf("the project's JSON holds %q", v)
		}
	}
	if p.Secret("token").Digest == contentDigest(nil, []byte("tok-secret-value")) {
		t.Error("the digest is a plain hash of the secret, not keyed")
	}

	// Another key: another digest and hash. Another value: another hash.
	p2, err := load([]byte("k2"), map[string]string{"TOKEN": "tok-secret-value"})
	if err != nil {
		t.Fatal(err)
	}
	p3, err := load([]byte("k1"), map[string]string{"TOKEN": "tok-secret-value-2"})
	if err != nil {
		t.Fatal(err)
	}
	h1, h2, h3 := db.Hash, p2.Service("db").Hash, p3.Service("db").Hash
	if h1 == h2 || h1 == h3 {
		t.Errorf("hashes %s %s %s: want them to change with the key and with the value", h1, h2, h3)
	}
	if p1b, _ := load([]byte("k1"), map[string]string{"TOKEN": "tok-secret-value"}); p1b.Service("db").Hash != h1 {
		t.Error("the same load gives another hash")
	}

	// The variable unset: an error naming the secret and the variable.
	if _, err := load(nil, nil); err == nil || !strings.Contains(err.Error(), "TOKEN") || !strings.Contains(err.Error(), `secret "token"`) {
		t.Errorf("unset variable: %v", err)
	}
	// A file outside the folder is not read without a grant: blocked.
	outside := filepath.Join(t.TempDir(), "elsewhere.txt")
	if err := os.WriteFile(outside, []byte("outside-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	compose, _ := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(strings.Replace(string(compose), "./pw.txt", outside, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p4, err := load(nil, map[string]string{"TOKEN": "t"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p4.Blocked) != 1 || p4.Blocked[0] != outside || len(p4.Secret("pw").Content) != 0 {
		t.Errorf("blocked %v, content %q: a secret file outside the folder must not be read without a grant", p4.Blocked, p4.Secret("pw").Content)
	}
	found := false
	for _, c := range p4.Capabilities {
		if c.Kind == CapHostPath && strings.Contains(c.Subject, outside) {
			found = true
		}
	}
	if !found {
		t.Errorf("capabilities %v: want the host file the secret reads", p4.Capabilities)
	}
}
