package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/versions"
	bkclient "github.com/moby/buildkit/client"
)

// How a build runs. BuildKit through the engine is the default: the
// engine answers BuildKit's control API on /grpc and its session on
// /session (the docker CLI's buildx "docker" driver dials the same). The
// classic builder is the fallback for an engine that has no BuildKit.
type builderKind int

const (
	builderBuildKit builderKind = iota + 1
	builderClassic
)

// Where the Dockerfile is turned into BuildKit's LLB. The engine's own
// frontend (dockerfile.v0) is what `docker build` uses; an engine before
// API 1.42 (Docker 23) carries one from before Dockerfile 1.4, without
// COPY --link or named contexts, so there Berth runs BuildKit's
// Dockerfile frontend itself, through the engine's gateway API, and sends
// the engine the LLB it makes.
type frontendKind int

const (
	frontendEngine frontendKind = iota + 1
	frontendClient
)

// builderChoice is how this engine builds, decided once per Engine.
type builderChoice struct {
	kind     builderKind
	frontend frontendKind
	// why says, for the classic builder, why BuildKit is not used: the
	// warning line a build prints, and the hint its errors carry.
	why string
}

// builtinFrontendAPI is the first Engine API version whose BuildKit has
// Dockerfile 1.4's frontend (Docker 23.0, BuildKit 0.11).
const builtinFrontendAPI = "1.42"

// buildKitProber is what choosing a builder asks of an engine.
type buildKitProber interface {
	// engineOS is the engine's operating system ("linux", "windows").
	engineOS() string
	// apiVersion is the negotiated Engine API version.
	apiVersion() string
	// dialBuildKit opens the engine's BuildKit endpoint (/grpc).
	dialBuildKit(ctx context.Context) (net.Conn, error)
}

// upgradeRefused matches the Docker client's error for an HTTP upgrade
// the engine answered with another status than 101.
var upgradeRefused = regexp.MustCompile(`unable to upgrade to \S+, received (\d{3})`)

// chooseBuilder decides how an engine builds: the classic builder when
// the engine is not Linux or refuses the upgrade to BuildKit's endpoint
// (it has none), else BuildKit. An engine that could not be asked (the
// dial failed otherwise) is an error, not a reason to fall back: the
// caller tries again next time.
func chooseBuilder(ctx context.Context, p buildKitProber) (builderChoice, error) {
	if os := p.engineOS(); os != "" && os != "linux" {
		return builderChoice{kind: builderClassic,
			why: fmt.Sprintf("the engine runs on %s, where it has no BuildKit", os)}, nil
	}
	conn, err := p.dialBuildKit(ctx)
	if err != nil {
		if m := upgradeRefused.FindStringSubmatch(err.Error()); m != nil {
			if code, _ := strconv.Atoi(m[1]); code >= 400 && code < 500 {
				return builderChoice{kind: builderClassic,
					why: fmt.Sprintf("the engine has no BuildKit endpoint (/grpc answered HTTP %d)", code)}, nil
			}
		}
		return builderChoice{}, fmt.Errorf("asking the engine for BuildKit: %w", err)
	}
	conn.Close()
	c := builderChoice{kind: builderBuildKit, frontend: frontendEngine}
	if v := p.apiVersion(); v != "" && versions.LessThan(v, builtinFrontendAPI) {
		c.frontend = frontendClient
	}
	return c, nil
}

// builderWarning is the progress line a build on the classic builder
// starts with.
func (c builderChoice) warning() string {
	return "warning: building with the classic builder: " + c.why + "; Dockerfile features that need BuildKit (RUN --mount, COPY --link, heredocs) fail there"
}

// builderState caches an Engine's builderChoice.
type builderState struct {
	mu     sync.Mutex
	choice builderChoice // zero until decided
}

// builder returns how this engine builds, asking it the first time.
func (e *Engine) builder(ctx context.Context) (builderChoice, error) {
	e.build.mu.Lock()
	defer e.build.mu.Unlock()
	if e.build.choice.kind != 0 {
		return e.build.choice, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := chooseBuilder(ctx, engineProber{e})
	if err != nil {
		return c, err
	}
	e.build.choice = c
	return c, nil
}

// engineProber is the real engine behind buildKitProber.
type engineProber struct{ e *Engine }

func (p engineProber) engineOS() string   { return p.e.endpoint.OS }
func (p engineProber) apiVersion() string { return p.e.cli.ClientVersion() }
func (p engineProber) dialBuildKit(ctx context.Context) (net.Conn, error) {
	return p.e.cli.DialHijack(ctx, "/grpc", "h2c", nil)
}

// buildKitClient connects a BuildKit client to the engine: its control
// API over /grpc (HTTP upgraded to h2c) and its session over /session,
// both through the Docker client's connection (unix, tcp+TLS or ssh).
// sessionConn, when set, sees every session connection (tests).
func (e *Engine) buildKitClient(ctx context.Context) (*bkclient.Client, error) {
	c, err := bkclient.New(ctx, "",
		bkclient.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return e.cli.DialHijack(ctx, "/grpc", "h2c", nil)
		}),
		bkclient.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			conn, err := e.cli.DialHijack(ctx, "/session", proto, meta)
			if err == nil && e.sessionConn != nil {
				conn = e.sessionConn(conn)
			}
			return conn, err
		}))
	if err != nil {
		return nil, fmt.Errorf("connecting to the engine's BuildKit: %w", err)
	}
	return c, nil
}

// errNoBuildKit marks a build refused on the classic builder because it
// needs BuildKit.
var errNoBuildKit = errors.New("needs BuildKit")

// UseClassicBuilder makes this Engine build with the classic builder even
// when the engine has BuildKit: the benchmark measures the two builders
// through the same engine API.
func (e *Engine) UseClassicBuilder() {
	e.build.mu.Lock()
	defer e.build.mu.Unlock()
	e.build.choice = builderChoice{kind: builderClassic, why: "this Engine was asked to use it"}
}
