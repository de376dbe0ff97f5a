package reconcile

import (
	"strings"
	"testing"
)

func TestRecreateGolden(t *testing.T) {
	up := running(shop())
	cases := []struct {
		name     string
		service  string
		observed Observed
	}{
		{"recreate-web", "web", up},
		{"recreate-worker-scaled", "worker", mutate(up, func(o *Observed) {
			o.Containers = append(o.Containers, Container{ID: "c-worker-2", Name: "shop-worker-2", Service: "worker", Number: 2, Managed: true, State: StateRunning})
		})},
		{"recreate-api-missing-image-and-container", "api", mutate(up, func(o *Observed) {
			delete(o.Images, "shop-api")
			for i, c := range o.Containers {
				if c.Service == "api" {
					o.Containers = append(o.Containers[:i], o.Containers[i+1:]...)
					break
				}
			}
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := Recreate(shop(), tc.observed, tc.service)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, plan.Render())
			checkOrder(t, plan)
			for _, op := range plan.Ops {
				if op.Service != tc.service {
					t.Fatalf("recreate %s touches service %q: %+v", tc.service, op.Service, op)
				}
			}
		})
	}
}

func TestRecreateUnknownService(t *testing.T) {
	_, err := Recreate(shop(), running(shop()), "nope")
	if err == nil || !strings.Contains(err.Error(), `service "nope" is not in the definition`) {
		t.Fatalf("want an unknown-service error, got %v", err)
	}
}

func TestRecreateLeavesForeign(t *testing.T) {
	o := mutate(running(shop()), func(o *Observed) {
		o.Containers = append(o.Containers, Container{ID: "x", Name: "shop-web-9", Service: "web", Number: 9, Managed: false})
	})
	_, err := Recreate(shop(), o, "web")
	if err == nil {
		t.Fatal("a Compose container of the same project that Berth did not create must be a conflict")
	}
}
