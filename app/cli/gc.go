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
		Short: "Remove workspaces (materialised revisions) and golden copies that nothing needs",
		Long: `Each revision Berth deploys is materialised into a read-only workspace in
its data folder. berth gc removes those that no environment needs: it keeps
the workspaces of every environment's current deployment, last successful
deployment, rollback target and running operations, and those used within
the last workspaceKeepDays days (setting or BERTH_WORKSPACE_KEEP_DAYS;
default 14; always at least the last hour). Berth also does this after each
successful deploy and rollback. It waits for materialisations under way in
other processes and never removes a workspace they use.

It also removes the golden copies of database sources (the volumes a seed
or a database URL is loaded into once, which clones are copied from) that
this installation used and nothing needs any more: it keeps those the
databases of every environment clone from (at the revision each runs; for
one whose definition cannot be loaded here, what its latest clone came
from), those of every definition in the definitions folder, and those used
within the same keep period. Golden copies it has no record of using (another
installation's on a shared engine) are left alone, and one a clone is
copying from is never removed. Only berth gc does this.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := a.berth.PruneWorkspaces(cmd.Context(), core.PruneRequest{DryRun: dryRun, Golden: true})
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
	fmt.Fprintf(a.stdout, "%s %d workspace(s), %s %s; kept %d\n", verb, len(res.Removed), freed, humanBytes(res.BytesFreed), len(res.Kept))
	for _, e := range res.Removed {
		fmt.Fprintf(a.stdout, "  - %s  last used %s  %s\n", short(e.Tree), e.LastUsed.Local().Format(time.DateTime), humanBytes(e.Bytes))
	}
	for _, e := range res.Kept {
		fmt.Fprintf(a.stdout, "  = %s  %s\n", short(e.Tree), e.Kept)
	}
	if res.Leftovers > 0 {
		fmt.Fprintf(a.stdout, "%s %d folder(s) left by interrupted operations\n", verb, res.Leftovers)
	}
	g := res.Golden
	switch {
	case g == nil:
	case g.Skipped != "":
		fmt.Fprintf(a.stdout, "golden copies: none removed: %s\n", g.Skipped)
	default:
		fmt.Fprintf(a.stdout, "%s %d golden cop(ies), %s %s; kept %d\n", verb, len(g.Removed), freed, humanBytes(g.BytesFreed), len(g.Kept))
		for _, e := range g.Removed {
			fmt.Fprintf(a.stdout, "  - %s  %s  last used %s  %s\n", e.Volume, e.Source, e.LastUsed.Local().Format(time.DateTime), humanBytes(e.Bytes))
		}
		for _, e := range g.Kept {
			fmt.Fprintf(a.stdout, "  = %s  %s  %s\n", e.Volume, e.Source, e.Kept)
		}
		for _, n := range g.Notes {
			fmt.Fprintf(a.stdout, "  note: %s\n", n)
		}
		if g.Others > 0 {
			fmt.Fprintf(a.stdout, "  left alone: %d golden cop(ies) this installation has no record of using\n", g.Others)
		}
	}
}
