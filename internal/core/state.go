package core

import (
	"sort"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// summarise turns observed objects into an Environment with per-service
// state. desired, when known, adds services that have no container yet and
// the desired replica counts.
func summarise(o reconcile.Observed, desired *spec.Project) Environment {
	env := Environment{Name: o.Project, State: StateAbsent}
	services := map[string]*Service{}
	get := func(name string) *Service {
		s, ok := services[name]
		if !ok {
			s = &Service{Name: name, Containers: []reconcile.Container{}}
			services[name] = s
		}
		return s
	}
	if desired != nil {
		for _, ds := range desired.Services {
			s := get(ds.Name)
			s.Image, s.Replicas = ds.Image, ds.Replicas
		}
	}
	for _, c := range o.Containers {
		if c.OneOff {
			continue
		}
		if env.Definition == "" {
			env.Definition = c.Labels[reconcile.LabelDefinition]
		}
		if env.Revision == "" {
			env.Revision = c.Labels[reconcile.LabelRevision]
		}
		if env.Variant == "" {
			env.Variant = c.Labels[reconcile.LabelVariant]
		}
		s := get(c.Service)
		if s.Image == "" {
			s.Image = c.Image
		}
		s.Containers = append(s.Containers, c)
		s.Ports = append(s.Ports, c.Ports...)
		env.Containers++
		if c.State == reconcile.StateRunning {
			env.Running++
		}
	}
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	var states []string
	for _, n := range names {
		s := services[n]
		if s.Replicas == 0 {
			s.Replicas = len(s.Containers)
		}
		s.State, s.Health = serviceState(s)
		states = append(states, s.State)
		env.Services = append(env.Services, *s)
	}
	env.State = combine(states)
	return env
}

func serviceState(s *Service) (state, health string) {
	if len(s.Containers) == 0 {
		return StateAbsent, ""
	}
	running, failed := 0, 0
	for _, c := range s.Containers {
		switch {
		case c.Health == reconcile.HealthUnhealthy && c.State == reconcile.StateRunning,
			c.State == reconcile.StateDead,
			c.State == reconcile.StateExited && c.ExitCode != 0,
			c.State == reconcile.StateRestarting:
			failed++
		case c.State == reconcile.StateRunning:
			running++
		}
		if c.State == reconcile.StateRunning {
			// A stopped container keeps the last health it had, which says
			// nothing about it now.
			health = worseHealth(health, c.Health)
		}
	}
	switch {
	case failed > 0:
		return StateFailed, health
	case running >= s.Replicas && running == len(s.Containers):
		return StateRunning, health
	case running == 0:
		return StateStopped, health
	default:
		return StatePartial, health
	}
}

func worseHealth(a, b string) string {
	rank := map[string]int{"": 0, reconcile.HealthHealthy: 1, reconcile.HealthStarting: 2, reconcile.HealthUnhealthy: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// combine folds service states into the environment state.
func combine(states []string) string {
	if len(states) == 0 {
		return StateAbsent
	}
	count := map[string]int{}
	for _, s := range states {
		count[s]++
	}
	switch {
	case count[StateFailed] > 0:
		return StateFailed
	case count[StateRunning] == len(states):
		return StateRunning
	case count[StateStopped]+count[StateAbsent] == len(states):
		if count[StateStopped] > 0 {
			return StateStopped
		}
		return StateAbsent
	default:
		return StatePartial
	}
}
