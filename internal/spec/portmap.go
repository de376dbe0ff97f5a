package spec

import (
	"fmt"
	"strconv"
)

// PortKey names a published port as the definition declares it:
// service/containerPort/protocol/hostIP/hostPort. An environment's moved
// ports are kept under these keys.
func PortKey(service string, p Port) string {
	return fmt.Sprintf("%s/%d/%s/%s/%s", service, p.ContainerPort, p.Protocol, p.HostIP, p.HostPort)
}

// PortMove is a published host port an environment uses instead of the
// one its definition declares (because that one was taken).
type PortMove struct {
	Service       string `json:"service"`
	ContainerPort uint32 `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
	// From is the declared host port, To the one used.
	From string `json:"from"`
	To   string `json:"to"`
}

func (m PortMove) String() string {
	return fmt.Sprintf("%s: %s/%s published on %s instead of %s (taken)", m.Service, strconv.FormatUint(uint64(m.ContainerPort), 10), m.Protocol, m.To, m.From)
}

// FixedHostPort says whether a port publishes on one given host port (not
// a range, not one the engine picks), which is what can collide and move.
func FixedHostPort(p Port) (int, bool) {
	n, err := strconv.Atoi(p.HostPort)
	return n, err == nil && n > 0 && n < 65536
}

// applyPortMap moves the published ports pm names (PortKey → host port)
// and returns the moves made. Keys of ports the definition no longer has
// are ignored.
func applyPortMap(p *Project, pm map[string]int) []PortMove {
	if len(pm) == 0 {
		return nil
	}
	var out []PortMove
	for i := range p.Services {
		s := &p.Services[i]
		for j, pt := range s.Ports {
			to, ok := pm[PortKey(s.Name, pt)]
			if _, fixed := FixedHostPort(pt); !ok || !fixed || to <= 0 || to > 65535 || strconv.Itoa(to) == pt.HostPort {
				continue
			}
			out = append(out, PortMove{Service: s.Name, ContainerPort: pt.ContainerPort, Protocol: pt.Protocol, HostIP: pt.HostIP, From: pt.HostPort, To: strconv.Itoa(to)})
			s.Ports[j].HostPort = strconv.Itoa(to)
		}
	}
	return out
}
