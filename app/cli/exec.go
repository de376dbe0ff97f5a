package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berthdev/berth/internal/core"
)

// commandExit is the exit code of a command berth exec ran: berth exits
// with it, printing nothing more.
type commandExit struct{ code int }

func (c commandExit) Error() string { return fmt.Sprintf("the command exited with %d", c.code) }

func (a *app) execCommand() *cobra.Command {
	var noTTY bool
	var index int
	cmd := &cobra.Command{
		Use:   "exec ENV SERVICE [-- CMD...]",
		Short: "Run a command (default: a shell) in a running container of a service",
		Long: `Run a command in a running container of one of an environment's services,
attached to this terminal: a shell (sh) when no command is given. With a
terminal on both ends the command gets one too (resized with this one);
-T turns that off, for scripts and pipes. berth exits with the command's exit
code. Nothing is recorded: the container is yours to look into.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageError{fmt.Errorf("exec: want an environment and a service, then -- and a command (default sh)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			req := core.ExecRequest{Env: args[0], Service: args[1], Index: index, Cmd: args[2:], Stdin: stdin, Stdout: a.stdout, Stderr: a.stderr}
			in, inOK := stdin.(*os.File)
			tty := !noTTY && inOK && term.IsTerminal(int(in.Fd())) && isTerminal(a.stdout)
			if tty {
				req.TTY = true
				if w, h, err := term.GetSize(int(in.Fd())); err == nil {
					req.Size = core.TermSize{Rows: uint(h), Cols: uint(w)}
				}
				old, err := term.MakeRaw(int(in.Fd()))
				if err != nil {
					return fmt.Errorf("exec: the terminal: %w", err)
				}
				defer term.Restore(int(in.Fd()), old)
				resize := make(chan core.TermSize, 1)
				resized, stop := terminalResizes(int(in.Fd()))
				defer stop()
				go func() {
					for range resized {
						if w, h, err := term.GetSize(int(in.Fd())); err == nil {
							select {
							case resize <- core.TermSize{Rows: uint(h), Cols: uint(w)}:
							default:
							}
						}
					}
				}()
				req.Resize = resize
			}
			code, err := a.berth.Exec(cmd.Context(), req)
			if err != nil {
				return err
			}
			if code != 0 {
				return commandExit{code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&noTTY, "no-tty", "T", false, "give the command no terminal (for scripts and pipes)")
	cmd.Flags().IntVar(&index, "index", 0, "the service's container number, when it runs several (default: the first running)")
	return cmd
}
