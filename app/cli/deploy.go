package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/internal/core"
)

func (a *app) revisionsCommand() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "revisions ENV",
		Short: "List the commits that touch an environment's definition, marking the one deployed",
		Args:  exactArgs(1, "an environment or definition name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			revs, err := a.berth.Revisions(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(revs)
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "\tREVISION\tDATE\tAUTHOR\tMESSAGE")
			for _, r := range revs {
				mark := ""
				if r.Deployed {
					mark = "*"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", mark, r.Short, r.When.Local().Format("2006-01-02 15:04"), r.Author, oneLine(r.Message, 60))
			}
			return w.Flush()
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 50, "at most this many (0: all)")
	return cmd
}

func (a *app) deployCommand() *cobra.Command {
	var as, variant string
	var yes bool
	cmd := &cobra.Command{
		Use:   "deploy ENV [REV]",
		Short: "Deploy an environment's definition at a revision (default: the branch head)",
		Long: `Deploy materialises the definition at a revision of the definitions repo
(default: the head of the tracked branch) and brings the environment to it:
only the services whose configuration changed are recreated. The plan is shown
and, when it removes or replaces containers, confirmed first (--yes skips the
question; without a terminal, --yes is required). Deploy waits for health
within health.timeout of berth.yaml; when that fails it rolls back to the last
good revision on its own. Every deploy is recorded (berth history).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{fmt.Errorf("%s: want an environment name and optionally a revision, got %d argument(s)", cmd.CommandPath(), len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			req := core.DeployRequest{Env: args[0], Yes: yes}
			if as != "" {
				req.Env, req.Definition = as, args[0]
			}
			if cmd.Flags().Changed("variant") {
				req.Variant = &variant
			}
			if len(args) == 2 {
				req.Rev = args[1]
			}
			pr := a.progress(req.Env)
			res, err := a.berth.Deploy(cmd.Context(), req, a.confirm(pr), pr.event)
			pr.close()
			return a.deployed(res, err)
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "deploy definition ENV as a separate environment with this name")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "apply a plan that removes or replaces containers without asking")
	cmd.Flags().StringVar(&variant, "variant", "", "switch the environment to this variant of its definition (\"\" for none; default: the one it runs)")
	return cmd
}

func (a *app) rollbackCommand() *cobra.Command {
	var to string
	var yes, withData bool
	cmd := &cobra.Command{
		Use:   "rollback ENV",
		Short: "Take an environment back to an earlier revision (default: the last good one before the current)",
		Args:  exactArgs(1, "an environment name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pr := a.progress(args[0])
			res, err := a.berth.Rollback(cmd.Context(), core.RollbackRequest{Env: args[0], To: to, Yes: yes, WithData: withData}, a.confirm(pr), pr.event)
			pr.close()
			if err == nil && !withData {
				err = a.offerData(cmd.Context(), res) // db.go
			}
			return a.deployed(res, err)
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the revision to go back to (default: the last successful deployment before the current one)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "apply a plan that removes or replaces containers without asking")
	cmd.Flags().BoolVar(&withData, "with-data", false, "also restore the database snapshots taken when the environment left that revision")
	return cmd
}

// deployed renders the end of a deploy or rollback.
func (a *app) deployed(res *core.DeployResult, err error) error {
	if a.json() {
		if err != nil {
			return err
		}
		a.printJSON(res)
		return nil
	}
	if err != nil {
		return err
	}
	for _, f := range res.LocalFiles {
		fmt.Fprintf(a.stdout, "local: %s read from your checkout (kept out of Git)\n", f)
	}
	if res.Plan.Empty() {
		fmt.Fprintf(a.stdout, "%s is at %s and up to date (%s #%d)\n", res.Env, res.Revision.Short, res.Kind, res.ID)
	} else {
		fmt.Fprintf(a.stdout, "%s is at %s (%s #%d: %d operations in %s)\n", res.Env, res.Revision.Short, res.Kind, res.ID,
			len(res.Plan.Ops), res.Duration.Round(10*time.Millisecond))
	}
	return nil
}

// confirm asks on the terminal before a destructive plan is applied; with
// no terminal it refuses (the caller says to use --yes).
func (a *app) confirm(pr *progress) core.Confirm {
	return func(p core.DeployPlan) bool {
		if a.json() || !isTerminal(os.Stdin) || !isTerminal(a.stderr) {
			return false
		}
		pr.pause()
		defer pr.resume()
		fmt.Fprint(a.stderr, p.Result.Plan.Render())
		fmt.Fprintf(a.stderr, "%s %s at %s removes or replaces containers. Apply? [y/N] ", p.Kind, p.Env, p.Revision.Short)
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		answer := strings.ToLower(strings.TrimSpace(line))
		return answer == "y" || answer == "yes"
	}
}

func (a *app) historyCommand() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "history ENV",
		Short: "Show an environment's recorded operations: who, what, when, how long, result",
		Args:  exactArgs(1, "an environment name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ds, err := a.berth.History(cmd.Context(), args[0], core.HistoryFilter{Limit: limit})
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(ds)
				return nil
			}
			if len(ds) == 0 {
				fmt.Fprintf(a.stdout, "no recorded operations on %s\n", args[0])
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tKIND\tREVISION\tSTATUS\tSTARTED\tTOOK\tWHO\tERROR")
			for _, d := range ds {
				who := d.Who.GitName
				if who == "" {
					who = d.Who.OSUser
				}
				if d.Who.Host != "" {
					who += "@" + d.Who.Host
				}
				took := "-"
				if d.Duration > 0 {
					took = d.Duration.Round(10 * time.Millisecond).String()
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Kind, short(d.Revision), d.Status,
					d.StartedAt.Local().Format("2006-01-02 15:04:05"), took, who, oneLine(d.Error, 60))
			}
			return w.Flush()
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 0, "at most this many, newest first (0: all)")
	return cmd
}
