package gitsrc

import (
	"context"
	"errors"
	"testing"
)

func TestTreeAtAndLogPathTree(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/web/berth.yaml": "v1", "README": "a"})
	one := f.commit("one")
	f.write(map[string]string{"README": "b"})
	readme := f.commit("readme only")
	f.write(map[string]string{"environments/web/berth.yaml": "v2"})
	two := f.commit("two")
	r, err := Open(context.Background(), Source{Path: f.dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	log, err := r.Log(context.Background(), "", "environments/web", 0)
	if err != nil || len(log) != 2 || log[0].Hash != two || log[1].Hash != one {
		t.Fatalf("log: %+v %v", log, err)
	}
	for _, c := range log {
		want := f.git("rev-parse", c.Hash+":environments/web")
		if c.PathTree != want {
			t.Errorf("%s: PathTree %s, git says %s", c.Short, c.PathTree, want)
		}
	}
	tests := []struct {
		rev, path, want string
	}{
		{readme, "environments/web", f.git("rev-parse", one+":environments/web")},
		{two, "environments/web", f.git("rev-parse", two+":environments/web")},
		{two, "environments/web/berth.yaml", f.git("rev-parse", two+":environments/web/berth.yaml")},
		{two, "", f.git("rev-parse", two+"^{tree}")},
	}
	for _, tt := range tests {
		c, err := r.Resolve(tt.rev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.TreeAt(c, tt.path)
		if err != nil || got != tt.want {
			t.Errorf("TreeAt(%s, %q) = %s, %v; want %s", c.Short, tt.path, got, err, tt.want)
		}
	}
	c, _ := r.Resolve(two)
	for _, p := range []string{"environments/api", "README/x", "environments/web/nope"} {
		if _, err := r.TreeAt(c, p); !errors.Is(err, ErrNotFound) {
			t.Errorf("TreeAt(%q): want ErrNotFound, got %v", p, err)
		}
	}
}
