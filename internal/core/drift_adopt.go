package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/spec"
)

// AdoptRequest asks to turn env's drift into a commit.
type AdoptRequest struct {
	Env string
	// Branch is the new branch (default berth/adopt-<env>-<time>).
	Branch string
}

// AdoptResult is the commit adopt made.
type AdoptResult struct {
	Env    string   `json:"env"`
	Branch string   `json:"branch"`
	Commit Revision `json:"commit"`
	// Files are the definition's files the commit changes.
	Files []string `json:"files"`
	// Adopted are the runtime differences written into the Compose file.
	Adopted []drift.Item `json:"adopted"`
	// Left are runtime differences that do not map onto Compose.
	Left []drift.Item `json:"left"`
	// Refused says what was not written into Git because it looks
	// secret: a variable with a secret name or an interpolated value, an
	// edited file that sets one.
	Refused []string `json:"refused,omitempty"`
}

// Adopt turns env's drift into a commit on a new branch of the
// definitions repo, based on the deployed revision: the workspace's
// edited files, and runtime changes that map cleanly onto the Compose
// file (an environment variable, an image tag). The commit carries the
// user's Git identity and is never pushed. The environment is not
// changed.
func (b *Berth) Adopt(ctx context.Context, req AdoptRequest) (*AdoptResult, error) {
	d, err := b.deployed(ctx, req.Env)
	if err != nil {
		return nil, err
	}
	if d.rev == nil {
		return nil, fmt.Errorf("environment %q was not deployed from a revision: nothing to base a commit on", req.Env)
	}
	cm, ok := b.revs.(Committer)
	if !ok {
		return nil, errors.New("the definitions repo cannot make commits")
	}
	rep, err := b.check(ctx, req.Env, d)
	if err != nil {
		return nil, err
	}
	// The workspace is read through an os.Root: a file a container
	// replaced with a symlink to one of the user's files is refused, never
	// committed.
	ws, err := os.OpenRoot(d.dir)
	if err != nil {
		return nil, err
	}
	defer ws.Close()
	res := &AdoptResult{Env: req.Env, Adopted: []drift.Item{}, Left: []drift.Item{}}
	files, err := b.adoptFiles(ctx, d, ws, res)
	if err != nil {
		return nil, err
	}
	edits, byEdit := adoptEdits(d, rep, res)
	if err := adoptCompose(d, ws, files, edits, byEdit, res); err != nil {
		return nil, err
	}
	if len(files) == 0 && len(res.Refused) > 0 {
		return nil, fmt.Errorf("environment %q: nothing adopted; refused: %s", req.Env, strings.Join(res.Refused, "; "))
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("environment %q: %w to adopt (edited workspace files, or environment variables and image tags changed on its containers)", req.Env, ErrNoDrift)
	}
	branch := req.Branch
	if branch == "" {
		branch = "berth/adopt-" + req.Env + "-" + b.now().UTC().Format("20060102-150405")
	}
	for p := range files {
		res.Files = append(res.Files, p)
	}
	sort.Strings(res.Files)
	msg := fmt.Sprintf("Adopt the drift of %s (from %s)\n\n", req.Env, d.rev.Short)
	for _, f := range res.Files {
		msg += "- " + f + "\n"
	}
	for _, it := range res.Adopted {
		msg += "- " + it.Service + " " + it.Path + " as it runs\n"
	}
	c, err := cm.Commit(ctx, *d.rev, d.def, branch, files, msg)
	if err != nil {
		return nil, err
	}
	res.Branch, res.Commit = branch, c
	return res, nil
}

// adoptFiles reads the edited workspace files to commit (nil for a
// deleted one), leaving out, in res.Refused, those that set a secret.
func (b *Berth) adoptFiles(ctx context.Context, d *deployedEnv, ws *os.Root, res *AdoptResult) (map[string][]byte, error) {
	committed, release := b.pristineReader(ctx, d)
	defer release()
	files := map[string][]byte{}
	for _, f := range d.files {
		if f.Kind == "deleted" {
			files[f.Path] = nil
			continue
		}
		data, err := ws.ReadFile(filepath.FromSlash(f.Path))
		if err != nil {
			return nil, fmt.Errorf("reading %s in %s: %w", f.Path, d.dir, err)
		}
		// A secret typed into a workspace file stays out of Git.
		if found := newSecrets(committed(f.Path), data); len(found) > 0 {
			res.Refused = append(res.Refused, fmt.Sprintf("%s: %s, which looks secret: the file is not committed (keep secrets out of Git: a local env file or your environment)", f.Path, strings.Join(found, ", ")))
			continue
		}
		files[f.Path] = data
	}
	return files, nil
}

// adoptEdits turns the runtime drift that maps onto a Compose file
// (environment variables and image tags) into edits, one per service and
// field, keyed by service+path in byEdit; the rest goes to res.Left, and
// secret values to res.Refused.
func adoptEdits(d *deployedEnv, rep *DriftReport, res *AdoptResult) (edits []spec.ComposeEdit, byEdit map[string]drift.Item) {
	seen := map[string]bool{}
	byEdit = map[string]drift.Item{}
	for i, it := range rep.raw {
		mappable := (it.Kind == drift.KindChanged || it.Kind == drift.KindAdded || it.Kind == drift.KindRemoved) &&
			(strings.HasPrefix(it.Path, "/environment/") || it.Path == "/image")
		if !mappable {
			if it.Kind != drift.KindReplaced {
				res.Left = append(res.Left, rep.Runtime[i])
			}
			continue
		}
		if it.Kind != drift.KindRemoved && secretItem(d.p, it) {
			res.Refused = append(res.Refused, fmt.Sprintf("services.%s%s: the live value looks secret (its name, its value, or a value from your environment): not written into Git", it.Service, strings.ReplaceAll(it.Path, "/", ".")))
			continue
		}
		k := it.Service + it.Path
		if seen[k] {
			continue
		}
		seen[k] = true
		edits = append(edits, spec.ComposeEdit{Service: it.Service, Path: it.Path, Value: it.Live})
		byEdit[k] = it
	}
	return edits, byEdit
}

// adoptCompose applies edits to the definition's Compose files, from the
// last one back (the last file wins in a merge), into files; what no file
// could take goes to res.Left.
func adoptCompose(d *deployedEnv, ws *os.Root, files map[string][]byte, edits []spec.ComposeEdit, byEdit map[string]drift.Item, res *AdoptResult) error {
	for i := len(d.p.ComposeFiles) - 1; i >= 0 && len(edits) > 0; i-- {
		rel, err := filepath.Rel(d.dir, d.p.ComposeFiles[i])
		if err != nil || !filepath.IsLocal(rel) {
			continue
		}
		rel = filepath.ToSlash(rel)
		data, ok := files[rel]
		if !ok {
			if data, err = ws.ReadFile(filepath.FromSlash(rel)); err != nil {
				return err
			}
		}
		out, applied, err := spec.EditCompose(data, edits)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if len(applied) == 0 {
			continue
		}
		files[rel] = out
		done := map[string]bool{}
		for _, a := range applied {
			done[a.Service+a.Path] = true
			res.Adopted = append(res.Adopted, maskItems(d.p, []drift.Item{byEdit[a.Service+a.Path]})[0])
		}
		var rest []spec.ComposeEdit
		for _, e := range edits {
			if !done[e.Service+e.Path] {
				rest = append(rest, e)
			}
		}
		edits = rest
	}
	for _, e := range edits {
		res.Left = append(res.Left, maskItems(d.p, []drift.Item{byEdit[e.Service+e.Path]})[0])
	}
	return nil
}
