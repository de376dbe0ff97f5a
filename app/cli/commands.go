package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/app/root"
	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

func isInvalid(err error) bool {
	var se *spec.Error
	var ses spec.Errors
	return errors.As(err, &se) || errors.As(err, &ses)
}

func isConflict(err error) bool { return errors.Is(err, reconcile.ErrConflict) }

func (a *app) lsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List definitions and the environments on the target engine",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := a.berth.List(cmd.Context())
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(l)
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "DEFINITION\tDESCRIPTION")
			for _, d := range l.Definitions {
				desc := d.Description
				if d.Error != "" {
					desc = "invalid: " + d.Error
				}
				fmt.Fprintf(w, "%s\t%s\n", d.Name, oneLine(desc, 70))
			}
			w.Flush()
			fmt.Fprintln(a.stdout)
			if l.Target.Error != "" {
				fmt.Fprintf(a.stdout, "engine: %s\n", l.Target.Error)
				return nil
			}
			fmt.Fprintf(a.stdout, "engine: %s (Docker %s)\n", l.Target.Host, l.Target.ServerVersion)
			if len(l.Environments) == 0 {
				fmt.Fprintln(a.stdout, "no environments; start one with: berth up DEFINITION")
				return nil
			}
			w = tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ENVIRONMENT\tDEFINITION\tSTATE\tSERVICES\tREVISION")
			for _, e := range l.Environments {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d/%d running\t%s\n", e.Name, e.Definition, e.State, e.Running, e.Containers, short(e.Revision))
			}
			return w.Flush()
		},
	}
}

// loadFlags are up's and plan's --variant and --profile.
type loadFlags struct {
	variant  string
	profiles []string
}

func (f *loadFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.variant, "variant", "", "run this variant of the definition (berth.yaml variants:; \"\" for none; default: the one the environment runs)")
	cmd.Flags().StringSliceVar(&f.profiles, "profile", nil, "enable this Compose profile on top of the definition's (repeat for more; kept for the next up)")
}

func (f *loadFlags) apply(cmd *cobra.Command, req *core.UpRequest) {
	if cmd.Flags().Changed("variant") {
		req.Variant = &f.variant
	}
	if cmd.Flags().Changed("profile") {
		req.Profiles = append([]string{}, f.profiles...)
	}
}

func (a *app) planCommand() *cobra.Command {
	var as string
	var lf loadFlags
	cmd := &cobra.Command{
		Use:   "plan ENV",
		Short: "Show what up would do, each operation with its cause",
		Args:  exactArgs(1, "an environment or definition name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := upRequest(args[0], as)
			lf.apply(cmd, &req)
			res, err := a.berth.Plan(cmd.Context(), req)
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(res)
				return nil
			}
			a.warnings(res.Warnings)
			for _, m := range res.PortMoves {
				fmt.Fprintln(a.stdout, "ports: "+m.String())
			}
			for _, f := range res.LocalFiles {
				fmt.Fprintf(a.stdout, "local: %s read from your checkout (kept out of Git)\n", f)
			}
			fmt.Fprint(a.stdout, res.Plan.Render())
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "plan a copy of definition ENV under this environment name")
	lf.add(cmd)
	return cmd
}

func upRequest(name, as string) core.UpRequest {
	if as != "" {
		return core.UpRequest{Env: as, Definition: name}
	}
	return core.UpRequest{Env: name}
}

