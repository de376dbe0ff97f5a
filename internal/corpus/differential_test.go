package corpus

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/berthdev/berth/internal/testenv"
)

// allowedDifferences are the docker inspect fields where a container Berth
// created may differ from the one docker compose created from the same
// project, each with the reason. A project's expect.yaml adds its own
// (differences:). Paths are patterns: '*' stands for one segment.
var allowedDifferences = map[string]string{
	"Config/Labels/com.docker.compose.config-hash": "each tool hashes the configuration its own way; only the tool that wrote it reads it",
	"Config/Labels/com.docker.compose.version":     "the version of the tool that created the container (berth for Berth)",
	"Config/Labels/com.docker.compose.depends_on":  "docker compose writes the dependencies in its own order and spelling; Berth plans from the definition, not from this label",
	"Config/Labels/dev.berth.*":                    "Berth's own labels (environment, definition, revision, managed, image)",
	"HostConfig/VolumesFrom":                       "docker compose drops the :ro of volumes_from SERVICE:ro (the volumes are mounted read-write); Berth keeps it",
}

// volatile are the fields no two containers share (IDs, times, paths under
// the engine's data root, addresses the engine hands out), left out before
// comparing.
var volatile = []string{
	"Id", "Created", "State", "Image", "ResolvConfPath", "HostnamePath", "HostsPath", "LogPath", "RestartCount",
	"GraphDriver", "SizeRw", "SizeRootFs", "Mounts", "Config/Hostname", "NetworkSettings/SandboxID", "NetworkSettings/SandboxKey",
	"NetworkSettings/Networks/*/NetworkID", "NetworkSettings/Networks/*/EndpointID", "NetworkSettings/Networks/*/Gateway",
	"NetworkSettings/Networks/*/IPAddress", "NetworkSettings/Networks/*/MacAddress", "NetworkSettings/Networks/*/IPPrefixLen",
	"NetworkSettings/Networks/*/GlobalIPv6Address", "NetworkSettings/Networks/*/GlobalIPv6PrefixLen", "NetworkSettings/Networks/*/IPv6Gateway",
	"NetworkSettings/Networks/*/DNSNames", "NetworkSettings/IPAddress", "NetworkSettings/MacAddress", "NetworkSettings/Gateway",
	"NetworkSettings/IPPrefixLen", "NetworkSettings/Ports", "NetworkSettings/Bridge", "NetworkSettings/HairpinMode",
	"NetworkSettings/LinkLocalIPv6Address", "NetworkSettings/LinkLocalIPv6PrefixLen", "NetworkSettings/SecondaryIPAddresses",
	"NetworkSettings/SecondaryIPv6Addresses", "NetworkSettings/EndpointID", "NetworkSettings/GlobalIPv6Address",
	"NetworkSettings/GlobalIPv6PrefixLen", "NetworkSettings/IPv6Gateway", "AppArmorProfile", "ExecIDs",
}

