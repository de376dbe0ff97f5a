package engine

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/registry"
	"github.com/moby/buildkit/session/auth"
	"github.com/moby/buildkit/session/secrets"
	"github.com/tonistiigi/fsutil"
	"google.golang.org/grpc"

	"github.com/berthdev/berth/internal/dockerignore"
	"github.com/berthdev/berth/internal/spec"
)

// What a BuildKit build's session gives the engine when it asks: the
// context folders (filesync), the secrets, the ssh agents and registry
// credentials. The engine reads nothing of this machine otherwise.

// contextFS is a context folder as the session sends it: without what
// its ignore file excludes (read with Berth's own matcher, which the
// build hash uses too, so that what is hashed is what is sent). The
// engine's frontend asks with the same file's patterns on top.
func contextFS(dir, ignoreFile string) (fsutil.FS, error) {
	base, err := fsutil.NewFS(dir)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	f, err := os.Open(ignoreFile)
	if err != nil {
		return base, nil // no ignore file
	}
	defer f.Close()
	rules, err := dockerignore.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ignoreFile, err)
	}
	return &ignoreFS{FS: base, rules: rules}, nil
}

// dockerfileFS is the folder of the Dockerfile as the session sends it:
// the Dockerfile and its own ignore file, nothing else.
func dockerfileFS(dir, name string) (fsutil.FS, error) {
	base, err := fsutil.NewFS(dir)
	if err != nil {
		return nil, fmt.Errorf("dockerfile: %w", err)
	}
	return fsutil.NewFilterFS(base, &fsutil.FilterOpt{IncludePatterns: []string{name, name + ".dockerignore"}})
}

// ignoreFS leaves out of a folder what .dockerignore rules exclude. An
// excluded folder holding a file an exception keeps is sent (before that
// file, as the receiver wants parents first), but nothing else of it.
type ignoreFS struct {
	fsutil.FS
	rules *dockerignore.Matcher
}

func (f *ignoreFS) Walk(ctx context.Context, target string, fn fs.WalkDirFunc) error {
	type held struct {
		path  string
		entry fs.DirEntry
	}
	var pending []held // excluded folders on the current path, not sent yet
	return f.FS.Walk(ctx, target, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fn(p, d, err)
		}
		rel := filepath.ToSlash(p)
		for len(pending) > 0 && !strings.HasPrefix(rel, pending[len(pending)-1].path+"/") {
			pending = pending[:len(pending)-1]
		}
		if f.rules.Excluded(rel) {
			if d != nil && d.IsDir() {
				if !f.rules.HasExceptions() {
					return filepath.SkipDir
				}
				pending = append(pending, held{rel, d})
			}
			return nil
		}
		for _, h := range pending {
			if err := fn(filepath.FromSlash(h.path), h.entry, nil); err != nil {
				return err
			}
		}
		pending = pending[:0]
		return fn(p, d, nil)
	})
}

func (f *ignoreFS) Open(p string) (io.ReadCloser, error) {
	if f.rules.Excluded(filepath.ToSlash(p)) {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	return f.FS.Open(p)
}

// secretStore gives the engine a build's secrets by id, reading each
// when asked, and remembers what it gave so that progress lines and
// errors can hide it.
type secretStore struct {
	byID map[string]spec.BuildSecret

	mu     sync.Mutex
	served []string // the lines of the values given out (4 bytes or more)
}

func newSecretStore(list []spec.BuildSecret) *secretStore {
	s := &secretStore{byID: map[string]spec.BuildSecret{}}
	for _, sec := range list {
		s.byID[sec.ID] = sec
	}
	return s
}

// GetSecret implements secrets.SecretStore.
func (s *secretStore) GetSecret(_ context.Context, id string) ([]byte, error) {
	sec, ok := s.byID[id]
	if !ok {
		return nil, fmt.Errorf("build secret %q is not given to this build (list it under the service's build.secrets): %w", id, secrets.ErrNotFound)
	}
	v, err := sec.Value()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for line := range strings.SplitSeq(string(v), "\n") {
		if line = strings.TrimSpace(line); len(line) >= 4 {
			s.served = append(s.served, line)
		}
	}
	return v, nil
}

// mask replaces every secret value given out so far with ****.
func (s *secretStore) mask(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.served {
		text = strings.ReplaceAll(text, v, "****")
	}
	return text
}

// authServer answers the engine's questions for registry credentials
// (a private base image, a registry cache) from the docker config, as
// pulls do; what it cannot answer it leaves to the engine's anonymous
// access.
type authServer struct {
	auth.UnimplementedAuthServer
	creds func(ctx context.Context, host string) (*registry.AuthConfig, error)
}

// Register implements session.Attachable.
func (a *authServer) Register(s *grpc.Server) { auth.RegisterAuthServer(s, a) }

// Credentials implements auth.AuthServer.
func (a *authServer) Credentials(ctx context.Context, req *auth.CredentialsRequest) (*auth.CredentialsResponse, error) {
	host := req.GetHost()
	if host == "registry-1.docker.io" {
		host = "" // the default registry's API host
	}
	ac, err := a.creds(ctx, host)
	if err != nil || ac == nil {
		return &auth.CredentialsResponse{}, nil
	}
	if ac.IdentityToken != "" {
		return &auth.CredentialsResponse{Secret: ac.IdentityToken}, nil
	}
	return &auth.CredentialsResponse{Username: ac.Username, Secret: ac.Password}, nil
}
