package cli

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/spec"
)

// dbCommand is `berth db`: database clones, snapshots, restore and reset.
func (a *app) dbCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Database clones: list, clone, snapshot, restore, reset, remove snapshots",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{fmt.Errorf("berth db: name a subcommand (ls, clone, snapshot, restore, reset, rm)")}
		},
	}
	cmd.AddCommand(a.dbLsCommand(), a.dbCloneCommand(), a.dbSnapshotCommand(), a.dbRestoreCommand(), a.dbResetCommand(), a.dbRmCommand())
	return cmd
}

func rangeArgs(lo, hi int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageError{fmt.Errorf("%s: want %s, got %d argument(s)", cmd.CommandPath(), what, len(args))}
		}
		return nil
	}
}

func optArg(args []string, i int) string {
	if len(args) > i {
		return args[i]
	}
	return ""
}

func (a *app) dbLsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "ls ENV",
		Short: "List an environment's databases: source, golden copy, copy strategy, snapshots with size and age",
		Args:  exactArgs(1, "an environment name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dbs, err := a.berth.DBList(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(dbs)
				return nil
			}
			now := time.Now()
			for i, d := range dbs {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				state := "exists"
				if !d.Exists {
					state = "not created yet"
				}
				fmt.Fprintf(a.stdout, "%s/%s (%s)  volume %s (%s)\n", d.Env, d.Service, d.Engine, d.Volume, state)
				fmt.Fprintf(a.stdout, "  source:   %s\n", cmp.Or(strings.TrimSpace(d.Source), "none (the image initialises it)"))
				if d.Strategy != "" {
					fmt.Fprintf(a.stdout, "  copies:   %s\n", d.Strategy)
				}
				if len(d.Snapshots) == 0 {
					fmt.Fprintln(a.stdout, "  snapshots: none")
					continue
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "  ID\tSNAPSHOT\tSIZE\tAGE\tDEPLOYMENT")
				for _, s := range d.Snapshots {
					dep := "-"
					if s.DeploymentID != 0 {
						dep = fmt.Sprintf("#%d", s.DeploymentID)
					}
					fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", s.ID, s.Name, humanBytes(s.Size), humanAge(now.Sub(s.Created)), dep)
				}
				tw.Flush()
			}
			return nil
		},
	}
}

func (a *app) dbCloneCommand() *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "clone ENV [DB]",
		Short: "Replace an environment's database with a fresh copy of a source (default: the manifest's)",
		Long: `Replace an environment's database with a fresh copy of a source. SOURCE is
seed:PATH (a dump in the definition folder), url:VAR (an environment variable
holding a database URL), env:NAME (another environment's database) or
snapshot:NAME; without --from, the source the manifest declares. The database
server is stopped during the copy and started again; its data is replaced only
once the copy is complete.`,
		Args: rangeArgs(1, 2, "an environment and optionally a database service"),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := spec.ParseDatabaseSource(from)
			if err != nil {
				return fmt.Errorf("--from: %w", err) // exit 1, as before the syntax moved here
			}
			pr := a.dbProgress()
			res, err := a.berth.DBClone(cmd.Context(), core.DBCloneRequest{Env: args[0], Service: optArg(args, 1), From: src}, pr.event)
			pr.close()
			return a.dbDone(res, err)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the source: seed:PATH, url:VAR, env:NAME or snapshot:NAME (default: the manifest's)")
	return cmd
}

func (a *app) dbSnapshotCommand() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "snapshot ENV [DB]",
		Short: "Take a snapshot of an environment's database (its server is stopped cleanly for the copy)",
		Args:  rangeArgs(1, 2, "an environment and optionally a database service"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pr := a.dbProgress()
			res, err := a.berth.DBSnapshot(cmd.Context(), core.DBSnapshotRequest{Env: args[0], Service: optArg(args, 1), Name: name}, pr.event)
			pr.close()
			return a.dbDone(res, err)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the snapshot's name (default: the time, as 20060102-150405)")
	return cmd
}

