package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/registry"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/frontend/dockerfile/builder"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/util/bklog"
	"github.com/sirupsen/logrus"
	"github.com/tonistiigi/fsutil"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// Local folder names a build's session offers: the frontend asks for the
// context and the Dockerfile's folder by these names, and for a named
// context by the name its context: attribute gives.
const (
	localContext    = "context"
	localDockerfile = "dockerfile"
)

// solveSpec is what a BuildKit build needs, worked out from a service's
// build section before anything is dialled.
type solveSpec struct {
	// attrs are the Dockerfile frontend's options.
	attrs map[string]string
	// locals are the folders the session offers, by name.
	locals map[string]localDir
	// inline is an inline Dockerfile's text; locals then has no
	// dockerfile folder (it is written out when the build runs).
	inline       string
	cacheImports []bkclient.CacheOptionsEntry
	cacheExports []bkclient.CacheOptionsEntry
	entitlements []string
}

// localDir is a folder a session offers: all of it but what ignoreFile
// excludes, or only the named files.
type localDir struct {
	dir        string
	ignoreFile string   // "": nothing excluded
	only       []string // the Dockerfile's folder: the Dockerfile and its ignore file
}

// solveSpecFor translates a build section into the frontend's options:
// the Dockerfile's name, target, build args, labels (with Berth's build
// hash), no-cache, pull, the network, named contexts and the caches. A
// remote context (Git, URL) is not something BuildKit's session sends;
// it is refused with a clear error.
func solveSpecFor(b *spec.Build, buildHash string) (solveSpec, error) {
	if !filepath.IsAbs(b.Context) {
		return solveSpec{}, fmt.Errorf("build context %q: only a local folder is supported with BuildKit", b.Context)
	}
	ss := solveSpec{attrs: map[string]string{}, locals: map[string]localDir{}}
	dockerfile := b.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	ignoreFile := filepath.Join(b.Context, ".dockerignore")
	if b.DockerfileInline != "" {
		ss.inline = b.DockerfileInline
		ss.attrs["filename"] = "Dockerfile"
	} else {
		dfPath := dockerfile
		if !filepath.IsAbs(dfPath) {
			dfPath = filepath.Join(b.Context, dfPath)
		}
		name := filepath.Base(dfPath)
		ss.attrs["filename"] = name
		ss.locals[localDockerfile] = localDir{dir: filepath.Dir(dfPath), only: []string{name, name + ".dockerignore"}}
		// BuildKit prefers <Dockerfile>.dockerignore next to the
		// Dockerfile, as the build hash does.
		if _, err := os.Stat(dfPath + ".dockerignore"); err == nil {
			ignoreFile = dfPath + ".dockerignore"
		}
	}
	ss.locals[localContext] = localDir{dir: b.Context, ignoreFile: ignoreFile}
	if b.Target != "" {
		ss.attrs["target"] = b.Target
	}
	for k, v := range b.Args {
		ss.attrs["build-arg:"+k] = v
	}
	for k, v := range b.Labels {
		ss.attrs["label:"+k] = v
	}
	if buildHash != "" {
		ss.attrs["label:"+reconcile.LabelBuildHash] = buildHash
	}
	if b.NoCache {
		ss.attrs["no-cache"] = ""
	}
	if b.Pull {
		ss.attrs["image-resolve-mode"] = "pull"
	}
	switch b.Network {
	case "", "default":
	case "none":
		ss.attrs["force-network-mode"] = "none"
	case "host":
		ss.attrs["force-network-mode"] = "host"
		ss.entitlements = append(ss.entitlements, "network.host")
	default:
		return solveSpec{}, fmt.Errorf("build network %q is not supported with BuildKit (default, none or host)", b.Network)
	}
	for i, name := range slices.Sorted(maps.Keys(b.AdditionalContexts)) {
		v := b.AdditionalContexts[name]
		switch {
		case filepath.IsAbs(v):
			local := "named-context-" + strconv.Itoa(i)
			ss.locals[local] = localDir{dir: v, ignoreFile: filepath.Join(v, ".dockerignore")}
			ss.attrs["context:"+name] = "local:" + local
		case strings.HasPrefix(v, "docker-image://"):
			ss.attrs["context:"+name] = v
		default:
			return solveSpec{}, fmt.Errorf("additional context %s: %q is not supported (a folder or docker-image://REF is)", name, v)
		}
	}
	for _, c := range b.CacheFrom {
		ss.cacheImports = append(ss.cacheImports, bkclient.CacheOptionsEntry{Type: c.Type, Attrs: maps.Clone(c.Attrs)})
	}
	for _, c := range b.CacheTo {
		ss.cacheExports = append(ss.cacheExports, bkclient.CacheOptionsEntry{Type: c.Type, Attrs: maps.Clone(c.Attrs)})
	}
	return ss, nil
}

