package dbclone

import (
	"context"
	"fmt"
	"strings"
)

// RemoveHelpers kills and removes the helpers an environment's operation
// left running when its process was killed: a copy that would go on
// writing into the database's volume while the next operation starts on
// it. Call it only while holding the environment's lock (no live process
// of Berth then runs one for it).
//
// The copy-on-write probe's volumes made for env go too: a killed probe
// leaves one behind.
func (c *Cloner) RemoveHelpers(ctx context.Context, env string) (int, error) {
	if env == "" {
		return 0, fmt.Errorf("remove helpers: no environment named")
	}
	n, err := c.eng.RemoveHelpers(ctx, map[string]string{LabelEnv: env})
	if err != nil {
		return n, err
	}
	probes, err := c.eng.Volumes(ctx, map[string]string{LabelRole: RoleProbe, LabelEnv: env})
	if err != nil {
		return n, err
	}
	for _, v := range probes {
		// Best effort: a probe volume still in use (a `db ls` probing
		// beside this operation) is left for the next clean-up rather than
		// failing the operation over a 1 MiB scratch volume.
		_ = c.eng.RemoveVolume(ctx, v.Name)
	}
	return n, nil
}

// Settled is what Settle found in a volume.
type Settled struct {
	// Changed: a copy was swapped in or dropped.
	Changed bool
	// Empty: the volume holds nothing (a clone into it never completed).
	Empty bool
}

// Settle finishes or undoes what a killed copy left in t's volume (see
// swapFunctions): a complete staged copy is swapped in, an incomplete one
// dropped, never both the old and the new data. It says whether there was
// anything to settle and whether the volume is left empty. A volume that
// does not exist needs nothing.
func (c *Cloner) Settle(ctx context.Context, t Target) (Settled, error) {
	if _, ok, err := c.eng.InspectVolume(ctx, t.Volume); err != nil || !ok {
		return Settled{}, err
	}
	res, err := c.eng.RunHelper(ctx, Helper{Image: t.Image, Network: NoNetwork, Labels: map[string]string{LabelEnv: t.Env},
		Cmd: []string{"bash", "-c", settleScript}, Mounts: []Mount{{Volume: t.Volume, Target: "/to"}}})
	if err != nil {
		return Settled{}, fmt.Errorf("settling volume %s: %w", t.Volume, err)
	}
	if res.ExitCode != 0 {
		return Settled{}, fmt.Errorf("settling volume %s: exit %d\n%s", t.Volume, res.ExitCode, lastLines(res.Output, 6))
	}
	return Settled{
		Changed: strings.Contains(res.Output, "berth-step finishing") || strings.Contains(res.Output, "berth-step dropping"),
		Empty:   strings.Contains(res.Output, "berth-empty"),
	}, nil
}

// StartServer starts t's database container again (a copy stopped it).
func (c *Cloner) StartServer(ctx context.Context, t Target) error {
	if t.Container == "" {
		return nil
	}
	return c.eng.StartContainer(ctx, t.Container)
}