func (a *app) upCommand() *cobra.Command {
	var as string
	var lf loadFlags
	var noWait, watch bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "up ENV",
		Short: "Bring an environment up (or up to date) from its definition",
		Long: `Bring an environment up from its definition, or bring a running one up to
date: only the services whose configuration changed are recreated. By default
up waits until every service runs and is healthy where it has a health check.
If up fails on an environment that did not exist, what it created is removed.`,
		Args: exactArgs(1, "an environment or definition name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := upRequest(args[0], as)
			req.Wait, req.WaitTimeout = !noWait, timeout
			lf.apply(cmd, &req)
			pr := a.progress(req.Env)
			res, err := a.berth.Up(cmd.Context(), req, pr.event)
			pr.close()
			if a.json() {
				if err != nil {
					return err
				}
				a.printJSON(res)
				return a.developIf(cmd.Context(), watch, res.Env)
			}
			if err != nil {
				if res != nil && res.Cleaned {
					fmt.Fprintf(a.stderr, "removed what this run had created; %s is as it was\n", req.Env)
				}
				return err
			}
			if res.Plan.Empty() {
				fmt.Fprintf(a.stdout, "%s is up to date\n", res.Env)
			} else {
				fmt.Fprintf(a.stdout, "%s is up (%d operations in %s)\n", res.Env, len(res.Plan.Ops), res.Duration.Round(10*time.Millisecond))
			}
			return a.developIf(cmd.Context(), watch, res.Env)
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "bring definition ENV up as a separate environment with this name")
	cmd.Flags().BoolVar(&watch, "watch", false, "then keep following the definition's develop.watch until Ctrl-C (sync, restart, rebuild)")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once containers are started, without waiting for health")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for services to be running and healthy")
	lf.add(cmd)
	return cmd
}

func (a *app) downCommand() *cobra.Command {
	var volumes bool
	cmd := &cobra.Command{
		Use:   "down ENV",
		Short: "Remove an environment's containers and networks (and volumes with --volumes)",
		Args:  exactArgs(1, "an environment name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pr := a.progress(args[0])
			res, err := a.berth.Down(cmd.Context(), core.DownRequest{Env: args[0], Volumes: volumes}, pr.event)
			pr.close()
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(res)
				return nil
			}
			fmt.Fprintf(a.stdout, "%s is down (%d objects removed in %s)\n", res.Env, len(res.Plan.Ops), res.Duration.Round(10*time.Millisecond))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "also remove the environment's named volumes (its data)")
	return cmd
}

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status ENV",
		Short: "Show an environment's services, their state, health and ports",
		Args:  exactArgs(1, "an environment name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := a.berth.Status(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(env)
				return nil
			}
			variant := ""
			if env.Variant != "" {
				variant = ", variant " + env.Variant
			}
			fmt.Fprintf(a.stdout, "%s (definition %s%s): %s\n", env.Name, env.Definition, variant, env.State)
			for _, m := range env.PortMoves {
				fmt.Fprintln(a.stdout, "ports: "+m.String())
			}
			fmt.Fprintln(a.stdout)
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SERVICE\tSTATE\tHEALTH\tCONTAINERS\tPORTS\tIMAGE\tUPTIME\tRESTARTS")
			for _, s := range env.Services {
				up, restarts := "", 0
				for _, c := range s.Containers {
					restarts += c.Restarts
					if c.State == reconcile.StateRunning && !c.StartedAt.IsZero() && up == "" {
						up = human(time.Since(c.StartedAt))
					}
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%d\n", s.Name, s.State, dash(s.Health), len(s.Containers), s.Replicas,
					ports(s.Ports), s.Image, dash(up), restarts)
			}
			return w.Flush()
		},
	}
}

