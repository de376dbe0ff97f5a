package cli

// Secrets end to end: a definition declaring two secrets, up refused while
// one is missing, the values set through the CLI (from stdin, never argv)
// and seen in the container as an interpolated variable and as a file
// under /run/secrets/, at up, at a deploy of an older revision and after a
// rollback; then every place Berth prints or records anything is searched
// for the values. Once with the encrypted file store, once with a real
// Secret Service (a private session bus and GNOME Keyring).

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/keyring/keyringtest"
	"github.com/berthdev/berth/internal/testenv"
)

const secretManifest = `name: probe
compose: [compose.yaml]
health:
  timeout: 30s
secrets:
  - name: DB_PASSWORD
    description: the API's database password
  - name: API_TOKEN
    description: the token the API presents
  - name: OPTIONAL_HINT
    required: false
local: [.env]
`

func secretCompose(v string) string {
	return `services:
  web:
    image: ` + probe + `
    environment:
      V: "` + v + `"
      PASSWORD: ${DB_PASSWORD}
      HINT: ${OPTIONAL_HINT:-none}
      LOCAL: ${LOCAL_SETTING:-unset}
    secrets: [token]
    healthcheck:
      test: ["CMD", "/probe", "health"]
      interval: 1s
      timeout: 2s
      retries: 2
secrets:
  token:
    environment: API_TOKEN
`
}

func TestSecretsEndToEnd(t *testing.T) {
	testenv.Image(t, probe)
	t.Run("file", func(t *testing.T) {
		t.Setenv("BERTH_SECRET_STORE", "file")
		secretsEndToEnd(t, "encrypted file")
	})
	t.Run("keyring", func(t *testing.T) {
		addr := keyringtest.Start(t)
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
		t.Setenv("BERTH_SECRET_STORE", "keyring")
		secretsEndToEnd(t, "OS keyring")
	})
}

func secretsEndToEnd(t *testing.T, where string) {
	env := uniqueName("secret")
	t.Cleanup(func() { removeLabelled(env) })
	state := t.TempDir()
	t.Setenv("BERTH_STATE_DIR", state)
	t.Setenv("BERTH_NOTES", "")

	repo := newDefRepo(t)
	repo.git("config", "berth.notes", "true")
	// The definition's .env is kept out of Git: only the checkout has it.
	c1 := repo.commit("web v1", map[string]string{"berth.yaml": secretManifest, "compose.yaml": secretCompose("1"), ".gitignore": ".env\n"})
	c2 := repo.commit("web v2", map[string]string{"compose.yaml": secretCompose("2")})
	if err := os.WriteFile(filepath.Join(repo.dir, "environments", "probe", ".env"), []byte("LOCAL_SETTING=from-the-checkout\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if repo.git("status", "--porcelain") != "" {
		t.Fatal("the .env is not ignored")
	}
	base := []string{"--repo", repo.dir, "--definitions", filepath.Join(repo.dir, "environments")}
	var printed bytes.Buffer
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		code, out, errOut := berth(t, append(base, args...)...)
		printed.WriteString(out + errOut)
		return code, out, errOut
	}
	setSecret := func(owner, name, value string, extra ...string) {
		t.Helper()
		old := stdin
		stdin = strings.NewReader(value + "\n")
		defer func() { stdin = old }()
		if code, out, _ := cli(append([]string{"secret", "set", owner, name}, extra...)...); code != ExitOK || !strings.Contains(out, where) {
			t.Fatalf("secret set %s %s: exit %d, %q (want it kept in the %s)", owner, name, code, out, where)
		}
	}

	// Missing: up is refused, naming the secret and the command; nothing
	// is created.
	code, _, errOut := cli("up", "probe", "--as", env)
	if code == ExitOK || !strings.Contains(errOut, "DB_PASSWORD") || !strings.Contains(errOut, "berth secret set probe DB_PASSWORD") ||
		!strings.Contains(errOut, "the API's database password") || strings.Contains(errOut, "OPTIONAL_HINT") {
		t.Fatalf("up without secrets: exit %d\n%s", code, errOut)
	}
	if left := labelled(t, env); len(left) > 0 {
		t.Fatalf("a refused up left %v", left)
	}
	if _, out, _ := cli("secret", "ls", "probe"); !strings.Contains(out, "MISSING (required)") || !strings.Contains(out, where) {
		t.Fatalf("secret ls before set:\n%s", out)
	}

	password, token := "pa55-w0rd-for-the-db", "tok-3f9a-api-token"
	setSecret("probe", "DB_PASSWORD", password)
	setSecret("probe", "API_TOKEN", "tok-for-the-definition")
	// The environment's own value wins over its definition's.
	setSecret(env, "API_TOKEN", token, "--env")
	if _, out, _ := cli("secret", "ls"); strings.Count(out, "set") < 3 || strings.Contains(out, "MISSING") {
		t.Fatalf("secret ls after set:\n%s", out)
	}

	check := func(step, v string) {
		t.Helper()
		web := containerIDs(t, env)["web"]
		envs := inspect(t, web, `{{range .Config.Env}}{{println .}}{{end}}`)
		if !strings.Contains(envs, "PASSWORD="+password+"\n") || !strings.Contains(envs, "V="+v+"\n") || !strings.Contains(envs, "HINT=none\n") ||
			!strings.Contains(envs, "LOCAL=from-the-checkout\n") {
			t.Fatalf("%s: web's environment:\n%s", step, envs)
		}
		out, err := exec.Command("docker", "exec", web, "/probe", "cat", "/run/secrets/token").CombinedOutput()
		if err != nil || string(out) != token {
			t.Fatalf("%s: /run/secrets/token holds %q (%v), want the environment's token", step, out, err)
		}
	}
	if code, _, _ := cli("up", "probe", "--as", env); code != ExitOK {
		t.Fatalf("up: exit %d", code)
	}
	check("up", "2")
	if code, out, _ := cli("deploy", env, c1, "--yes"); code != ExitOK || !strings.Contains(out, "local: .env read from your checkout") {
		t.Fatalf("deploy of the older revision: exit %d\n%s", code, out)
	}
	check("deploy c1", "1")
	if code, _, _ := cli("deploy", env, c2, "--yes"); code != ExitOK {
		t.Fatalf("deploy c2: exit %d", code)
	}
	check("deploy c2", "2")
	if code, _, _ := cli("rollback", env, "--yes"); code != ExitOK {
		t.Fatalf("rollback: exit %d", code)
	}
	check("rollback", "1")
	for _, args := range [][]string{{"status", env}, {"plan", env}, {"history", env, "-o", "json"}, {"logs", env}} {
		cli(args...)
	}
	// A changed value is drift: it shows, masked, where the values would.
	setSecret("probe", "DB_PASSWORD", "pa55-second-value-xyz")
	code, out, _ := cli("check", env)
	if code == ExitOK || !strings.Contains(out, "/environment/PASSWORD") || !strings.Contains(out, "••••••") {
		t.Fatalf("check after the secret changed: exit %d\n%s", code, out)
	}

	// The values appear nowhere Berth prints or records: its output, its
	// state folder (the store, workspaces, locks), the git notes.
	values := []string{password, token, "tok-for-the-definition", "pa55-second-value-xyz"}
	for _, v := range values {
		if strings.Contains(printed.String(), v) {
			t.Errorf("a secret's value was printed")
		}
	}
	notes := repo.git("log", "--notes=berth", "--format=%N", "--all")
	if !strings.Contains(notes, env) {
		t.Fatalf("no git notes were written to search:\n%s", notes)
	}
	for _, v := range values {
		if strings.Contains(notes, v) {
			t.Errorf("a secret's value is in the git notes")
		}
	}
	searched := 0
	filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		searched++
		for _, v := range values {
			if bytes.Contains(data, []byte(v)) {
				t.Errorf("a secret's value is in clear text in %s", p)
			}
		}
		return nil
	})
	if searched < 3 {
		t.Fatalf("searched %d files of the state folder; the store was not there", searched)
	}

	// rm: the next up is refused again.
	if code, _, _ := cli("secret", "rm", "probe", "DB_PASSWORD"); code != ExitOK {
		t.Fatalf("secret rm: exit %d", code)
	}
	if code, _, errOut := cli("up", env); code == ExitOK || !strings.Contains(errOut, "DB_PASSWORD") {
		t.Fatalf("up after rm: exit %d %s", code, errOut)
	}
	// A deploy reads the revision's workspace; the command it names is
	// still the definition's.
	if code, _, errOut := cli("deploy", env, c2, "--yes"); code == ExitOK || !strings.Contains(errOut, "berth secret set probe DB_PASSWORD") {
		t.Fatalf("deploy after rm: exit %d %s", code, errOut)
	}
}

