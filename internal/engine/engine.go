// Package engine is Berth's adapter to the Docker Engine API, and the only
// package that imports the Docker client. It connects to a target the way the
// docker CLI would (host, context, TLS, ssh), observes the objects of an
// environment, applies plans made by the reconcile package without making
// decisions of its own, and streams logs and events.
package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/docker/docker/client"
)

// Engine is a connection to one Docker engine. It is safe for concurrent use.
type Engine struct {
	cli       *client.Client
	endpoint  Endpoint
	configDir string // the docker CLI config folder, for registry auths

	indexOnce sync.Once
	indexHost string // the default registry's index host, as the engine reports it

	live liveCache // inspects kept for drift checks (see liveCache)

	versionOnce sync.Once // endpoint.ServerVersion asked for (see Endpoint)

	idMu sync.Mutex
	id   string // the engine's ID, once asked (see ID)

	build builderState // how this engine builds (see builder)

	// sourceMu serialises the making of source copies (sources.go).
	sourceMu sync.Mutex

	// sessionConn, when set, wraps each BuildKit session connection:
	// tests watch them close.
	sessionConn func(net.Conn) net.Conn

	// eventsSince, when set, makes event streams start with the events
	// since then (the engine replays them): tests set it so that a stream
	// misses nothing that happened before it opened.
	eventsSince time.Time
}

// Endpoint says which engine an Engine talks to.
type Endpoint struct {
	// Context is the docker context the target came from ("default" when it
	// came from a host or DOCKER_HOST).
	Context string `json:"context"`
	// Host is the engine address (unix://, tcp:// or ssh://).
	Host string `json:"host"`
	// APIVersion is the negotiated Engine API version.
	APIVersion string `json:"apiVersion"`
	// ServerVersion is the engine's version, e.g. "20.10.24".
	ServerVersion string `json:"serverVersion"`
	// OS is the engine's operating system ("linux", "windows").
	OS string `json:"os"`
}

// Endpoint returns the engine this Engine is connected to.
func (e *Engine) Endpoint() Endpoint {
	e.versionOnce.Do(func() {
		// The engine's version is asked for when first wanted, not at
		// connection: its /version answer runs the runtime's and
		// containerd's version commands (20 ms on a local engine), which
		// every command would pay.
		ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
		defer cancel()
		if v, err := e.cli.ServerVersion(ctx); err == nil {
			e.endpoint.ServerVersion = v.Version
			if v.Os != "" {
				e.endpoint.OS = v.Os
			}
		}
	})
	return e.endpoint
}

// Close releases the connection.
func (e *Engine) Close() error { return e.cli.Close() }

// Errors callers can check with errors.Is.
var (
	// ErrUnreachable: no engine answers at the chosen target.
	ErrUnreachable = errors.New("docker engine unreachable")
	// ErrPortInUse: a host port a service publishes is taken.
	ErrPortInUse = errors.New("host port already in use")
	// ErrImageNotFound: an image is not on the engine and could not be pulled.
	ErrImageNotFound = errors.New("image not found")
	// ErrNotManaged: an operation was asked to touch an object Berth did not
	// create; the executor refuses.
	ErrNotManaged = errors.New("object not managed by berth")
)

// UnreachableError says which target was tried and what to do about it.
type UnreachableError struct {
	Context string
	Host    string
	Err     error
}

func (e *UnreachableError) Error() string {
	hint := "start Docker there, or choose another target with DOCKER_HOST or DOCKER_CONTEXT (docker context use NAME)"
	if len(e.Host) > 6 && e.Host[:6] == "ssh://" {
		hint = "check that `ssh " + e.Host[6:] + "` works without a password prompt and that Docker runs on that machine"
	}
	return fmt.Sprintf("cannot reach the Docker engine at %s (context %q): %v; %s", e.Host, e.Context, e.Err, hint)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreachable) true.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// PortInUseError is a host port a container could not bind.
type PortInUseError struct {
	Service  string
	HostPort string // may be empty when the engine did not say which
	Err      error
}

func (e *PortInUseError) Error() string {
	if e.HostPort == "" {
		return fmt.Sprintf("service %s: a host port it publishes is already in use by another process or container (%v)", e.Service, e.Err)
	}
	return fmt.Sprintf("service %s: host port %s is already in use by another process or container", e.Service, e.HostPort)
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrPortInUse) true.
func (e *PortInUseError) Is(target error) bool { return target == ErrPortInUse }

// ImageNotFoundError is an image that is missing and could not be pulled.
type ImageNotFoundError struct {
	Ref string
	Err error
}

func (e *ImageNotFoundError) Error() string {
	return fmt.Sprintf("image %q is not present on the engine and could not be pulled: %v", e.Ref, e.Err)
}

func (e *ImageNotFoundError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrImageNotFound) true.
func (e *ImageNotFoundError) Is(target error) bool { return target == ErrImageNotFound }

// notManaged builds the refusal for an object without Berth's labels.
func notManaged(kind, name, project, why string) error {
	return fmt.Errorf("%w: refusing to touch %s %q: %s (it is not a Berth-managed object of environment %q)", ErrNotManaged, kind, name, why, project)
}

// ID is the engine's own ID (docker info's ID: it stays with the engine's
// data root across restarts and whatever address reaches it), asked once.
func (e *Engine) ID(ctx context.Context) (string, error) {
	e.idMu.Lock()
	defer e.idMu.Unlock()
	if e.id != "" {
		return e.id, nil
	}
	info, err := e.cli.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("asking the engine for its ID: %w", err)
	}
	if info.ID == "" {
		return "", errors.New("the engine reports no ID")
	}
	e.id = info.ID
	return e.id, nil
}

// Describe is the endpoint opts name (context and host), resolved as
// Connect would but without connecting.
func Describe(opts Options) (Endpoint, error) {
	t, err := resolveTarget(opts, os.Getenv)
	if err != nil {
		return Endpoint{}, err
	}
	return Endpoint{Context: t.Context, Host: t.Host}, nil
}
