package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/internal/core"
)

func (a *app) gcCommand() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove workspaces (materialised revisions) that no environment needs",
		Long: `Each revision Berth deploys is materialised into a read-only workspace in
its data folder. berth gc removes those that no environment needs: it keeps
the workspaces of every environment's current deployment, last successful
deployment, rollback target and running operations, and those used within
the last workspaceKeepDays days (setting or BERTH_WORKSPACE_KEEP_DAYS;
default 14; always at least the last hour). Berth also does this after each
successful deploy and rollback. It waits for materialisations under way in
other processes and never removes a workspace they use.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := a.berth.PruneWorkspaces(cmd.Context(), core.PruneRequest{DryRun: dryRun})
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(res)
				return nil
			}
			a.printPrune(res)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be removed, remove nothing")
	return cmd
}

func (a *app) printPrune(res *core.PruneResult) {
	verb, freed := "removed", "freed"
	if res.DryRun {
		verb, freed = "would remove", "would free"
	}
	fmt.Fprintf(a.stdout, "%s %d workspace(s), %s %s; kept %d\n", verb, len(res.Removed), freed, size(res.BytesFreed), len(res.Kept))
	for _, e := range res.Removed {
		fmt.Fprintf(a.stdout, "  - %s  last used %s  %s\n", short(e.Tree), e.LastUsed.Local().Format(time.DateTime), size(e.Bytes))
	}
	for _, e := range res.Kept {
		fmt.Fprintf(a.stdout, "  = %s  %s\n", short(e.Tree), e.Kept)
	}
	if res.Leftovers > 0 {
		fmt.Fprintf(a.stdout, "%s %d folder(s) left by interrupted operations\n", verb, res.Leftovers)
	}
}

// size is a byte count for people.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
