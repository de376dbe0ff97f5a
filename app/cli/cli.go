// Package cli is Berth's command line: it parses flags, calls core and
// renders text or JSON. It decides nothing itself.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/app/root"
	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/secret"
)

// Exit codes, documented in the README.
const (
	ExitOK        = 0   // done
	ExitFailed    = 1   // the operation failed (engine, build, apply)
	ExitUsage     = 2   // bad command line
	ExitInvalid   = 3   // a definition is invalid (file:line: field: message) or reaches outside its workspace
	ExitEngine    = 4   // the Docker engine cannot be reached
	ExitConflict  = 5   // a name Berth needs is taken by an object it did not create
	ExitNotFound  = 6   // no such environment, definition, service, revision or repo path
	ExitConfirm   = 7   // the plan is destructive and was not confirmed (no terminal to ask, no --yes, or answered no)
	ExitBusy      = 8   // another operation runs on this environment (the holder is named)
	ExitAuth      = 9   // the definitions repo refused the credentials, or needs some (token, ssh key, known host)
	ExitDrift     = 10  // berth check: the environment has drifted from its deployed revision
	ExitUntrusted = 11  // the definition's capabilities are not trusted (no terminal to ask, no --trust, or answered no), or the settings refuse them
	ExitPreflight = 12  // berth doctor or berth open: a preflight check failed
	ExitInterrupt = 130 // interrupted (Ctrl-C)
)

// Runner opens the desktop window over the composition root the command
// line built (so --definitions, --host and --context apply over the saved
// settings); the GUI build sets it so that `berth` with no arguments opens
// the window.
var Runner func(r *root.Root) error

// Version is Berth's version, stamped in at build time with
// -ldflags "-X github.com/berthdev/berth/app/cli.Version=V" where V is what
// scripts/version.sh prints (scripts/build.sh, make cli and make package do
// it). A plain go build leaves it empty: berth version then prints the
// commit the binary was built from, or "dev".
var Version string

type options struct {
	definitions string
	host        string
	context     string
	output      string
	repo        string
	branch      string
	stateDir    string
	trust       bool
}

type app struct {
	opts   options
	stdout io.Writer
	stderr io.Writer
	berth  *core.Berth
	root   *root.Root
	live   livePause // the progress display a trust question clears (trust.go)
}

// Main runs the command line and returns the exit code.
func Main(args []string) int {
	return run(context.Background(), args, os.Stdout, os.Stderr)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Every value of a stored secret Berth reads is masked in what it
	// prints, whatever prints it (container logs too).
	stdout, stderr = secret.RedactWriter(stdout), secret.RedactWriter(stderr)
	a := &app{stdout: stdout, stderr: stderr}
	cmd := a.rootCommand()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.ExecuteContext(ctx)
	if a.root != nil {
		a.root.Close()
	}
	if err == nil {
		return ExitOK
	}
	var ce commandExit
	if errors.As(err, &ce) {
		return ce.code // the command's own exit code; it said what it had to
	}
	code := exitCode(err)
	var rep reported
	if errors.Is(err, errDrifted) || errors.Is(err, errPreflight) || errors.As(err, &rep) {
		return code // the report says it
	}
	if ctx.Err() != nil {
		code = ExitInterrupt
	}
	if a.opts.output == "json" {
		a.printJSON(map[string]any{"error": map[string]any{"message": err.Error(), "code": code}})
	} else {
		fmt.Fprintln(stderr, "berth: "+err.Error())
	}
	return code
}

type usageError struct{ error }

// reported is an error whose report the command has printed already: only
// its exit code is left to give.
type reported struct{ error }

func (r reported) Unwrap() error { return r.error }

