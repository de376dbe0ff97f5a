package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) notesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notes",
		Short: "Git notes of recorded operations (refs/notes/berth)",
		Long: `When notes are on (BERTH_NOTES=1, "notes": true in the settings, or
git config berth.notes true in the definitions repo), every deploy, rollback
and up of a revision adds a line of JSON to the git note on that commit under
refs/notes/berth: kind, environment, result, who, when, the record's id. The
notes are written locally, offline; they leave the machine only with
berth notes push. Read them with git log --notes=berth or
git notes --ref=berth show REV.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{fmt.Errorf("%s: want a subcommand (push)", cmd.CommandPath())}
		},
	}
	var remote string
	push := &cobra.Command{
		Use:   "push",
		Short: "Push refs/notes/berth of the definitions repo to a remote (nothing else is pushed)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.berth.PushNotes(cmd.Context(), remote); err != nil {
				return err
			}
			if a.json() {
				a.printJSON(map[string]string{"pushed": "refs/notes/berth", "remote": remote})
				return nil
			}
			fmt.Fprintf(a.stdout, "pushed refs/notes/berth to %s\n", remote)
			return nil
		},
	}
	push.Flags().StringVar(&remote, "remote", "origin", "the remote to push to (Berth's clone of a URL: the URL it was cloned from)")
	cmd.AddCommand(push)
	return cmd
}
