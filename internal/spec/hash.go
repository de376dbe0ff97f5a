package spec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/berthdev/berth/internal/dockerignore"
)

// ServiceHash returns the configuration hash of s: the sha256 of the
// canonical JSON of s with Hash, BuildHash, Replicas, Build, PullPolicy
// and Watch zeroed (what does not shape a container). encoding/json writes map keys
// sorted, and the normaliser sorts the slices whose order does not matter,
// so equal services give equal hashes.
func ServiceHash(s Service) string {
	s.Hash, s.BuildHash, s.Replicas, s.Build, s.PullPolicy, s.Watch = "", "", 0, nil, "", nil
	data, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("spec: hashing service %s: %v", s.Name, err)) // plain data: cannot fail
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// objectHash hashes what defines a network or volume. Fields left empty
// are left out, so that a network or volume declared as before hashes as
// before and is not replaced.
func objectHash(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("spec: hashing %T: %v", v, err)) // plain data: cannot fail
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func networkHash(n Network) string {
	return objectHash(struct {
		Driver     string            `json:"driver,omitempty"`
		External   bool              `json:"external,omitempty"`
		Internal   bool              `json:"internal,omitempty"`
		Labels     map[string]string `json:"labels,omitempty"`
		DriverOpts map[string]string `json:"driverOpts,omitempty"`
		Attachable bool              `json:"attachable,omitempty"`
		EnableIPv6 bool              `json:"enableIPv6,omitempty"`
		IPAM       *IPAM             `json:"ipam,omitempty"`
	}{n.Driver, n.External, n.Internal, n.Labels, n.DriverOpts, n.Attachable, n.EnableIPv6, n.IPAM})
}

func volumeHash(v Volume) string {
	return objectHash(struct {
		Driver     string            `json:"driver,omitempty"`
		External   bool              `json:"external,omitempty"`
		Labels     map[string]string `json:"labels,omitempty"`
		DriverOpts map[string]string `json:"driverOpts,omitempty"`
	}{v.Driver, v.External, v.Labels, v.DriverOpts})
}

// buildHasher computes build hashes, hashing each context tree once even
// when several services share it.
type buildHasher struct {
	trees map[string]treeResult
}

type treeResult struct {
	sum string
	err error
}

// BuildHash returns the hash of what a build consumes: the context's files
// (paths, modes and contents, as .dockerignore leaves them), the Dockerfile,
// the build args and the target; and, when set, the network, the named
// contexts (a folder's files as its own .dockerignore leaves them, an
// image by its reference) and the ids of the secrets and ssh agents
// (never a secret's value).
func BuildHash(ctx context.Context, b *Build) (string, error) {
	return (&buildHasher{}).hash(ctx, b)
}