func (a *app) logsCommand() *cobra.Command {
	var follow bool
	var tail int
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "logs ENV [SERVICE...]",
		Short: "Show an environment's logs, of all services or the ones named",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return usageError{errors.New("logs: want an environment name")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			req := core.LogsRequest{Env: args[0], Services: args[1:], Follow: follow, Tail: tail}
			if since > 0 {
				req.Since = time.Now().Add(-since)
			}
			color := !a.json() && isTerminal(a.stdout)
			width := 0
			err := a.berth.Logs(cmd.Context(), req, func(l core.LogLine) {
				if a.json() {
					a.printJSONLine(l)
					return
				}
				width = max(width, len(l.Container))
				prefix := fmt.Sprintf("%-*s |", width, l.Container)
				if color {
					prefix = colorFor(l.Service) + prefix + "\x1b[0m"
				}
				fmt.Fprintf(a.stdout, "%s %s\n", prefix, l.Text)
			})
			if errors.Is(err, context.Canceled) && follow {
				return nil
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep streaming new lines")
	cmd.Flags().IntVarP(&tail, "tail", "n", -1, "only the last N lines of each container (-1: all)")
	cmd.Flags().DurationVar(&since, "since", 0, "only lines newer than this (e.g. 10m)")
	return cmd
}

// Assets is the built frontend, set by the GUI and web builds.
var Assets fs.FS

// WebOptions are the flags of `berth ui --web`.
type WebOptions struct {
	Addr            string
	TLSCert, TLSKey string
	Insecure        bool
}

// WebServer serves the dashboard; set by main so the CLI does not import
// the web package in builds that leave it out.
var WebServer func(ctx context.Context, r *root.Root, opts WebOptions, assets fs.FS, out func(string)) error

func (a *app) uiCommand() *cobra.Command {
	var web bool
	var wo WebOptions
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Open the desktop app, or serve the dashboard in a browser with --web",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !web {
				if Runner == nil {
					return errors.New("this build has no desktop window (built with -tags nogui); use berth ui --web")
				}
				return Runner(a.root)
			}
			if WebServer == nil {
				return errors.New("this build has no web dashboard")
			}
			return WebServer(cmd.Context(), a.root, wo, Assets, func(s string) { fmt.Fprintln(a.stdout, s) })
		},
	}
	cmd.Flags().BoolVar(&web, "web", false, "serve the dashboard over HTTP instead of opening a window")
	cmd.Flags().StringVar(&wo.Addr, "addr", "127.0.0.1:0", "address to serve on (loopback by default; any other needs --tls-cert and --tls-key, or --insecure)")
	cmd.Flags().StringVar(&wo.TLSCert, "tls-cert", "", "serve https with this certificate (PEM file; with --tls-key)")
	cmd.Flags().StringVar(&wo.TLSKey, "tls-key", "", "the private key of --tls-cert (PEM file)")
	cmd.Flags().BoolVar(&wo.Insecure, "insecure", false, "DANGEROUS: allow plain HTTP on an --addr other than loopback; the access token and everything the dashboard shows cross the network in clear, and whoever sees the token controls Berth")
	return cmd
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print Berth's version",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := Version
			if v == "" {
				v = "dev"
				if bi, ok := debug.ReadBuildInfo(); ok {
					for _, s := range bi.Settings {
						if s.Key == "vcs.revision" {
							v = s.Value
						}
					}
				}
			}
			if a.json() {
				a.printJSON(map[string]string{"version": v})
			} else {
				fmt.Fprintln(a.stdout, "berth", v)
			}
			return nil
		},
	}
}

func (a *app) warnings(ws []spec.Warning) {
	for _, w := range ws {
		fmt.Fprintln(a.stderr, "warning: "+w.String())
	}
}

func (a *app) printJSONLine(v any) {
	b, _ := jsonMarshal(v)
	a.stdout.Write(append(b, '\n'))
}

func isTerminal(w any) bool {
	if u, ok := w.(interface{ Unwrap() io.Writer }); ok {
		w = u.Unwrap()
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

var palette = []string{"\x1b[36m", "\x1b[33m", "\x1b[32m", "\x1b[35m", "\x1b[34m", "\x1b[96m", "\x1b[93m", "\x1b[92m"}

func colorFor(s string) string {
	h := 0
	for _, r := range s {
		h = h*31 + int(r)
	}
	if h < 0 {
		h = -h
	}
	return palette[h%len(palette)]
}

func ports(ps []reconcile.PublishedPort) string {
	seen := map[string]bool{}
	var out []string
	for _, p := range ps {
		if p.HostPort == 0 {
			continue
		}
		ip := p.HostIP
		if ip == "" || ip == "0.0.0.0" || ip == "::" {
			ip = "localhost"
		}
		s := fmt.Sprintf("%s:%d->%d/%s", ip, p.HostPort, p.ContainerPort, p.Protocol)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ",")
}

func human(d time.Duration) string {
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

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return dash(rev)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}
