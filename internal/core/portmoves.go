package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"strconv"
	"syscall"

	"github.com/berthdev/berth/internal/spec"
)

// Copies that do not collide: a published host port the definition
// declares that another environment or program already holds is moved to
// a free one, unless the manifest pins it. The environment keeps where
// each port went (EnvSettings.Ports) and every later load of it uses the
// same ports, so the mapping is stable across ups, drift checks and
// deploys; a kept port that was taken in the meantime moves again.

// PortUse is a host port a running container publishes.
type PortUse struct {
	Env       string // the container's environment (Compose project), if any
	Container string
	HostIP    string
	Port      int
	Protocol  string
}

// PortUser is an engine that says which host ports its containers publish
// and whether it runs on this machine (then a port any other program holds
// is found by trying to bind it).
type PortUser interface {
	PublishedPorts(ctx context.Context) ([]PortUse, error)
	LocalHost() bool
}

// hostPortFree says whether this machine could bind the port: false only
// when it is in use (a port Berth may not bind, below 1024 without root,
// counts as free: the engine binds it).
var hostPortFree = func(hostIP, proto string, port int) bool {
	if hostIP == "" {
		hostIP = "0.0.0.0"
	}
	addr := net.JoinHostPort(hostIP, strconv.Itoa(port))
	var err error
	switch proto {
	case "udp":
		var c net.PacketConn
		if c, err = net.ListenPacket("udp", addr); err == nil {
			c.Close()
		}
	case "tcp":
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			l.Close()
		}
	default:
		return true
	}
	return !errors.Is(err, syscall.EADDRINUSE)
}

// PortTakenError is a pinned port another environment or program holds.
type PortTakenError struct {
	Service string
	Port    string
	By      string // who holds it, when known
}

func (e *PortTakenError) Error() string {
	by := "another program"
	if e.By != "" {
		by = e.By
	}
	return fmt.Sprintf("service %s: host port %s is taken by %s, and ports.pin in %s keeps it from moving: stop what holds it, or unpin it", e.Service, e.Port, by, spec.ManifestFile)
}

// portPlacer decides where the published ports of one environment go.
type portPlacer struct {
	env   string
	local bool
	taken map[string]string // proto/port → who holds it (other environments, other containers)
	ours  map[string]bool   // proto/port the environment's own containers hold now
	claim map[string]bool   // proto/port given out in this pass
}

func portID(proto string, port int) string { return proto + "/" + strconv.Itoa(port) }

func (pp *portPlacer) free(hostIP, proto string, port int) bool {
	id := portID(proto, port)
	if pp.claim[id] || pp.taken[id] != "" {
		return false
	}
	return pp.ours[id] || !pp.local || hostPortFree(hostIP, proto, port)
}

// placePorts returns the port map p should run with: kept where its ports
// are free, moved where they are taken. changed says whether it differs
// from kept. An engine that cannot say what is taken leaves kept as is.
func (b *Berth) placePorts(ctx context.Context, e Engine, p *spec.Project, kept map[string]int) (map[string]int, bool, error) {
	pu, ok := e.(PortUser)
	if !ok {
		return kept, false, nil
	}
	uses, err := pu.PublishedPorts(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("finding the host ports in use: %w", err)
	}
	pp := &portPlacer{env: p.Name, local: pu.LocalHost(), taken: map[string]string{}, ours: map[string]bool{}, claim: map[string]bool{}}
	for _, u := range uses {
		id := portID(u.Protocol, u.Port)
		if u.Env == p.Name {
			pp.ours[id] = true
			continue
		}
		who := "container " + u.Container
		if u.Env != "" {
			who = "environment " + u.Env + " (" + u.Container + ")"
		}
		pp.taken[id] = who
	}
	declared := map[[4]string]string{} // service, container port, proto, host IP → declared host port
	for _, m := range p.PortMoves {
		declared[[4]string{m.Service, strconv.Itoa(int(m.ContainerPort)), m.Protocol, m.HostIP}] = m.From
	}
	out := map[string]int{}
	for _, s := range p.Services {
		for _, pt := range s.Ports {
			cur, fixed := spec.FixedHostPort(pt)
			if !fixed {
				continue
			}
			decl := pt
			if from, ok := declared[[4]string{s.Name, strconv.Itoa(int(pt.ContainerPort)), pt.Protocol, pt.HostIP}]; ok {
				decl.HostPort = from
			}
			want, _ := spec.FixedHostPort(decl)
			key := spec.PortKey(s.Name, decl)
			pick := 0
			switch {
			case p.PinnedPorts.Pinned(s.Name, decl.HostPort):
				if !pp.free(pt.HostIP, pt.Protocol, want) {
					return nil, false, &PortTakenError{Service: s.Name, Port: decl.HostPort, By: pp.taken[portID(pt.Protocol, want)]}
				}
				pick = want
			case pp.free(pt.HostIP, pt.Protocol, cur):
				pick = cur
			case cur != want && pp.free(pt.HostIP, pt.Protocol, want):
				pick = want
			default:
				for c := want + 1; c < want+200 && c < 65536; c++ {
					if pp.free(pt.HostIP, pt.Protocol, c) {
						pick = c
						break
					}
				}
				if pick == 0 {
					return nil, false, fmt.Errorf("service %s: host port %d is taken and none of the next 200 is free", s.Name, want)
				}
			}
			pp.claim[portID(pt.Protocol, pick)] = true
			if pick != want {
				out[key] = pick
			}
		}
	}
	return out, !maps.Equal(out, kept), nil
}