func (a *app) rootCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "berth",
		Short: "Environments from Git, running on Docker, each with its own database",
		Long: `Berth reads environment definitions (a berth.yaml manifest plus ordinary
Compose files) and brings them up as Docker environments on the engine of your
Docker context. In the desktop build, berth without arguments opens the app.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if Runner != nil {
				return Runner(a.root)
			}
			return cmd.Help()
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if a.opts.output != "text" && a.opts.output != "json" {
				return usageError{fmt.Errorf("--output must be text or json, not %q", a.opts.output)}
			}
			// Flags win over the environment, which wins over the saved
			// settings (root.Resolve).
			a.root = root.New(root.Config{DefinitionsDir: a.opts.definitions, DockerHost: a.opts.host, DockerContext: a.opts.context,
				Repo: a.opts.repo, Branch: a.opts.branch, StateDir: a.opts.stateDir})
			a.berth = a.root.Core()
			cmd.SetContext(a.trustContext(cmd.Context()))
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	f := cmd.PersistentFlags()
	f.StringVarP(&a.opts.output, "output", "o", "text", "output format: text or json")
	f.StringVar(&a.opts.definitions, "definitions", "", "folder of definitions (default $BERTH_DEFINITIONS, else ./environments)")
	f.StringVarP(&a.opts.host, "host", "H", "", "Docker engine to use (default: DOCKER_HOST, else the current Docker context)")
	f.StringVar(&a.opts.context, "context", "", "Docker context to use (default: DOCKER_CONTEXT, else the current one)")
	f.StringVar(&a.opts.repo, "repo", "", "definitions repo, a path or a URL (default $BERTH_REPO, else the Git repo around the definitions folder or the current directory)")
	f.StringVar(&a.opts.branch, "branch", "", "branch of the definitions repo to track (default: the repo's default branch)")
	f.StringVar(&a.opts.stateDir, "state-dir", "", "Berth's data folder: history, locks, workspaces, clones (default $BERTH_STATE_DIR, else the user's config folder)")
	f.BoolVar(&a.opts.trust, "trust", false, "grant what a definition asks for without asking (for scripts; recorded as granted by --trust; the settings' refusals still hold)")
	cmd.AddCommand(a.lsCommand(), a.planCommand(), a.upCommand(), a.downCommand(), a.statusCommand(), a.logsCommand(),
		a.revisionsCommand(), a.deployCommand(), a.rollbackCommand(), a.historyCommand(), a.uiCommand(), a.versionCommand())
	cmd.AddCommand(a.notesCommand())
	cmd.AddCommand(a.driftCommands()...)
	cmd.AddCommand(a.gcCommand())
	cmd.AddCommand(a.doctorCommand(), a.openCommand()) // open.go
	cmd.AddCommand(a.trustCommand())                   // trust.go
	cmd.AddCommand(a.secretCommand())                  // secret.go
	cmd.AddCommand(a.execCommand())                    // exec.go
	cmd.AddCommand(a.dbCommand())                      // db.go
	return cmd
}

func (a *app) json() bool { return a.opts.output == "json" }

func (a *app) printJSON(v any) {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func exitCode(err error) int {
	var ue usageError
	switch {
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, errDrifted):
		return ExitDrift
	case errors.Is(err, errPreflight):
		return ExitPreflight
	case isInvalid(err), errors.Is(err, core.ErrUnsafe):
		return ExitInvalid
	case errors.Is(err, core.ErrEngine):
		return ExitEngine
	case isConflict(err):
		return ExitConflict
	case errors.Is(err, core.ErrBusy):
		return ExitBusy
	case errors.Is(err, core.ErrAuth):
		return ExitAuth
	case errors.Is(err, core.ErrConfirm):
		return ExitConfirm
	case errors.Is(err, core.ErrUntrusted), errors.Is(err, core.ErrRefused):
		return ExitUntrusted
	case errors.Is(err, core.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, context.Canceled):
		return ExitInterrupt
	}
	return ExitFailed
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s: want %s, got %d argument(s)", cmd.CommandPath(), what, len(args))}
		}
		return nil
	}
}