// TestDifferential brings every corpus project up with berth and with
// docker compose, under different project names, and compares the
// normalised docker inspect output of each service's first container.
// It needs docker compose on PATH (the CI machine has none: the test says
// so and is skipped there).
func TestDifferential(t *testing.T) {
	testenv.Short(t)
	testenv.Engine(t)
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err != nil {
		t.Skipf("docker compose is not on PATH (%v: %s): the differential test compares with it and is skipped", err, strings.TrimSpace(string(out)))
	}
	testenv.Image(t, corpusImages...)
	api := engineAPI(t)
	var mu sync.Mutex
	identical, compared := 0, 0
	allowedSeen := map[string]int{}
	t.Cleanup(func() {
		t.Logf("differential: %d projects compared, %d identical once the allowed differences are left out", compared, identical)
		for _, k := range slices.Sorted(maps.Keys(allowedSeen)) {
			t.Logf("  allowed %-60s in %2d projects", k, allowedSeen[k])
		}
	})
	for _, name := range projects(t) {
		t.Run(name, func(t *testing.T) {
			exp := readExpect(t, filepath.Join("testdata", name))
			if exp.Error != "" && (exp.ErrorBelowAPI == "" || apiBelow(api, exp.ErrorBelowAPI)) {
				t.Skipf("refused on this engine by both tools")
			}
			if exp.Change != nil {
				// the change step is the corpus test's; compare the first up only
				exp.Change = nil
			}
			t.Parallel()
			// Berth first, then docker compose: one after the other, as
			// projects with fixed subnets or host ports cannot run twice.
			b := newProject(t, name, "berth")
			if code, out := b.berth("up", name, "--as", b.env); code != 0 {
				t.Fatalf("berth up: exit %d\n%s", code, out)
			}
			bIDs := serviceContainers(t, b.env)
			bFlat := map[string]map[string]string{}
			for svc, id := range bIDs {
				bFlat[svc] = flatten(normalise(inspect(t, id), b, bIDs))
			}
			if code, out := b.berth("down", b.env, "--volumes"); code != 0 {
				t.Fatalf("berth down: exit %d\n%s", code, out)
			}
			c := newProject(t, name, "compose")
			dir := filepath.Join(c.defs, name)
			t.Cleanup(func() {
				_ = exec.Command("docker", "compose", "--project-directory", dir, "-p", c.env, "down", "-v", "--remove-orphans").Run()
			})
			cmd := exec.Command("docker", "compose", "--project-directory", dir, "-p", c.env, "up", "-d", "--wait", "--quiet-pull")
			cmd.Dir = dir
			cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "COMPOSE_") })
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("docker compose up: %v\n%s", err, out)
			}
			cIDs := serviceContainers(t, c.env)
			if !slices.Equal(slices.Sorted(maps.Keys(bIDs)), slices.Sorted(maps.Keys(cIDs))) {
				t.Fatalf("services: berth ran %v, docker compose %v", slices.Sorted(maps.Keys(bIDs)), slices.Sorted(maps.Keys(cIDs)))
			}
			same := true
			seen := map[string]bool{}
			for _, svc := range slices.Sorted(maps.Keys(bIDs)) {
				bf := bFlat[svc]
				cf := flatten(normalise(inspect(t, cIDs[svc]), c, cIDs))
				for _, path := range slices.Sorted(maps.Keys(union(bf, cf))) {
					bv, bok := bf[path]
					cv, cok := cf[path]
					if bok == cok && bv == cv {
						continue
					}
					if reason, ok := allowed(path, exp.Differences); ok {
						seen[reason] = true
						continue
					}
					same = false
					t.Errorf("service %s: %s: berth %s, docker compose %s", svc, path, show(bv, bok), show(cv, cok))
				}
			}
			mu.Lock()
			for r := range seen {
				allowedSeen[r]++
			}
			mu.Unlock()
			mu.Lock()
			compared++
			if same {
				identical++
			}
			mu.Unlock()
		})
	}
}

// normalise drops the volatile fields and puts placeholders for what
// names the project or a container.
func normalise(doc any, p *project, ids map[string]string) any {
	s := jsonText(doc)
	for svc, id := range ids {
		s = strings.ReplaceAll(s, id, "<id:"+svc+">")
		s = strings.ReplaceAll(s, id[:12], "<id:"+svc+">")
	}
	s = strings.ReplaceAll(s, filepath.Join(p.defs, p.name), "<dir>")
	s = strings.ReplaceAll(s, p.env, "<project>")
	var out any
	_ = json.Unmarshal([]byte(s), &out)
	for _, v := range volatile {
		drop(out, strings.Split(v, "/"))
	}
	if hc, ok := lookup(out, "HostConfig"); ok {
		canonicalMounts(hc.(map[string]any))
	}
	return out
}

// mountKey is a mount's target as one path segment (/etc/app -> etc|app).
func mountKey(target string) string {
	return strings.ReplaceAll(strings.TrimPrefix(target, "/"), "/", "|")
}

