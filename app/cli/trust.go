package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/internal/core"
)

// trustContext is ctx with the way this command answers trust questions:
// --trust grants (recorded as such), a terminal asks, and otherwise an
// untrusted definition fails with exit code 11 and what to do.
func (a *app) trustContext(ctx context.Context) context.Context {
	if a.opts.trust {
		return core.AskTrust(ctx, func(_ context.Context, r *core.TrustReview) bool {
			if !a.json() {
				fmt.Fprintf(a.stderr, "trusting %s (--trust):\n", describeReview(r))
				writeReview(a.stderr, r)
			}
			return true
		}, "--trust")
	}
	if a.json() || !isTerminal(os.Stdin) || !isTerminal(a.stderr) {
		return ctx
	}
	return core.AskTrust(ctx, func(_ context.Context, r *core.TrustReview) bool {
		a.pauseLive()
		defer a.resumeLive()
		return askTrust(a.stderr, os.Stdin, r)
	}, "prompt")
}

// askTrust shows a review and asks whether to grant it.
func askTrust(w io.Writer, in io.Reader, r *core.TrustReview) bool {
	switch {
	case r.Granted != nil && !r.Revoked:
		fmt.Fprintf(w, "%s asks for more than you granted it:\n", describeReview(r))
	default:
		fmt.Fprintf(w, "%s can do this on your machine, beyond running its own containers:\n", describeReview(r))
	}
	writeReview(w, r)
	fmt.Fprint(w, "Trust it with this? [y/N] ")
	line, _ := bufio.NewReader(in).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}

func describeReview(r *core.TrustReview) string {
	s := fmt.Sprintf("definition %s", r.Definition)
	if r.Revision != "" {
		s += " at " + short(r.Revision)
	}
	return s + " (" + strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(r.Repo, "path:"), "url:"), "dir:") + ")"
}

func writeReview(w io.Writer, r *core.TrustReview) {
	for _, l := range r.Lines() {
		fmt.Fprintln(w, "  "+l)
	}
	for _, b := range r.Blocked {
		fmt.Fprintf(w, "  (not read until you trust it: %s)\n", b)
	}
}

// livePause is the progress display a question must clear first.
type livePause struct {
	mu sync.Mutex
	pr *progress
}

func (a *app) pauseLive() {
	a.live.mu.Lock()
	pr := a.live.pr
	a.live.mu.Unlock()
	if pr != nil {
		pr.pause()
	}
}

func (a *app) resumeLive() {
	a.live.mu.Lock()
	pr := a.live.pr
	a.live.mu.Unlock()
	if pr != nil {
		pr.resume()
	}
}

func (a *app) trustCommand() *cobra.Command {
	var rev string
	var revoke, yes bool
	cmd := &cobra.Command{
		Use:   "trust DEFINITION",
		Short: "Review what a definition can do on this machine, and grant or revoke it",
		Long: `Shows what a definition can do on this machine beyond running its own
containers: privileges, host paths (the Docker socket named as such), host
namespaces, ports on every interface, external volumes and networks, the
variables it reads from your environment, env files, builds, include and
extends, database sources. On a terminal it asks whether to trust it; the
answer is recorded for this repo, definition and list. A revision whose list
changes asks again. --rev reviews the definition at a revision of the
definitions repo; --yes grants without asking; --revoke takes every grant
back. Exit code 11 when the definition stays untrusted or the settings
refuse what it asks for.`,
		Args: exactArgs(1, "a definition name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			req := core.TrustRequest{Definition: args[0], Rev: rev, How: "berth trust"}
			if revoke {
				if err := a.berth.RevokeTrust(ctx, req); err != nil {
					return err
				}
				if a.json() {
					a.printJSON(map[string]any{"definition": args[0], "revoked": true})
				} else {
					fmt.Fprintf(a.stdout, "revoked: %s asks again before its next plan, up, deploy or clone\n", args[0])
				}
				return nil
			}
			r, err := a.berth.ReviewTrust(ctx, req)
			if err != nil {
				return err
			}
			for round := 0; !r.Trusted && len(r.Refused) == 0 && round < 4; round++ {
				grant := yes
				if !grant {
					if a.json() || !isTerminal(os.Stdin) || !isTerminal(a.stderr) {
						break
					}
					grant = askTrust(a.stderr, os.Stdin, r)
				}
				if !grant {
					break
				}
				req.Digest = r.Digest
				if r, err = a.berth.Trust(ctx, req); err != nil {
					return err
				}
			}
			if a.json() {
				a.printJSON(r)
			} else {
				printReview(a.stdout, r)
			}
			switch {
			case len(r.Refused) > 0:
				return reported{&core.RefusedError{Review: r}}
			case !r.Trusted:
				return reported{&core.UntrustedError{Review: r}}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&rev, "rev", "", "review the definition at this revision of the definitions repo (default: the definitions folder)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "grant without asking")
	cmd.Flags().BoolVar(&revoke, "revoke", false, "revoke every grant of the definition")
	return cmd
}

func printReview(w io.Writer, r *core.TrustReview) {
	state := "not trusted"
	switch {
	case len(r.Refused) > 0:
		state = "refused by the settings"
	case r.Trusted && len(r.Capabilities) == 0:
		state = "trusted: it asks for nothing beyond its own containers"
	case r.Trusted && r.Granted != nil:
		state = fmt.Sprintf("trusted (granted %s by %s, %s)", r.Granted.DecidedAt.Local().Format("2006-01-02 15:04"), r.Granted.Who, r.Granted.How)
	case r.Revoked:
		state = "not trusted (revoked)"
	}
	fmt.Fprintf(w, "%s: %s\n", describeReview(r), state)
	writeReview(w, r)
}