// TestRollbackGoesBackToTheVariant: a deploy that switches an environment
// to another variant is undone by a rollback, variant included, and the
// history says which variant each deployment ran.
func TestRollbackGoesBackToTheVariant(t *testing.T) {
	testenv.Image(t, probe)
	env := uniqueName("variant-rb")
	t.Cleanup(func() { removeLabelled(env) })
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	repo := newDefRepo(t)
	manifest := "name: probe\nhealth:\n  timeout: 30s\nvariants:\n  red:\n    environment: {COLOR: red}\n  blue:\n    environment: {COLOR: blue}\n"
	compose := func(v string) string {
		return strings.Replace(probeCompose(v, healthy), "      V: ", "      COLOR: ${COLOR:-none}\n      V: ", 1)
	}
	c1 := repo.commit("v1", map[string]string{"berth.yaml": manifest, "compose.yaml": compose("1")})
	c2 := repo.commit("v2", map[string]string{"compose.yaml": compose("2")})
	base := []string{"--repo", repo.dir}
	cli := func(args ...string) int { t.Helper(); code, _, _ := berth(t, append(base, args...)...); return code }
	color := func() string {
		t.Helper()
		envs := inspect(t, containerIDs(t, env)["web"], `{{range .Config.Env}}{{println .}}{{end}}`)
		for _, l := range strings.Split(envs, "\n") {
			if c, ok := strings.CutPrefix(l, "COLOR="); ok {
				return c
			}
		}
		return ""
	}
	if cli("deploy", "probe", c1, "--as", env, "--variant", "red", "--yes") != ExitOK || color() != "red" {
		t.Fatalf("deploy c1 as red: %q", color())
	}
	// A later deploy keeps the variant; --variant switches it.
	if cli("deploy", env, c2, "--yes") != ExitOK || color() != "red" {
		t.Fatalf("deploy c2 kept red? %q", color())
	}
	if cli("deploy", env, c1, "--variant", "blue", "--yes") != ExitOK || color() != "blue" {
		t.Fatalf("deploy c1 as blue: %q", color())
	}
	if cli("rollback", env, "--yes") != ExitOK || color() != "red" {
		t.Fatalf("rollback went to %q, want red (c2 ran as red)", color())
	}
	ds := history(t, env)
	var got []string
	for i := len(ds) - 1; i >= 0; i-- {
		got = append(got, ds[i].Kind+":"+ds[i].Variant)
	}
	if strings.Join(got, " ") != "deploy:red deploy:red deploy:blue rollback:red" {
		t.Fatalf("history: %v", got)
	}
}