// buildKit builds a service's image through the engine's BuildKit, tags
// it ref in the engine's image store (exporter moby), and reports each
// step through detail. The session gives the engine the context folders,
// the build's secrets, its ssh agents and registry credentials; it ends
// with the solve, and a cancelled ctx stops both.
func (e *Engine) buildKit(ctx context.Context, s *spec.Service, ref string, frontend frontendKind, detail func(string)) error {
	b := s.Build
	ss, err := solveSpecFor(b, s.BuildHash)
	if err != nil {
		return fmt.Errorf("service %s: %w", s.Name, err)
	}
	locals := map[string]fsutil.FS{}
	for name, l := range ss.locals {
		var f fsutil.FS
		if l.only != nil {
			f, err = dockerfileFS(l.dir, l.only[0])
		} else {
			f, err = contextFS(l.dir, l.ignoreFile)
		}
		if err != nil {
			return fmt.Errorf("service %s: %w", s.Name, err)
		}
		locals[name] = f
	}
	if ss.inline != "" {
		dir, err := inlineDockerfile(ss.inline)
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if locals[localDockerfile], err = dockerfileFS(dir, "Dockerfile"); err != nil {
			return err
		}
	}

	store := newSecretStore(b.Secrets)
	attach := []session.Attachable{
		secretsprovider.NewSecretProvider(store),
		&authServer{creds: func(ctx context.Context, host string) (*registry.AuthConfig, error) {
			return e.registryCredentials(ctx, host, detail)
		}},
	}
	if len(b.SSH) > 0 {
		agents, err := sshAgents(b.SSH, os.Getenv("SSH_AUTH_SOCK"))
		if err != nil {
			return fmt.Errorf("service %s: %w", s.Name, err)
		}
		p, err := sshprovider.NewSSHAgentProvider(agents)
		if err != nil {
			return fmt.Errorf("service %s: build ssh: %w", s.Name, err)
		}
		attach = append(attach, p)
	}

	c, err := e.buildKitClient(ctx)
	if err != nil {
		return err
	}
	defer c.Close()

	opt := bkclient.SolveOpt{
		Frontend:            "dockerfile.v0",
		FrontendAttrs:       ss.attrs,
		LocalMounts:         locals,
		Exports:             []bkclient.ExportEntry{{Type: "moby", Attrs: map[string]string{"name": ref}}},
		CacheImports:        ss.cacheImports,
		CacheExports:        ss.cacheExports,
		Session:             attach,
		AllowedEntitlements: ss.entitlements,
	}
	ctx = bklog.WithLogger(ctx, logrus.NewEntry(buildLogger(func(l string) { detail(store.mask(l)) })))
	progress := newBuildProgress(detail, store.mask)
	ch := make(chan *bkclient.SolveStatus)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for st := range ch {
			progress.update(st)
		}
	}()
	if frontend == frontendClient {
		_, err = c.Build(ctx, opt, "berth", builder.Build, ch)
	} else {
		_, err = c.Solve(ctx, nil, opt, ch)
	}
	<-done // Solve and Build close ch
	progress.finish()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("build of service %s stopped: %w", s.Name, context.Cause(ctx))
	}
	return buildKitError(s.Name, err, progress.failure(), store.mask)
}

// sshAgents are the ssh agents a build's session offers: the user's (at
// agentSock) for an entry without a path, else the key file or socket
// named.
func sshAgents(list []spec.BuildSSH, agentSock string) ([]sshprovider.AgentConfig, error) {
	var out []sshprovider.AgentConfig
	for _, k := range list {
		p := k.Path
		if p == "" {
			if agentSock == "" {
				return nil, fmt.Errorf("build ssh %s: the build wants your ssh agent, and SSH_AUTH_SOCK is not set (start an agent, or give a key: ssh: [\"%s=PATH\"])", k.ID, k.ID)
			}
			p = agentSock
		}
		out = append(out, sshprovider.AgentConfig{ID: k.ID, Paths: []string{p}})
	}
	return out, nil
}

// buildLogger is the logger BuildKit's client code logs to during a
// build: its warnings (a cache it could not import) become progress
// lines; the rest, and anything on stderr, goes nowhere.
func buildLogger(detail func(string)) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetLevel(logrus.WarnLevel)
	l.AddHook(detailHook{detail})
	return l
}

type detailHook struct{ detail func(string) }

func (h detailHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (h detailHook) Fire(e *logrus.Entry) error {
	h.detail("warning: " + e.Message)
	return nil
}

var unknownCacheExporter = regexp.MustCompile(`unknown cache exporter: "?([\w-]+)"?`)

// buildKitError is a failed build's error: the step that failed, what it
// said and its last lines of output; or what BuildKit said when no step
// failed (the Dockerfile did not parse, a base image was missing).
func buildKitError(service string, err error, failed *buildStep, mask func(string) string) error {
	if failed != nil {
		msg := fmt.Sprintf("build of service %s failed at %s: %s", service, failed.name, mask(failed.err))
		if len(failed.last) > 0 {
			msg += fmt.Sprintf("; its last %d lines of output:\n  %s", len(failed.last), strings.Join(failed.last, "\n  "))
		}
		return errors.New(msg)
	}
	text := mask(err.Error())
	if m := unknownCacheExporter.FindStringSubmatch(text); m != nil {
		return fmt.Errorf("build of service %s: cache_to type=%s: this engine's builder cannot write a build cache of that type. "+
			"An engine with the classic image store writes only type=inline (the cache travels in the image); "+
			"type=local and type=registry need an engine with the containerd image store, and a registry cache needs a registry the engine can push to", service, m[1])
	}
	return fmt.Errorf("build of service %s failed: %s", service, text)
}
