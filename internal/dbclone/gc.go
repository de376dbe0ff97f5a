package dbclone

import (
	"context"
	"sort"
	"strconv"
	"time"
)

// GoldenCopy is one golden copy on the engine, for a clean-up to judge.
type GoldenCopy struct {
	Volume string
	// Source describes what it was loaded from (no secrets).
	Source string
	Image  string
	// Ready says its load finished; LoadedAt is then when, else Created
	// is when the load began (a load under way, or one that was killed).
	Ready    bool
	LoadedAt time.Time
	Created  time.Time
	// Bytes is its size when known.
	Bytes int64
}

// GoldenCopies lists the golden copies on the engine, finished or not,
// oldest first.
func (c *Cloner) GoldenCopies(ctx context.Context) ([]GoldenCopy, error) {
	vols, err := c.eng.Volumes(ctx, map[string]string{LabelRole: RoleGolden})
	if err != nil {
		return nil, err
	}
	out := []GoldenCopy{}
	for _, v := range vols {
		if !v.Managed {
			continue
		}
		g := GoldenCopy{Volume: v.Name, Source: v.Labels[LabelSource], Image: v.Labels[LabelImage], Created: v.Created}
		if r, ok, err := c.readyGolden(ctx, v.Name, v.Labels[LabelKey]); err != nil {
			return nil, err
		} else if ok {
			g.Ready = true
			g.LoadedAt, _ = time.Parse(time.RFC3339, r.Labels[LabelLoadedAt])
			g.Bytes, _ = strconv.ParseInt(r.Labels[LabelSize], 10, 64)
		}
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].when().Before(out[j].when()) })
	return out, nil
}

func (g GoldenCopy) when() time.Time {
	if g.Ready && !g.LoadedAt.IsZero() {
		return g.LoadedAt
	}
	return g.Created
}

// RemoveGoldenCopy removes a golden copy for a clean-up: the data first,
// which the engine refuses while a helper copies from it (the copy then
// goes on, and the copy stays), then its ready marker.
func (c *Cloner) RemoveGoldenCopy(ctx context.Context, name string) error {
	if err := c.eng.RemoveVolume(ctx, name); err != nil {
		return err
	}
	return c.eng.RemoveVolume(ctx, name+readySuffix)
}