// replaces asks on a terminal before a database's content is replaced;
// without one (or with -o json) --yes must say so.
func (a *app) replaces(yes bool, what string) error {
	if yes {
		return nil
	}
	if a.json() || !isTerminal(os.Stdin) || !isTerminal(a.stderr) {
		return fmt.Errorf("%s replaces the database's content and was not confirmed (use --yes): %w", what, core.ErrConfirm)
	}
	fmt.Fprintf(a.stderr, "%s replaces the database's content (on a copy-on-write store a snapshot keeps what it replaces). Go on? [y/N] ", what)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if answer := strings.ToLower(strings.TrimSpace(line)); answer != "y" && answer != "yes" {
		return fmt.Errorf("%s not done: %w", what, core.ErrConfirm)
	}
	return nil
}

func (a *app) dbRestoreCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "restore ENV SNAPSHOT",
		Short: "Put a snapshot (name or id) back into an environment's database (asks first; --yes for scripts)",
		Args:  exactArgs(2, "an environment and a snapshot"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.replaces(yes, fmt.Sprintf("restoring snapshot %s into %s", args[1], args[0])); err != nil {
				return err
			}
			pr := a.dbProgress()
			res, err := a.berth.DBRestore(cmd.Context(), core.DBRestoreRequest{Env: args[0], Snapshot: args[1]}, pr.event)
			pr.close()
			return a.dbDone(res, err)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "replace the database's content without asking")
	return cmd
}

func (a *app) dbResetCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "reset ENV [DB]",
		Short: "Put the golden copy of the manifest's source back into an environment's database (asks first; --yes for scripts)",
		Args:  rangeArgs(1, 2, "an environment and optionally a database service"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.replaces(yes, "resetting the database of "+args[0]); err != nil {
				return err
			}
			pr := a.dbProgress()
			res, err := a.berth.DBReset(cmd.Context(), core.DBResetRequest{Env: args[0], Service: optArg(args, 1)}, pr.event)
			pr.close()
			return a.dbDone(res, err)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "replace the database's content without asking")
	return cmd
}

func (a *app) dbRmCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rm ENV SNAPSHOT",
		Short: "Remove a snapshot (name or id): its volume and its catalogue entry",
		Args:  exactArgs(2, "an environment and a snapshot"),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := a.berth.DBRemove(cmd.Context(), core.DBRemoveRequest{Env: args[0], Snapshot: args[1]})
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(map[string]any{"env": args[0], "removed": args[1]})
				return nil
			}
			fmt.Fprintf(a.stdout, "removed snapshot %s of %s\n", args[1], args[0])
			return nil
		},
	}
}

// offerData asks on a terminal, after a rollback without --with-data,
// whether to restore the data the environment had at that revision too,
// when a snapshot of it was taken. Without a terminal it says how.
func (a *app) offerData(ctx context.Context, res *core.DeployResult) error {
	if res == nil || a.json() {
		return nil
	}
	snaps, err := a.berth.DataSnapshots(ctx, res.Env, res.Revision.Hash)
	if err != nil || len(snaps) == 0 {
		return nil
	}
	var names []string
	for _, s := range snaps {
		names = append(names, fmt.Sprintf("%s of %s, %s old", s.Name, s.Service, humanAge(time.Since(s.Created))))
	}
	if !isTerminal(os.Stdin) || !isTerminal(a.stderr) {
		fmt.Fprintf(a.stderr, "the data %s had at %s was kept as snapshot %s; restore it with berth db restore %s SNAPSHOT, or roll back with --with-data\n",
			res.Env, res.Revision.Short, strings.Join(names, ", "), res.Env)
		return nil
	}
	fmt.Fprintf(a.stderr, "Restore the data %s had at %s too (snapshot %s)? [y/N] ", res.Env, res.Revision.Short, strings.Join(names, ", "))
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if answer := strings.ToLower(strings.TrimSpace(line)); answer != "y" && answer != "yes" {
		return nil
	}
	pr := a.dbProgress()
	data, err := a.berth.RestoreData(ctx, res.Env, res.Revision.Hash, pr.event)
	pr.close()
	for i := range data {
		if derr := a.dbDone(&data[i], nil); derr != nil {
			return derr
		}
	}
	return err
}

