package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/secret"
)

// stdin is where secret values are read from (tests replace it).
var stdin io.Reader = os.Stdin

func (a *app) secretCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Set, list and remove secrets: values a definition needs that never enter Git",
		Long: `A definition declares the secrets it needs in berth.yaml (secrets: with a
name, a description and whether it is required). Their values are kept per user,
in the OS keyring where one answers (Secret Service) and otherwise in a file
encrypted with a key of its own in Berth's state folder. A secret set for a
definition serves every environment made from it; one set for an environment
(--env, or a name that is only an environment) wins over its definition's.
Values are never taken from the command line: set reads one from a prompt, or
from stdin when it is not a terminal.`,
	}
	cmd.AddCommand(a.secretSetCommand(), a.secretLsCommand(), a.secretRmCommand())
	return cmd
}

func (a *app) secretSetCommand() *cobra.Command {
	var envScope bool
	cmd := &cobra.Command{
		Use:   "set DEF|ENV NAME",
		Short: "Set a secret's value (asked for, or read from stdin)",
		Args:  exactArgs(2, "a definition or environment and the secret's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			value, err := a.readSecret(args[1])
			if err != nil {
				return err
			}
			res, err := a.berth.SetSecret(cmd.Context(), core.SecretRequest{Owner: args[0], Environment: envScope, Name: args[1]}, value)
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(res)
				return nil
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(a.stderr, "warning: "+w)
			}
			fmt.Fprintf(a.stdout, "set %s for %s %s (kept in the %s)\n", res.Ref.Name, res.Ref.Scope, res.Ref.Owner, res.Where)
			return nil
		},
	}
	cmd.Flags().BoolVar(&envScope, "env", false, "set it for the environment of that name only, even where a definition has the name")
	return cmd
}

// readSecret reads a value: without echo from a terminal (asked twice),
// else all of stdin, less one trailing newline.
func (a *app) readSecret(name string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(a.stderr, "value of %s: ", name)
		v, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(a.stderr, "again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		if string(v) != string(again) {
			return "", errors.New("the two values differ; nothing was set")
		}
		return string(v), nil
	}
	data, err := io.ReadAll(io.LimitReader(bufio.NewReader(stdin), secret.MaxValue+2))
	if err != nil {
		return "", fmt.Errorf("reading the value from stdin: %w", err)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if v == "" {
		return "", fmt.Errorf("no value on stdin for %s: pipe it in (berth secret set DEF %s < file) or run on a terminal to be asked", name, name)
	}
	return v, nil
}

func (a *app) secretLsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "ls [DEF|ENV]",
		Short: "List secrets, declared and set (never their values), and where they are kept",
		Args:  rangeArgs(0, 1, "a definition or environment"),
		RunE: func(cmd *cobra.Command, args []string) error {
			owner := ""
			if len(args) == 1 {
				owner = args[0]
			}
			l, err := a.berth.ListSecrets(cmd.Context(), owner)
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(l)
				return nil
			}
			fmt.Fprintf(a.stdout, "secrets are kept in the %s\n", l.Where)
			if len(l.Secrets) == 0 {
				fmt.Fprintln(a.stdout, "no secrets declared or set")
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "OWNER\tSCOPE\tNAME\tSTATE\tDESCRIPTION")
			for _, s := range l.Secrets {
				state := "set"
				switch {
				case !s.Set && s.Required:
					state = "MISSING (required)"
				case !s.Set:
					state = "not set (optional)"
				case !s.Declared && s.Scope == secret.ScopeDefinition:
					state = "set, not declared"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Owner, s.Scope, s.Name, state, s.Description)
			}
			return w.Flush()
		},
	}
}

func (a *app) secretRmCommand() *cobra.Command {
	var envScope bool
	cmd := &cobra.Command{
		Use:   "rm DEF|ENV NAME",
		Short: "Remove a secret's value",
		Args:  exactArgs(2, "a definition or environment and the secret's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ok, err := a.berth.RemoveSecret(cmd.Context(), core.SecretRequest{Owner: args[0], Environment: envScope, Name: args[1]})
			if err != nil {
				return err
			}
			if a.json() {
				a.printJSON(map[string]bool{"removed": ok})
				return nil
			}
			if !ok {
				return fmt.Errorf("%s is not set for %s", args[1], args[0])
			}
			fmt.Fprintf(a.stdout, "removed %s of %s\n", args[1], args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&envScope, "env", false, "remove the environment's own value, even where a definition has the name")
	return cmd
}
