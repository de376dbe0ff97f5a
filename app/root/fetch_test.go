package root

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/gitsrc"
	"github.com/berthdev/berth/internal/settings"
)

// waitRepoChange waits for the next ChangeRepo on c.
func waitRepoChange(t *testing.T, c <-chan core.Change, what string) core.RepoState {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ch := <-c:
			if ch.Kind == core.ChangeRepo && ch.Repo != nil {
				return *ch.Repo
			}
		case <-deadline:
			t.Fatalf("no repo change: %s", what)
		}
	}
}

func TestWatchFetchesClonedRepoOnInterval(t *testing.T) {
	work := gitRepo(t, map[string]string{"environments/web/berth.yaml": "name: web\n"})
	bare := filepath.Join(t.TempDir(), "defs.git")
	gitOut(t, work, "clone", "-q", "--bare", work, bare)
	url := "file://" + bare
	r := testRoot(t, url, settings.Settings{}, map[string]string{"BERTH_FETCH_INTERVAL": "50ms"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, err := r.repo.Resolve(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	clone := gitsrc.CloneDir(r.repo.dataDir, url)
	if got := gitOut(t, clone, "rev-parse", "refs/heads/main"); got != first.Hash {
		t.Fatalf("clone at %s, want %s", got, first.Hash)
	}

	changes := make(chan core.Change, 64)
	done := make(chan error, 1)
	go func() {
		done <- r.Core().Watch(ctx, func(c core.Change) {
			select {
			case changes <- c:
			default:
			}
		})
	}()

	// A new commit on the remote: the loop fetches it and says so.
	os.WriteFile(filepath.Join(work, "environments/web/berth.yaml"), []byte("name: web\n# v2\n"), 0o644)
	gitOut(t, work, "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "commit", "-qam", "v2")
	second := gitOut(t, work, "rev-parse", "HEAD")
	gitOut(t, work, "push", "-q", bare, "main")
	if st := waitRepoChange(t, changes, "after a push"); !st.Moved || st.Error != "" {
		t.Fatalf("want a move, got %+v", st)
	}
	if got := gitOut(t, clone, "rev-parse", "refs/heads/main"); got != second {
		t.Fatalf("clone at %s after the fetch, want %s", got, second)
	}

	// The remote goes away: reported, not fatal; back again: reported.
	moved := bare + ".away"
	if err := os.Rename(bare, moved); err != nil {
		t.Fatal(err)
	}
	st := waitRepoChange(t, changes, "with the remote gone")
	if st.Error == "" || !strings.Contains(st.Error, "fetching") {
		t.Fatalf("want a fetch error, got %+v", st)
	}
	if err := os.Rename(moved, bare); err != nil {
		t.Fatal(err)
	}
	if st := waitRepoChange(t, changes, "with the remote back"); st.Error != "" || st.Moved {
		t.Fatalf("want fetching to work again, got %+v", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch: %v", err)
	}
}

func TestFetchInterval(t *testing.T) {
	tests := []struct {
		saved, env string
		want       time.Duration
		bad        bool
	}{
		{want: core.DefaultFetchInterval},
		{saved: "30s", want: 30 * time.Second},
		{saved: "0", want: 0},
		{saved: "30s", env: "0", want: 0},
		{saved: "soon", bad: true},
		{saved: "-1m", bad: true},
	}
	for _, tt := range tests {
		got, err := fetchInterval(settings.Settings{FetchInterval: tt.saved}, func(k string) string {
			if k == "BERTH_FETCH_INTERVAL" {
				return tt.env
			}
			return ""
		})
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("fetchInterval(%q, env %q) = %v, %v; want %v (bad: %v)", tt.saved, tt.env, got, err, tt.want, tt.bad)
		}
	}
}