// dbDone renders the end of a database operation.
func (a *app) dbDone(res *core.DBResult, err error) error {
	if err != nil {
		return err
	}
	if a.json() {
		a.printJSON(res)
		return nil
	}
	size := ""
	if res.Bytes > 0 {
		size = ", " + humanBytes(res.Bytes)
	}
	took := res.Duration.Round(10 * time.Millisecond)
	switch res.Op {
	case "snapshot":
		fmt.Fprintf(a.stdout, "snapshot %s (id %d) of %s/%s: %s copy in %s%s\n", res.Snapshot.Name, res.Snapshot.ID, res.Env, res.Service, res.Strategy, took, size)
	default:
		golden := ""
		if res.GoldenLoaded {
			golden = " (golden copy loaded now)"
		}
		fmt.Fprintf(a.stdout, "%s/%s: %s from %s%s: %s copy in %s%s\n", res.Env, res.Service, res.Op, res.From, golden, res.Strategy, took, size)
		if res.Safety != "" {
			fmt.Fprintf(a.stdout, "what it replaced is kept as snapshot %s (berth db restore %s %s puts it back)\n", res.Safety, res.Env, res.Safety)
		}
	}
	return nil
}

// dbProgressView shows database progress on stderr: on a terminal one
// line redrawn in place with bytes copied and an ETA when the size is
// known; otherwise one line per step; nothing with --output json.
type dbProgressView struct {
	mu       sync.Mutex
	w        io.Writer
	live     bool
	quiet    bool
	step     string
	started  time.Time
	drawn    bool
	lastDraw time.Time
}

func (a *app) dbProgress() *dbProgressView {
	return &dbProgressView{w: a.stderr, quiet: a.json(), live: !a.json() && isTerminal(a.stderr)}
}

func (p *dbProgressView) event(ev core.Event) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Kind {
	case core.EventWarning, core.EventMessage:
		p.clearLine()
		prefix := ""
		if ev.Kind == core.EventWarning {
			prefix = "warning: "
		}
		fmt.Fprintf(p.w, "%s%s\n", prefix, ev.Detail)
		return
	case "db":
	default:
		return
	}
	d := ev.DB
	if d == nil {
		return
	}
	if d.Step != p.step {
		if p.live && p.drawn {
			fmt.Fprintln(p.w)
			p.drawn = false
		}
		p.step, p.started = d.Step, time.Now()
		if !p.live {
			fmt.Fprintf(p.w, "  %s\n", d.Step)
			return
		}
	}
	if !p.live || (time.Since(p.lastDraw) < 100*time.Millisecond && d.Done > 0) {
		return
	}
	p.lastDraw = time.Now()
	line := "  " + d.Step
	if d.Done > 0 {
		line += "  " + humanBytes(d.Done)
		if d.Total > 0 {
			pct := min(100, float64(d.Done)*100/float64(d.Total))
			line += fmt.Sprintf(" of %s (%.0f%%)", humanBytes(d.Total), pct)
			if el := time.Since(p.started); d.Done < d.Total && el > time.Second {
				rate := float64(d.Done) / el.Seconds()
				eta := time.Duration(float64(d.Total-d.Done) / rate * float64(time.Second))
				line += "  ETA " + eta.Round(time.Second).String()
			}
		}
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.drawn = true
}

func (p *dbProgressView) clearLine() {
	if p.live && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
		p.step = ""
	}
}

func (p *dbProgressView) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func humanBytes(n int64) string {
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

func humanAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
