package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/internal/core"
)

// errPreflight is returned when a preflight check failed (the checks are
// printed already).
var errPreflight = errors.New("a preflight check failed")

// doctorCommand runs the preflight alone.
func (a *app) doctorCommand() *cobra.Command {
	var as string
	var lf loadFlags
	cmd := &cobra.Command{
		Use:   "doctor [DEFINITION]",
		Short: "Check that a definition can come up here: engine, trust, secrets, ports, images, disk, memory",
		Long: `Run the checks berth open runs before an up, and say for each what it found
and what to do: the engine answers (and its version), the definition is
trusted, its required secrets are set, its published ports are free (or where
they will move), its images are present, built from source or pullable, and
the engine's host has the disk and memory it needs. Without a definition,
every definition is checked. Exit code 12 when a check fails.`,
		Args: rangeArgs(0, 1, "optionally a definition"),
		RunE: func(cmd *cobra.Command, args []string) error {
			defs := args
			if len(defs) == 0 {
				l, err := a.berth.List(cmd.Context())
				if err != nil {
					return err
				}
				for _, d := range l.Definitions {
					defs = append(defs, d.Name)
				}
				if len(defs) == 0 {
					return fmt.Errorf("%w: no definitions in the definitions folder", core.ErrNotFound)
				}
			}
			var all []*core.Preflight
			failed := false
			for _, d := range defs {
				req := core.PreflightRequest{Definition: d, Env: as}
				if cmd.Flags().Changed("variant") {
					req.Variant = &lf.variant
				}
				pf, err := a.berth.Preflight(cmd.Context(), req)
				if err != nil {
					return err
				}
				all = append(all, pf)
				failed = failed || !pf.OK
				if !a.json() {
					a.printPreflight(pf)
				}
			}
			if a.json() {
				if len(args) == 1 {
					a.printJSON(all[0])
				} else {
					a.printJSON(all)
				}
			}
			if failed {
				return errPreflight
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "check the definition run under this environment name (its ports and settings)")
	cmd.Flags().StringVar(&lf.variant, "variant", "", "check this variant of the definition")
	return cmd
}

// printPreflight prints the checks, one a line, with the fix under a
// check that is not ok.
func (a *app) printPreflight(pf *core.Preflight) {
	head := "preflight of " + pf.Definition
	if pf.Env != pf.Definition {
		head += " as " + pf.Env
	}
	if pf.Engine != "" {
		head += " on " + pf.Engine
	}
	fmt.Fprintf(a.stdout, "%s (%s)\n", head, pf.Took.Round(time.Millisecond))
	mark := map[string]string{core.CheckOK: "ok  ", core.CheckWarn: "warn", core.CheckFail: "FAIL", core.CheckSkip: "skip"}
	for _, c := range pf.Checks {
		fmt.Fprintf(a.stdout, "  %s  %-10s %s\n", mark[c.Status], c.Name, c.Detail)
		if c.Fix != "" && (c.Status == core.CheckFail || c.Status == core.CheckWarn) {
			fmt.Fprintf(a.stdout, "        %-10s fix: %s\n", "", c.Fix)
		}
	}
}

// openCommand: from a repo to a running stack.
func (a *app) openCommand() *cobra.Command {
	var as, into string
	var lf loadFlags
	var noUp bool
	cmd := &cobra.Command{
		Use:   "open REPO [DEFINITION]",
		Short: "Open a definitions repo (a URL to clone, or a path), check a definition and bring it up",
		Long: `Day one in one command. REPO is a Git URL (cloned into --into, default a
folder named after the repo in the current directory, as git clone does; a
clone already there is used) or a path. It becomes the saved definitions
folder (its environments/ when it has one), so later commands and the app work
on it. Its definitions are listed; the one named (or the only one) is checked
(berth doctor) and, when no check fails, brought up with its databases.
An untrusted definition is asked about on a terminal (or take --trust).`,
		Args: rangeArgs(1, 2, "a repo (URL or path) and optionally a definition"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			opened, err := a.root.OpenRepo(ctx, args[0], into, "")
			if err != nil {
				return err
			}
			l, err := a.berth.List(ctx)
			if err != nil {
				return err
			}
			if !a.json() {
				what := "opened"
				if opened.Cloned {
					what = "cloned into"
				}
				fmt.Fprintf(a.stdout, "%s %s: %d definitions in %s\n", what, opened.Repo, len(l.Definitions), opened.DefinitionsDir)
				for _, d := range l.Definitions {
					fmt.Fprintf(a.stdout, "  %-16s %s\n", d.Name, d.Description)
				}
				if opened.Overridden != "" {
					fmt.Fprintf(a.stderr, "note: later commands read %s (--definitions or BERTH_DEFINITIONS wins over the saved folder)\n", opened.Overridden)
				}
			}
			def := optArg(args, 1)
			names := make([]string, len(l.Definitions))
			for i, d := range l.Definitions {
				names[i] = d.Name
			}
			switch {
			case def == "" && len(names) == 1:
				def = names[0]
			case def == "" && len(names) == 0:
				return fmt.Errorf("%w: no definitions in %s (a definition is a folder with a berth.yaml)", core.ErrNotFound, opened.DefinitionsDir)
			case def == "":
				return usageError{fmt.Errorf("%s holds %d definitions (%s): name one, as in berth open %s %s", opened.Repo, len(names), strings.Join(names, ", "), args[0], names[0])}
			case !slices.Contains(names, def):
				return fmt.Errorf("%w: no definition %q in %s (there are: %s)", core.ErrNotFound, def, opened.DefinitionsDir, strings.Join(names, ", "))
			}
			req := core.PreflightRequest{Definition: def, Env: as}
			if cmd.Flags().Changed("variant") {
				req.Variant = &lf.variant
			}
			pf, err := a.berth.Preflight(ctx, req)
			if err != nil {
				return err
			}
			if !a.json() {
				a.printPreflight(pf)
			}
			result := openResult{Opened: opened, Definitions: l.Definitions, Preflight: pf}
			// Trust is asked by the up itself (or granted by --trust):
			// every other failed check stops here.
			for _, c := range pf.Checks {
				if c.Status == core.CheckFail && c.Name != "trust" {
					if a.json() {
						a.printJSON(result)
					}
					return errPreflight
				}
			}
			if noUp {
				if a.json() {
					a.printJSON(result)
				}
				return nil
			}
			up := upRequest(def, as)
			up.Wait, up.WaitTimeout = true, 10*time.Minute
			lf.apply(cmd, &up)
			pr := a.progress(up.Env)
			res, err := a.berth.Up(ctx, up, pr.event)
			pr.close()
			if err != nil {
				return err
			}
			result.Up = res
			if a.json() {
				a.printJSON(result)
				return nil
			}
			fmt.Fprintf(a.stdout, "%s is up (%d operations in %s)\n", res.Env, len(res.Plan.Ops), res.Duration.Round(10*time.Millisecond))
			if st, err := a.berth.Status(ctx, res.Env); err == nil {
				for _, s := range st.Services {
					for _, p := range s.Ports {
						host := p.HostIP
						if host == "" || host == "0.0.0.0" || host == "::" {
							host = "localhost"
						}
						fmt.Fprintf(a.stdout, "  %-10s %s:%d (%d/%s)\n", s.Name, host, p.HostPort, p.ContainerPort, p.Protocol)
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "bring the definition up under this environment name")
	cmd.Flags().StringVar(&into, "into", "", "folder to clone a URL into (default: the repo's name, in the current directory)")
	cmd.Flags().BoolVar(&noUp, "no-up", false, "open and check only; bring nothing up")
	lf.add(cmd)
	return cmd
}

// openResult is berth open -o json.
type openResult struct {
	Opened      *core.OpenedRepo  `json:"opened"`
	Definitions []core.Definition `json:"definitions"`
	Preflight   *core.Preflight   `json:"preflight"`
	Up          *core.Result      `json:"up,omitempty"`
}
