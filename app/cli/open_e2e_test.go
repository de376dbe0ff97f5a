package cli

// Day one: berth open on a path and on a URL, and berth doctor, against the
// real engine and a real Git server.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/testenv"
)

type openJSON struct {
	Opened struct {
		Repo           string `json:"repo"`
		Cloned         bool   `json:"cloned"`
		DefinitionsDir string `json:"definitionsDir"`
	} `json:"opened"`
	Definitions []core.Definition `json:"definitions"`
	Preflight   *core.Preflight   `json:"preflight"`
	Up          *core.Result      `json:"up"`
}

func TestOpenEndToEnd(t *testing.T) {
	testenv.Short(t)
	testenv.Image(t, shopImages...)
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("BERTH_DEFINITIONS", "")
	t.Setenv("SHOP_WEB_PORT", fmt.Sprint(freePort(t)))
	t.Setenv("SHOP_DB_PORT", fmt.Sprint(freePort(t)))
	repo, _, _ := shopRepo(t)
	env := uniqueName("open-shop")
	t.Cleanup(func() { removeLabelled(env) })

	// Not trusted yet: doctor says so, with the fix, and exits 12; the
	// other checks still run.
	code, out, _ := berthRaw(t, "--definitions", filepath.Join(repo.dir, "environments"), "doctor", "shop", "--as", env, "-o", "json")
	var pf core.Preflight
	if err := json.Unmarshal([]byte(out), &pf); err != nil || code != ExitPreflight || pf.OK {
		t.Fatalf("doctor of an untrusted definition: exit %d, ok %v (%v), want %d", code, pf.OK, err, ExitPreflight)
	}
	status := map[string]string{}
	for _, c := range pf.Checks {
		status[c.Name] = c.Status
		if c.Name == "trust" && !strings.Contains(c.Fix, "berth trust shop") {
			t.Errorf("the trust check's fix: %q", c.Fix)
		}
	}
	for name, want := range map[string]string{"engine": "ok", "trust": "fail", "secrets": "ok", "ports": "ok", "images": "ok", "disk": "ok", "memory": "ok"} {
		if status[name] != want {
			t.Errorf("check %s: %q, want %q (%+v)", name, status[name], want, pf.Checks)
		}
	}

	// Open the path: preflight, up (trusted with --trust), the shop answers.
	code, out, _ = berth(t, "open", repo.dir, "--as", env, "-o", "json")
	var res openJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != ExitOK {
		t.Fatalf("open: exit %d (%v)", code, err)
	}
	if res.Opened.DefinitionsDir != filepath.Join(repo.dir, "environments") || len(res.Definitions) != 1 || res.Preflight == nil || res.Up == nil {
		t.Fatalf("open's answer: %+v", res)
	}
	st, body := httpGet(t, "http://127.0.0.1:"+os.Getenv("SHOP_WEB_PORT")+"/api/products")
	if st != 200 {
		t.Fatalf("the shop after open: %d %s", st, body)
	}
	// The folder is saved: the next command (and the app) works on it.
	saved, err := os.ReadFile(filepath.Join(cfg, "berth", "settings.json"))
	if err != nil || !strings.Contains(string(saved), filepath.Join(repo.dir, "environments")) {
		t.Fatalf("settings after open: %s (%v)", saved, err)
	}
	if code, out, _ := berth(t, "ls"); code != ExitOK || !strings.Contains(out, env) {
		t.Fatalf("ls after open: exit %d, want %s listed", code, env)
	}
	// Trusted now: doctor passes for the running environment.
	if code, _, _ := berthRaw(t, "doctor", "shop", "--as", env); code != ExitOK {
		t.Fatalf("doctor after open: exit %d", code)
	}
	if code, _, _ := berth(t, "down", env, "--volumes"); code != ExitOK {
		t.Fatalf("down: exit %d", code)
	}

	// A URL is cloned, with a work tree, where --into says; its
	// credentials come from git's credential helper (a script here).
	srvRoot := t.TempDir()
	repo.git("clone", "-q", "--bare", repo.dir, filepath.Join(srvRoot, "defs.git"))
	srv := testenv.GitHTTPServer(t, srvRoot, "s3cret-token")
	helper := filepath.Join(t.TempDir(), "helper.sh")
	if err := os.WriteFile(helper, []byte("#!/bin/sh\ncat >/dev/null\necho username=ada\necho password=s3cret-token\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	gitcfg := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(gitcfg, []byte("[credential]\n\thelper = "+helper+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", gitcfg)
	into := filepath.Join(t.TempDir(), "checkout")
	code, out, stderr := berth(t, "open", srv.URL+"/defs.git", "--into", into, "--no-up", "-o", "json")
	res = openJSON{}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != ExitOK || !res.Opened.Cloned {
		t.Fatalf("open of a URL: exit %d (%v) %+v", code, err, res.Opened)
	}
	if _, err := os.Stat(filepath.Join(into, "environments", "shop", "berth.yaml")); err != nil {
		t.Fatalf("the clone has no work tree: %v", err)
	}
	if strings.Contains(out+stderr, "s3cret-token") {
		t.Fatal("the token was printed")
	}
	// A second open of the URL uses the clone.
	if code, out, _ := berth(t, "open", srv.URL+"/defs.git", "--into", into, "--no-up", "-o", "json"); code != ExitOK || strings.Contains(out, `"cloned": true`) {
		t.Fatalf("second open: exit %d, %s", code, out)
	}
	// Several definitions: open asks which, naming them.
	two := writeDefs(t, map[string]map[string]string{
		"alpha": {"berth.yaml": manifest("alpha"), "compose.yaml": "services:\n  a:\n    image: berth-test/probe:latest\n"},
		"beta":  {"berth.yaml": manifest("beta"), "compose.yaml": "services:\n  b:\n    image: berth-test/probe:latest\n"},
	})
	if code, _, stderr := berth(t, "open", two, "--no-up"); code != ExitUsage || !strings.Contains(stderr, "alpha, beta") {
		t.Fatalf("open of a folder of two definitions: exit %d, want %d naming both: %s", code, ExitUsage, stderr)
	}
}
