package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInUse(t *testing.T) {
	type rec struct{ env, kind, rev, status string } // oldest first; status "": still running
	for _, tc := range []struct {
		name string
		recs []rec
		want []string // env/rev/why
	}{
		{"nothing recorded", nil, nil},
		{"current, and the rollback target behind repeats of it", []rec{
			{"shop", KindDeploy, "a", StatusSucceeded},
			{"shop", KindDeploy, "b", StatusSucceeded},
			{"shop", KindDeploy, "c", StatusSucceeded},
			{"shop", KindRollback, "c", StatusSucceeded},
		}, []string{"shop/b/rollback target", "shop/c/current"}},
		{"a failed deploy is current; the last good one stays too", []rec{
			{"shop", KindDeploy, "a", StatusSucceeded},
			{"shop", KindDeploy, "b", StatusSucceeded},
			{"shop", KindDeploy, "c", StatusRolledBack},
		}, []string{"shop/a/rollback target", "shop/b/last good", "shop/c/current"}},
		{"running, interrupted, downs and folder ups", []rec{
			{"shop", KindUp, "", StatusSucceeded},
			{"shop", KindDeploy, "a", StatusSucceeded},
			{"shop", KindDown, "", StatusSucceeded},
			{"shop", KindDeploy, "b", StatusInterrupted},
			{"shop", KindDeploy, "c", ""},
			{"blog", KindUp, "x", StatusSucceeded},
			{"blog", KindHeal, "y", StatusSucceeded},
		}, []string{"blog/x/current", "shop/a/last good", "shop/b/current", "shop/c/running"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := openTemp(t)
			clock := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
			s.now = func() time.Time { clock = clock.Add(time.Minute); return clock }
			for _, r := range tc.recs {
				id, err := s.Begin(ctx, Deployment{Kind: r.kind, Env: r.env, Definition: r.env + "-def", Revision: r.rev})
				if err != nil {
					t.Fatal(err)
				}
				if r.status == StatusInterrupted {
					err = s.MarkInterrupted(ctx, id)
				} else if r.status != "" {
					err = s.Finish(ctx, id, Outcome{Status: r.status})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			us, err := s.InUse(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range us {
				if u.Definition != u.Env+"-def" {
					t.Errorf("%+v: definition not recorded", u)
				}
				got = append(got, fmt.Sprintf("%s/%s/%s", u.Env, u.Revision, u.Why))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("in use:\n got %s\nwant %s", strings.Join(got, ", "), strings.Join(tc.want, ", "))
			}
		})
	}
}