func (h *buildHasher) hash(ctx context.Context, b *Build) (string, error) {
	sum := sha256.New()
	remote := !filepath.IsAbs(b.Context)
	dockerfile := b.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	if remote {
		// a Git or HTTP context: its address is all there is to hash here
		fmt.Fprintf(sum, "remote %q\n", b.Context)
	} else {
		dfPath := dockerfile
		if !filepath.IsAbs(dfPath) {
			dfPath = filepath.Join(b.Context, dfPath)
		}
		ignoreFile := filepath.Join(b.Context, ".dockerignore")
		// BuildKit prefers <Dockerfile>.dockerignore next to the Dockerfile
		if _, err := os.Stat(dfPath + ".dockerignore"); err == nil && b.DockerfileInline == "" {
			ignoreFile = dfPath + ".dockerignore"
		}
		tree, err := h.tree(ctx, b.Context, ignoreFile)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(sum, "tree %s\n", tree)
		if b.DockerfileInline == "" {
			df, err := os.ReadFile(dfPath)
			if err != nil {
				return "", fmt.Errorf("reading Dockerfile: %w", err)
			}
			fmt.Fprintf(sum, "dockerfile %d\n", len(df))
			sum.Write(df)
		}
	}
	if b.DockerfileInline != "" {
		fmt.Fprintf(sum, "dockerfile-inline %d\n%s", len(b.DockerfileInline), b.DockerfileInline)
	} else {
		fmt.Fprintf(sum, "dockerfile-path %q\n", filepath.ToSlash(dockerfile))
	}
	fmt.Fprintf(sum, "target %q\n", b.Target)
	for _, k := range slices.Sorted(maps.Keys(b.Args)) {
		fmt.Fprintf(sum, "arg %q=%q\n", k, b.Args[k])
	}
	// What follows is written only when set, so that the hash of a build
	// without it stays what it was.
	if b.Network != "" {
		fmt.Fprintf(sum, "network %q\n", b.Network)
	}
	for _, name := range slices.Sorted(maps.Keys(b.AdditionalContexts)) {
		v := b.AdditionalContexts[name]
		if !filepath.IsAbs(v) {
			fmt.Fprintf(sum, "context %q %q\n", name, v)
			continue
		}
		tree, err := h.tree(ctx, v, filepath.Join(v, ".dockerignore"))
		if err != nil {
			return "", fmt.Errorf("additional context %s: %w", name, err)
		}
		fmt.Fprintf(sum, "context %q tree %s\n", name, tree)
	}
	for _, s := range b.Secrets {
		fmt.Fprintf(sum, "secret %q\n", s.ID)
	}
	for _, s := range b.SSH {
		fmt.Fprintf(sum, "ssh %q\n", s.ID)
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// tree hashes a context folder once per folder and ignore file.
func (h *buildHasher) tree(ctx context.Context, dir, ignoreFile string) (string, error) {
	key := dir + "\x00" + ignoreFile
	if h.trees == nil {
		h.trees = map[string]treeResult{}
	}
	tr, ok := h.trees[key]
	if !ok {
		tr.sum, tr.err = hashTree(ctx, dir, ignoreFile)
		h.trees[key] = tr
	}
	return tr.sum, tr.err
}

// hashTree hashes the files of a build context in path order: for each
// entry its relative path, type and permission bits, and the content of a
// file or the target of a link.
func hashTree(ctx context.Context, root, ignoreFile string) (string, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a folder", root)
	}
	var ignore *dockerignore.Matcher
	if f, err := os.Open(ignoreFile); err == nil {
		ignore, err = dockerignore.Parse(f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("%s: %w", displayPath(ignoreFile), err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}

	sum := sha256.New()
	buf := make([]byte, 64<<10)
	n := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ignore.Excluded(rel) {
			if d.IsDir() && !ignore.HasExceptions() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode()
		// Only the executable bit counts, as in Git: a deploy's workspace
		// is read-only, and must hash like the checkout it came from.
		exec := "-"
		if mode.Perm()&0o111 != 0 {
			exec = "x"
		}
		fmt.Fprintf(sum, "%q %s %s", rel, typeLetter(mode), exec)
		switch {
		case mode.IsRegular():
			fmt.Fprintf(sum, " %d\n", info.Size())
			if err := hashFile(sum, p, buf); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(sum, " -> %q", target)
		}
		sum.Write([]byte{'\n'})
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

func hashFile(h hash.Hash, path string, buf []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyBuffer(h, f, buf)
	return err
}

func typeLetter(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "d"
	case m&fs.ModeSymlink != 0:
		return "l"
	case m.IsRegular():
		return "f"
	}
	return "o" + strconv.FormatUint(uint64(m.Type()), 8)
}

// mountHasher rewrites a service's bind mounts for hashing, so that the
// hash does not depend on where the definition sits on disk (a deploy
// materialises every revision into its own folder) but does depend on what
// the container is given:
//
//   - a bind source inside the definition folder is hashed by its path
//     relative to that folder;
//   - a read-only one (configuration: an nginx.conf, seed SQL) also by its
//     content, so a changed file recreates the service that reads it;
//   - a writable one (data the container itself changes) by path alone;
//   - a source outside the definition keeps its absolute path.
type mountHasher struct {
	dir   string
	cache map[string]string // absolute source -> content hash
}

func (m *mountHasher) hashView(ctx context.Context, s Service) (Service, error) {
	if len(s.Mounts) == 0 || m.dir == "" {
		return s, nil
	}
	mounts := make([]Mount, len(s.Mounts))
	copy(mounts, s.Mounts)
	for i, mt := range mounts {
		if mt.Type != MountBind || !filepath.IsAbs(mt.Source) {
			continue
		}
		rel, err := filepath.Rel(m.dir, mt.Source)
		if err != nil || !filepath.IsLocal(rel) && rel != "." {
			continue
		}
		src := "./" + filepath.ToSlash(rel)
		if mt.ReadOnly {
			sum, err := m.content(ctx, mt.Source)
			if err != nil {
				return s, err
			}
			src += "@" + sum
		}
		mounts[i].Source = src
	}
	s.Mounts = mounts
	return s, nil
}

// content hashes a file's bytes or a folder's tree; a source that does not
// exist yet (created at mount time) hashes as "absent".
func (m *mountHasher) content(ctx context.Context, path string) (string, error) {
	if sum, ok := m.cache[path]; ok {
		return sum, nil
	}
	fi, err := os.Stat(path)
	var sum string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		sum = "absent"
	case err != nil:
		return "", err
	case fi.IsDir():
		if sum, err = hashTree(ctx, path, ""); err != nil {
			return "", err
		}
	default:
		h := sha256.New()
		if err := hashFile(h, path, make([]byte, 32<<10)); err != nil {
			return "", err
		}
		sum = hex.EncodeToString(h.Sum(nil))
	}
	if m.cache == nil {
		m.cache = map[string]string{}
	}
	m.cache[path] = sum
	return sum, nil
}