// canonicalMounts puts HostConfig's Binds and Mounts into one form, keyed
// by target: the legacy bind syntax ("src:dst:ro,z") and the Mount API
// say the same thing to the engine, and the tools choose differently
// between them (docker compose the bind syntax wherever it can, Berth the
// Mount API unless only the bind syntax does it). Ulimits are sorted by
// name: their order carries no meaning.
func canonicalMounts(hc map[string]any) {
	all := map[string]any{}
	if binds, ok := hc["Binds"].([]any); ok {
		for _, b := range binds {
			parts := strings.Split(b.(string), ":")
			if len(parts) < 2 {
				continue
			}
			m := map[string]any{"Source": parts[0], "Target": parts[1], "Type": "volume"}
			if strings.HasPrefix(parts[0], "/") || strings.HasPrefix(parts[0], "<dir>") {
				m["Type"] = "bind"
			}
			if len(parts) > 2 {
				for _, o := range strings.Split(parts[2], ",") {
					switch o {
					case "ro":
						m["ReadOnly"] = true
					case "z", "Z":
						m["SELinux"] = o
					case "nocopy":
						m["NoCopy"] = true
					case "shared", "rshared", "slave", "rslave", "private", "rprivate":
						m["Propagation"] = o
					}
				}
			}
			all[mountKey(parts[1])] = m
		}
	}
	if mounts, ok := hc["Mounts"].([]any); ok {
		for _, x := range mounts {
			mt := x.(map[string]any)
			m := map[string]any{"Source": mt["Source"], "Target": mt["Target"], "Type": mt["Type"]}
			if mt["ReadOnly"] == true {
				m["ReadOnly"] = true
			}
			if bo, ok := mt["BindOptions"].(map[string]any); ok && bo["Propagation"] != nil && bo["Propagation"] != "" {
				m["Propagation"] = bo["Propagation"]
			}
			if vo, ok := mt["VolumeOptions"].(map[string]any); ok {
				if vo["NoCopy"] == true {
					m["NoCopy"] = true
				}
				if vo["Subpath"] != nil && vo["Subpath"] != "" {
					m["Subpath"] = vo["Subpath"]
				}
			}
			if to, ok := mt["TmpfsOptions"].(map[string]any); ok {
				m["TmpfsOptions"] = to
			}
			all[mountKey(fmt.Sprint(mt["Target"]))] = m
		}
	}
	delete(hc, "Binds")
	delete(hc, "Mounts")
	if len(all) > 0 {
		hc["Mounts"] = all
	}
	if ul, ok := hc["Ulimits"].([]any); ok {
		sort.Slice(ul, func(i, j int) bool {
			return fmt.Sprint(ul[i].(map[string]any)["Name"]) < fmt.Sprint(ul[j].(map[string]any)["Name"])
		})
	}
}

func drop(doc any, path []string) {
	m, ok := doc.(map[string]any)
	if !ok || len(path) == 0 {
		return
	}
	if len(path) == 1 {
		delete(m, path[0])
		return
	}
	if path[0] == "*" {
		for _, v := range m {
			drop(v, path[1:])
		}
		return
	}
	drop(m[path[0]], path[1:])
}

// flatten turns a document into path → JSON value of each leaf (lists of
// scalars are leaves, sorted when their order carries no meaning).
func flatten(doc any) map[string]string {
	out := map[string]string{}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 0 {
				return // an empty map and none are the same
			}
			for k, e := range x {
				walk(e, strings.TrimPrefix(path+"/"+k, "/"))
			}
		case []any:
			scalars := true
			for _, e := range x {
				switch e.(type) {
				case map[string]any, []any:
					scalars = false
				}
			}
			if !scalars {
				for i, e := range x {
					walk(e, fmt.Sprintf("%s/%d", path, i))
				}
				return
			}
			if len(x) == 0 {
				return
			}
			items := make([]string, len(x))
			for i, e := range x {
				items[i] = jsonText(e)
			}
			if unordered.MatchString(path) {
				sort.Strings(items)
			}
			out[path] = "[" + strings.Join(items, ",") + "]"
		case nil:
		default:
			b := jsonText(x)
			if b == `""` || b == "false" || b == "0" {
				return // the zero value and none are the same
			}
			out[path] = b
		}
	}
	walk(doc, "")
	return out
}

