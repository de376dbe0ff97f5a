package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/drift"
)

// errDrifted ends `berth check` with ExitDrift once the report is out.
var errDrifted = errors.New("drifted")

// driftCommands are check, sync, adopt and discard.
func (a *app) driftCommands() []*cobra.Command {
	return []*cobra.Command{a.checkCommand(), a.syncCommand(), a.adoptCommand(), a.discardCommand()}
}

func (a *app) checkCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check ENV",
		Short: "Report an environment's drift from its deployed revision (exit 10 when drifted)",
		Long: `Check compares an environment with the revision it was deployed from:
runtime (containers as the engine reports them, field by field, after what the
engine and the image fill in is set aside), files (the workspace against the
commit's blobs), upstream (commits of the tracked branch that touch the
definition and are not deployed) and local (uncommitted edits to the definition
in your checkout). It changes nothing. Exit 0: in sync; exit 10: drifted.`,
		Args: exactArgs(1, "an environment name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.berth.Check(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(r)
			} else {
				a.renderDrift(r)
			}
			if !r.InSync {
				return errDrifted
			}
			return nil
		},
	}
}

func (a *app) renderDrift(r *core.DriftReport) {
	w := a.stdout
	rev := "no revision"
	if r.Revision != "" {
		rev = short(r.Revision)
	}
	if r.InSync {
		fmt.Fprintf(w, "%s is in sync with %s (%s)\n", r.Env, r.Definition, rev)
	} else {
		fmt.Fprintf(w, "%s has drifted from %s (%s), policy %s\n", r.Env, r.Definition, rev, r.Policy)
	}
	if len(r.Runtime) > 0 {
		fmt.Fprintln(w, "runtime:")
		for _, it := range r.Runtime {
			fmt.Fprintln(w, "  "+driftLine(it))
		}
	}
	if len(r.Files) > 0 {
		fmt.Fprintf(w, "files (workspace %s):\n", r.Workspace)
		for _, f := range r.Files {
			fmt.Fprintf(w, "  %-12s %s\n", f.Kind, f.Path)
		}
	}
	if u := r.Upstream; u != nil && u.Behind > 0 {
		fmt.Fprintf(w, "upstream: %s is %d commit(s) ahead for this definition (head %s: %s)\n", u.Branch, u.Behind, u.Head.Short, oneLine(u.Head.Message, 60))
	}
	if len(r.Local) > 0 {
		fmt.Fprintln(w, "local changes (uncommitted in your checkout):")
		for _, f := range r.Local {
			fmt.Fprintf(w, "  %-12s %s\n", f.Kind, f.Path)
		}
	}
	if r.Ignored > 0 {
		fmt.Fprintf(w, "(%d difference(s) ignored by the manifest's drift settings)\n", r.Ignored)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
}

func driftLine(it drift.Item) string {
	where := it.Service
	if where == "" {
		where = "(environment)"
	}
	if it.Container != "" {
		where += " [" + it.Container + "]"
	}
	val := func(s *string) string {
		if s == nil {
			return "(none)"
		}
		return fmt.Sprintf("%q", *s)
	}
	path := it.Path
	if path == "" {
		path = "/"
	}
	return fmt.Sprintf("%-9s %s %s: want %s, runs %s", it.Kind, where, path, val(it.Desired), val(it.Live))
}

func (a *app) syncCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "sync ENV",
		Short: "Heal an environment's drift: put the workspace and the containers back as committed",
		Long: `Sync puts the environment back to its deployed revision: workspace files are
restored in place, then the plan that undoes the runtime drift (start what
stopped, create what is missing, recreate what was changed in place) is shown
and applied. A plan that replaces containers is confirmed first (--yes skips
the question). Containers Berth did not create are never touched. Recorded in
berth history as a heal.`,
		Args: exactArgs(1, "an environment name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pr := a.progress(args[0])
			res, err := a.berth.Sync(cmd.Context(), args[0], yes, a.confirm(pr), pr.event)
			pr.close()
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(res)
				return nil
			}
			for _, f := range res.Restored {
				fmt.Fprintf(a.stdout, "restored %s (%s)\n", f.Path, f.Kind)
			}
			if res.Plan.Empty() {
				fmt.Fprintf(a.stdout, "%s: no container to change\n", res.Env)
			} else {
				fmt.Fprintf(a.stdout, "%s healed (heal #%d: %d operations in %s)\n", res.Env, res.ID, len(res.Plan.Ops), res.Duration.Round(10*time.Millisecond))
			}
			if res.After != nil && !res.After.InSync {
				fmt.Fprintln(a.stdout, "still drifting:")
				a.renderDrift(res.After)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "apply a plan that replaces containers without asking")
	return cmd
}

func (a *app) adoptCommand() *cobra.Command {
	var branch string
	cmd := &cobra.Command{
		Use:   "adopt ENV",
		Short: "Turn an environment's drift into a commit on a new branch (never pushed)",
		Long: `Adopt writes the environment's deliberate drift into a commit on a new branch
of the definitions repo, based on the deployed revision, with your Git
identity: edited workspace files, and runtime changes that map cleanly onto
the Compose file (an environment variable, an image tag). The environment is
not changed and nothing is pushed.`,
		Args: exactArgs(1, "an environment name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := a.berth.Adopt(cmd.Context(), core.AdoptRequest{Env: args[0], Branch: branch})
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(res)
				return nil
			}
			fmt.Fprintf(a.stdout, "committed %s on branch %s: %s\n", res.Commit.Short, res.Branch, strings.Join(res.Files, ", "))
			for _, r := range res.Refused {
				fmt.Fprintln(a.stdout, "not adopted (looks secret): "+r)
			}
			for _, it := range res.Left {
				fmt.Fprintln(a.stdout, "not adopted (no clean Compose mapping): "+driftLine(it))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&branch, "branch", "", "name of the new branch (default berth/adopt-ENV-TIME)")
	return cmd
}

func (a *app) discardCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "discard ENV",
		Short: "Drop the edits made in an environment's workspace (files back to the commit)",
		Args:  exactArgs(1, "an environment name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := a.berth.Discard(cmd.Context(), args[0], nil)
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(out)
				return nil
			}
			if len(out) == 0 {
				fmt.Fprintf(a.stdout, "%s: the workspace has no edits\n", args[0])
			}
			for _, f := range out {
				fmt.Fprintf(a.stdout, "restored %s (%s)\n", f.Path, f.Kind)
			}
			return nil
		},
	}
}
