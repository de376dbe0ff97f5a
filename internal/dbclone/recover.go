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
func (c *Cloner) RemoveHelpers(ctx context.Context, env string) (int, error) {
	if env == "" {
		return 0, fmt.Errorf("remove helpers: no environment named")
	}
	return c.eng.RemoveHelpers(ctx, map[string]string{LabelEnv: env})
}

// Settle finishes or undoes what a killed copy left in t's volume (see
// swapFunctions): a complete staged copy is swapped in, an incomplete one
// dropped, never both the old and the new data. It says whether there was
// anything to settle. A volume that does not exist needs nothing.
func (c *Cloner) Settle(ctx context.Context, t Target) (bool, error) {
	if _, ok, err := c.eng.InspectVolume(ctx, t.Volume); err != nil || !ok {
		return false, err
	}
	res, err := c.eng.RunHelper(ctx, Helper{Image: t.Image, Network: NoNetwork, Labels: map[string]string{LabelEnv: t.Env},
		Cmd: []string{"bash", "-c", settleScript}, Mounts: []Mount{{Volume: t.Volume, Target: "/to"}}})
	if err != nil {
		return false, fmt.Errorf("settling volume %s: %w", t.Volume, err)
	}
	if res.ExitCode != 0 {
		return false, fmt.Errorf("settling volume %s: exit %d\n%s", t.Volume, res.ExitCode, lastLines(res.Output, 6))
	}
	return strings.Contains(res.Output, "berth-step finishing") || strings.Contains(res.Output, "berth-step dropping"), nil
}