// unordered are the lists whose order the engine does not use.
var unordered = regexp.MustCompile(`(^Config/Env$|Aliases$|^HostConfig/(CapAdd|CapDrop|SecurityOpt|GroupAdd|Binds|ExtraHosts)$|DNSNames$|Links$)`)

func allowed(path string, project map[string]string) (string, bool) {
	for pattern, reason := range project {
		if match(pattern, path) {
			return pattern + ": " + reason, true
		}
	}
	for pattern, reason := range allowedDifferences {
		if match(pattern, path) {
			return pattern + ": " + reason, true
		}
	}
	return "", false
}

// match compares a '/'-separated path with a pattern whose '*' stands for
// one segment (a trailing '*' after a '.' for the rest of a segment); a
// pattern matches the paths below it too.
func match(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(xs) < len(ps) {
		return false
	}
	for i, p := range ps {
		switch {
		case p == "*":
		case strings.HasSuffix(p, ".*"):
			if !strings.HasPrefix(xs[i], strings.TrimSuffix(p, "*")) {
				return false
			}
		case p != xs[i]:
			return false
		}
	}
	return true
}

// jsonText is v as JSON, without HTML escapes (placeholders read <id:db>).
func jsonText(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

func union(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func show(v string, ok bool) string {
	if !ok {
		return "(none)"
	}
	return v
}

// TestDifferentialHelpers checks the comparison's own pieces without an
// engine: patterns, flattening, normalising.
func TestDifferentialHelpers(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"Config/Labels/dev.berth.*", "Config/Labels/dev.berth.revision", true},
		{"Config/Labels/dev.berth.*", "Config/Labels/dev.other", false},
		{"HostConfig/Mounts/*/Source", "HostConfig/Mounts/2/Source", true},
		{"HostConfig/Mounts", "HostConfig/Mounts/0/Type", true},
		{"HostConfig/Mounts/*/Source", "HostConfig/Mounts/0/Target", false},
		{"Name", "Names", false},
	} {
		if got := match(c.pattern, c.path); got != c.want {
			t.Errorf("match(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
	doc := map[string]any{
		"Config":     map[string]any{"Env": []any{"B=2", "A=1"}, "Cmd": []any{"b", "a"}, "Tty": false, "User": ""},
		"HostConfig": map[string]any{"Mounts": []any{map[string]any{"Type": "bind"}}, "Sysctls": map[string]any{}},
	}
	got := flatten(doc)
	want := map[string]string{`Config/Env`: `["A=1","B=2"]`, `Config/Cmd`: `["b","a"]`, `HostConfig/Mounts/0/Type`: `"bind"`}
	if !maps.Equal(got, want) {
		t.Errorf("flatten = %v, want %v", got, want)
	}
	p := &project{name: "web", defs: "/tmp/defs", env: "cb-web-00001"}
	n := normalise(map[string]any{"Id": "0123456789abcdef0123", "Name": "/cb-web-00001-api-1",
		"HostConfig": map[string]any{"NetworkMode": "container:0123456789abcdef0123", "Binds": []any{"/tmp/defs/web/conf:/conf"}}},
		p, map[string]string{"db": "0123456789abcdef0123"})
	if got := flatten(n); got["Name"] != `"/<project>-api-1"` || got["HostConfig/NetworkMode"] != `"container:<id:db>"` ||
		got["HostConfig/Mounts/conf/Source"] != `"<dir>/conf"` || got["HostConfig/Mounts/conf/Type"] != `"bind"` || got["Id"] != "" {
		t.Errorf("normalise: %v", got)
	}
}
