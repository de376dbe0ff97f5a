package core

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/spec"
)

// portsEngine is an engine that only says which ports are in use.
type portsEngine struct {
	Engine
	uses  []PortUse
	local bool
}

func (e portsEngine) PublishedPorts(context.Context) ([]PortUse, error) { return e.uses, nil }
func (e portsEngine) LocalHost() bool                                   { return e.local }

func webProject(env string, pin *spec.PortSettings, moves ...spec.PortMove) *spec.Project {
	p := &spec.Project{Name: env, PinnedPorts: pin, PortMoves: moves, Services: []spec.Service{
		{Name: "web", Ports: []spec.Port{{HostPort: "8080", ContainerPort: 80, Protocol: "tcp"}, {HostPort: "", ContainerPort: 9000, Protocol: "tcp"}}},
		{Name: "db", Ports: []spec.Port{{HostIP: "127.0.0.1", HostPort: "15432", ContainerPort: 5432, Protocol: "tcp"}}},
	}}
	for _, m := range moves {
		for i := range p.Services {
			for j, pt := range p.Services[i].Ports {
				if p.Services[i].Name == m.Service && pt.ContainerPort == m.ContainerPort {
					p.Services[i].Ports[j].HostPort = m.To
				}
			}
		}
	}
	return p
}

func TestPlacePorts(t *testing.T) {
	webKey := spec.PortKey("web", spec.Port{HostPort: "8080", ContainerPort: 80, Protocol: "tcp"})
	dbKey := spec.PortKey("db", spec.Port{HostIP: "127.0.0.1", HostPort: "15432", ContainerPort: 5432, Protocol: "tcp"})
	busy := map[int]bool{}
	old := hostPortFree
	hostPortFree = func(_, _ string, port int) bool { return !busy[port] }
	t.Cleanup(func() { hostPortFree = old })

	for _, tc := range []struct {
		name    string
		uses    []PortUse
		busy    []int
		local   bool
		pin     *spec.PortSettings
		moves   []spec.PortMove
		kept    map[string]int
		want    map[string]int
		changed bool
		err     string
	}{
		{name: "all free", local: true, want: map[string]int{}, kept: map[string]int{}},
		{name: "another environment holds 8080", uses: []PortUse{{Env: "shop", Port: 8080, Protocol: "tcp"}},
			want: map[string]int{webKey: 8081}, changed: true},
		{name: "a program holds 8080 and 8081 (local engine)", local: true, busy: []int{8080, 8081},
			want: map[string]int{webKey: 8082}, changed: true},
		{name: "a program on a remote engine's host is not seen", busy: []int{8080}, want: map[string]int{}, kept: map[string]int{}},
		{name: "udp 8080 does not take tcp 8080", uses: []PortUse{{Env: "x", Port: 8080, Protocol: "udp"}}, want: map[string]int{}, kept: map[string]int{}},
		{name: "its own containers hold its ports", local: true, busy: []int{8081},
			uses:  []PortUse{{Env: "copy", Port: 8081, Protocol: "tcp"}, {Env: "shop", Port: 8080, Protocol: "tcp"}},
			moves: []spec.PortMove{{Service: "web", ContainerPort: 80, Protocol: "tcp", From: "8080", To: "8081"}},
			kept:  map[string]int{webKey: 8081}, want: map[string]int{webKey: 8081}},
		{name: "a kept port taken meanwhile moves again", uses: []PortUse{{Env: "shop", Port: 8080, Protocol: "tcp"}, {Env: "other", Port: 8081, Protocol: "tcp"}},
			moves: []spec.PortMove{{Service: "web", ContainerPort: 80, Protocol: "tcp", From: "8080", To: "8081"}},
			kept:  map[string]int{webKey: 8081}, want: map[string]int{webKey: 8082}, changed: true},
		{name: "a kept port goes back when the declared one is free again", uses: []PortUse{{Env: "other", Port: 8081, Protocol: "tcp"}},
			moves: []spec.PortMove{{Service: "web", ContainerPort: 80, Protocol: "tcp", From: "8080", To: "8081"}},
			kept:  map[string]int{webKey: 8081}, want: map[string]int{}, changed: true},
		{name: "two services never get the same port", uses: []PortUse{{Env: "shop", Port: 8080, Protocol: "tcp"}, {Env: "shop", Port: 15432, Protocol: "tcp"}},
			want: map[string]int{webKey: 8081, dbKey: 15433}, changed: true},
		{name: "a pinned port that is taken is an error", pin: &spec.PortSettings{Pin: []string{"web:8080"}},
			uses: []PortUse{{Env: "shop", Container: "shop-web-1", Port: 8080, Protocol: "tcp"}}, err: "environment shop (shop-web-1)"},
		{name: "a pinned service's free port stays", pin: &spec.PortSettings{Pin: []string{"db"}}, uses: []PortUse{{Env: "shop", Port: 8080, Protocol: "tcp"}},
			want: map[string]int{webKey: 8081}, changed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clear(busy)
			for _, p := range tc.busy {
				busy[p] = true
			}
			b := &Berth{}
			got, changed, err := b.placePorts(context.Background(), portsEngine{uses: tc.uses, local: tc.local}, webProject("copy", tc.pin, tc.moves...), tc.kept)
			if tc.err != "" {
				var pt *PortTakenError
				if !errors.As(err, &pt) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want a PortTakenError naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) || changed != tc.changed {
				t.Fatalf("got %v (changed %v), want %v (changed %v)", got, changed, tc.want, tc.changed)
			}
		})
	}
}
