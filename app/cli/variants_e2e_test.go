package cli

// Variants and copies end to end: the shop as its dev variant and twice as
// its review variant, side by side on one engine, none with a port set by
// hand. Every declared host port but the first is taken, so Berth moves
// them; each environment answers on the ports its status shows, with the
// data of its variant, and keeps its ports from one up to the next.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/testenv"
)

func TestVariantsAndCopiesSideBySide(t *testing.T) {
	testenv.Image(t, shopImages...)
	defs := copyDefinitions(t)
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	// No port is set by hand: every environment declares 8080 and 15432.
	t.Setenv("SHOP_WEB_PORT", "")
	t.Setenv("SHOP_DB_PORT", "")
	dev, rev1, rev2 := uniqueName("var-dev"), uniqueName("var-rev1"), uniqueName("var-rev2")
	for _, env := range []string{dev, rev1, rev2} {
		t.Cleanup(func() { removeLabelled(env) })
	}
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return berth(t, append([]string{"--definitions", defs}, args...)...)
	}
	if code, _, _ := cli("up", "shop", "--as", dev, "--variant", "dev"); code != ExitOK {
		t.Fatalf("up %s: exit %d", dev, code)
	}
	if code, out, _ := cli("plan", "shop", "--as", rev1, "--variant", "review"); code != ExitOK || !strings.Contains(out, "ports: web: 80/tcp published on") {
		t.Fatalf("plan of a copy: exit %d, want the web port's move shown:\n%s", code, out)
	}
	for _, env := range []string{rev1, rev2} {
		if code, _, _ := cli("up", "shop", "--as", env, "--variant", "review"); code != ExitOK {
			t.Fatalf("up %s: exit %d", env, code)
		}
	}

	webPorts, dbPorts := map[string]bool{}, map[string]bool{}
	status := func(env string) core.Environment {
		t.Helper()
		code, out, _ := cli("status", env, "-o", "json")
		var st core.Environment
		if code != ExitOK || json.Unmarshal([]byte(out), &st) != nil || st.State != core.StateRunning {
			t.Fatalf("status %s: exit %d\n%s", env, code, out)
		}
		return st
	}
	hostPort := func(st core.Environment, service string, container uint16) int {
		t.Helper()
		for _, s := range st.Services {
			for _, p := range s.Ports {
				if s.Name == service && p.ContainerPort == container {
					return int(p.HostPort)
				}
			}
		}
		t.Fatalf("%s: %s publishes no port %d", st.Name, service, container)
		return 0
	}
	moved := 0
	for _, c := range []struct {
		env, variant, sku string
		products          int
	}{{dev, "dev", "MUG-01", 5}, {rev1, "review", "REV-01", 2}, {rev2, "review", "REV-01", 2}} {
		st := status(c.env)
		if st.Variant != c.variant {
			t.Errorf("%s runs variant %q, want %s", c.env, st.Variant, c.variant)
		}
		web, db := hostPort(st, "web", 80), hostPort(st, "db", 5432)
		webPorts[strconv.Itoa(web)], dbPorts[strconv.Itoa(db)] = true, true
		for _, m := range st.PortMoves {
			if m.Service == "web" && m.From == "8080" && m.To == strconv.Itoa(web) {
				moved++
			}
		}
		code, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/api/products", web))
		var products []struct{ SKU string }
		if code != 200 || json.Unmarshal(body, &products) != nil || len(products) != c.products || products[0].SKU != c.sku {
			t.Fatalf("%s (%s) on port %d: %d %s; want its variant's %d products", c.env, c.variant, web, code, body, c.products)
		}
	}
	if len(webPorts) != 3 || len(dbPorts) != 3 {
		t.Fatalf("three environments share ports: web %v, db %v", webPorts, dbPorts)
	}
	if moved < 2 {
		t.Fatalf("%d environments say their web port moved off 8080; at least two must have", moved)
	}
	workerEnv := inspect(t, containerIDs(t, dev)["worker"], `{{range .Config.Env}}{{println .}}{{end}}`)
	if !strings.Contains(workerEnv, "WORKER_INTERVAL=1s\n") {
		t.Fatalf("the dev variant's worker runs with %s", workerEnv)
	}

	// The mapping is kept: another up of a copy changes nothing, and its
	// ports stay where they were.
	before := hostPort(status(rev2), "web", 80)
	if code, out, _ := cli("plan", rev2); code != ExitOK || !strings.Contains(out, "nothing to do") {
		t.Fatalf("plan of %s after up: exit %d\n%s", rev2, code, out)
	}
	if code, _, _ := cli("up", rev2); code != ExitOK {
		t.Fatalf("second up of %s: exit %d", rev2, code)
	}
	if after := hostPort(status(rev2), "web", 80); after != before {
		t.Fatalf("%s's web port went from %d to %d", rev2, before, after)
	}
	if _, out, _ := cli("status", rev2); !strings.Contains(out, "variant review") || !strings.Contains(out, "instead of 8080") {
		t.Fatalf("status text:\n%s", out)
	}
}
