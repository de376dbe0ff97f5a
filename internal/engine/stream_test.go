package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"

	"github.com/berthdev/berth/internal/reconcile"
)

func TestLineWriter(t *testing.T) {
	var got []LogLine
	w := newLineWriter(LogLine{Service: "api", Container: "shop-api-1", Number: 1}, "stderr", true, func(l LogLine) { got = append(got, l) })
	w.Write([]byte("2024-05-01T10:00:00.123456789Z first line\r\n2024-05-01T10:00:01Z sec"))
	w.Write([]byte("ond\nno-stamp-here"))
	w.flush()
	if len(got) != 3 {
		t.Fatalf("lines %+v", got)
	}
	if got[0].Text != "first line" || got[0].Time != time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC) || got[0].Stream != "stderr" || got[0].Service != "api" {
		t.Errorf("line 0 %+v", got[0])
	}
	if got[1].Text != "second" || got[2].Text != "no-stamp-here" || !got[2].Time.IsZero() {
		t.Errorf("lines %+v", got[1:])
	}
}

func TestToEvent(t *testing.T) {
	attrs := map[string]string{"name": "shop-api-1", reconcile.LabelService: "api", reconcile.LabelNumber: "1", "exitCode": "137"}
	ev, ok := toEvent(events.Message{Type: events.ContainerEventType, Action: "die", Actor: events.Actor{ID: "abc", Attributes: attrs}, TimeNano: 1714557600000000000})
	if !ok || ev.Action != "die" || ev.Container != "shop-api-1" || ev.Service != "api" || ev.Number != 1 || ev.ExitCode == nil || *ev.ExitCode != 137 || ev.Time.Unix() != 1714557600 {
		t.Errorf("die: %+v", ev)
	}
	ev, ok = toEvent(events.Message{Action: "health_status: unhealthy", Actor: events.Actor{ID: "abc", Attributes: attrs}})
	if !ok || ev.Action != "health_status" || ev.Health != "unhealthy" || ev.ExitCode != nil {
		t.Errorf("health: %+v", ev)
	}
	if _, ok := toEvent(events.Message{Action: "exec_start: sh", Actor: events.Actor{Attributes: attrs}}); ok {
		t.Error("exec_start passed")
	}
}

func TestLayerProgress(t *testing.T) {
	l := &layerProgress{status: map[string]string{}, cur: map[string]int64{}, total: map[string]int64{}}
	var msgs []streamMessage
	json.Unmarshal([]byte(`[
	 {"status":"Pulling fs layer","id":"aaaaaaaaaaaa"},
	 {"status":"Pulling fs layer","id":"bbbbbbbbbbbb"},
	 {"status":"Already exists","id":"cccccccccccc"},
	 {"status":"Downloading","id":"aaaaaaaaaaaa","progressDetail":{"current":1048576,"total":4194304}},
	 {"status":"Pull complete","id":"bbbbbbbbbbbb"}]`), &msgs)
	for _, m := range msgs {
		l.update(m)
	}
	if got := l.String(); got != "layers 2/3 done, 1 in progress (1.0MB/4.0MB downloaded)" {
		t.Errorf("got %q", got)
	}
}

func TestRegistryAuth(t *testing.T) {
	dir := t.TempDir()
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cfg := `{"auths":{
		"https://index.example.org/v1/": {"auth": "` + enc("hubuser:hubpass") + `"},
		"registry.corp:5000": {"auth": "` + enc("corp:secret") + `"},
		"empty.example.net": {}
	}, "credsStore": "desktop"}`
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600)
	e := &Engine{configDir: dir}
	e.indexOnce.Do(func() { e.indexHost = "index.example.org" }) // what Info would say

	decode := func(s string) map[string]string {
		b, err := base64.URLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		json.Unmarshal(b, &m)
		return m
	}
	var notes []string
	note := func(s string) { notes = append(notes, s) }
	cases := map[string]string{
		"postgres:15":                     "hubuser",
		"library/postgres":                "hubuser",
		"example.org/library/postgres:15": "hubuser",
		"registry.corp:5000/team/app:1":   "corp",
		"empty.example.net/x":             "",
		"other.example.com/x":             "",
	}
	for ref, user := range cases {
		got, err := e.registryAuth(context.Background(), ref, note)
		if err != nil {
			t.Fatal(err)
		}
		if user == "" {
			if got != "" {
				t.Errorf("%s: auth %v", ref, decode(got))
			}
			continue
		}
		if m := decode(got); m["username"] != user || m["password"] == "" {
			t.Errorf("%s: auth %v", ref, m)
		}
	}
	if len(notes) == 0 || !strings.Contains(notes[0], "credential helpers are not supported yet") {
		t.Errorf("notes %v", notes)
	}
}

func TestRefDomain(t *testing.T) {
	for ref, want := range map[string]string{
		"postgres":                  "",
		"library/postgres:15":       "",
		"localhost/app":             "localhost",
		"localhost:5000/app":        "localhost:5000",
		"ghcr.example.io/org/app":   "ghcr.example.io",
		"berth-test/engine-probe:x": "",
	} {
		if got := refDomain(ref); got != want {
			t.Errorf("%s: %q, want %q", ref, got, want)
		}
	}
}
