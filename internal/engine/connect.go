package engine

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/docker/docker/client"
)

// Options override how Connect picks its target. Both empty: the target the
// docker CLI would use.
type Options struct {
	// Host is an engine address (unix://, tcp://, ssh://); it wins over
	// everything else, like `docker --host`.
	Host string
	// Context is a docker context name, like `docker --context`.
	Context string
}

const defaultContext = "default"

// How long Connect waits for the engine to answer.
var (
	pingTimeout    = 5 * time.Second
	sshPingTimeout = 12 * time.Second
	sshConnectWait = 6 // seconds, ssh -o ConnectTimeout
)

// sshMaxConns is how many ssh connections to one engine may be open.
const sshMaxConns = 8

// Connect picks the target as the docker CLI would, connects, negotiates the
// API version and checks that the engine answers. The order is: opts.Host,
// opts.Context, DOCKER_HOST, DOCKER_CONTEXT, currentContext in
// $DOCKER_CONFIG/config.json, then the default socket. An engine that does
// not answer within a few seconds gives an error matching ErrUnreachable.
func Connect(ctx context.Context, opts Options) (*Engine, error) {
	t, err := resolveTarget(opts, os.Getenv)
	if err != nil {
		return nil, err
	}
	cli, err := newClient(t, os.Getenv("DOCKER_API_VERSION"))
	if err != nil {
		return nil, err
	}
	timeout := pingTimeout
	if strings.HasPrefix(t.Host, "ssh://") {
		timeout = sshPingTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ping, err := cli.Ping(pctx)
	if err == nil {
		cli.NegotiateAPIVersionPing(ping)
	}
	if err != nil {
		cli.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s", timeout)
		}
		// The request URL means nothing to the user (for ssh it is a
		// placeholder); the cause does.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		if client.IsErrConnectionFailed(err) && strings.HasPrefix(t.Host, "unix://") {
			err = socketProblem(strings.TrimPrefix(t.Host, "unix://"), err)
		}
		return nil, &UnreachableError{Context: t.Context, Host: t.Host, Err: err}
	}
	return &Engine{
		cli:       cli,
		configDir: t.ConfigDir,
		endpoint: Endpoint{
			Context:    t.Context,
			Host:       t.Host,
			APIVersion: cli.ClientVersion(),
			OS:         ping.OSType,
		},
	}, nil
}

// target is a resolved engine address with what is needed to reach it.
type target struct {
	Context   string
	Host      string
	TLS       *tlsFiles // nil: no TLS
	ConfigDir string    // the docker CLI config folder
}

// tlsFiles are the client TLS materials; empty paths are not used.
type tlsFiles struct {
	CA, Cert, Key string
	SkipVerify    bool
}

// resolveTarget decides the target from opts, the environment and the docker
// CLI's config and context store. It does no network I/O.
func resolveTarget(opts Options, getenv func(string) string) (target, error) {
	cfgDir := configDir(getenv)
	t := target{ConfigDir: cfgDir}

	name := ""
	host := ""
	switch {
	case opts.Host != "" && opts.Context != "":
		return t, fmt.Errorf("both a host (%s) and a context (%s) were given; choose one", opts.Host, opts.Context)
	case opts.Host != "":
		name, host = defaultContext, opts.Host
	case opts.Context != "":
		name = opts.Context
	case getenv("DOCKER_HOST") != "":
		name, host = defaultContext, getenv("DOCKER_HOST")
	case getenv("DOCKER_CONTEXT") != "":
		name = getenv("DOCKER_CONTEXT")
	default:
		cur, err := currentContext(cfgDir)
		if err != nil {
			return t, err
		}
		name = cur
	}
	if name == "" {
		name = defaultContext
	}
	t.Context = name

	if name == defaultContext {
		if host == "" {
			host = getenv("DOCKER_HOST")
		}
		if host == "" {
			host = DefaultHost
		}
		h, err := normaliseHost(host, tlsFromEnvWanted(getenv))
		if err != nil {
			return t, err
		}
		t.Host = h
		if strings.HasPrefix(h, "tcp://") {
			t.TLS = tlsFromEnv(getenv, cfgDir)
		}
		return t, nil
	}

	ep, tlsDir, err := readContext(cfgDir, name)
	if err != nil {
		return t, err
	}
	if ep.Host == "" {
		return t, fmt.Errorf("docker context %q has no docker endpoint host", name)
	}
	files := tlsFiles{SkipVerify: ep.SkipTLSVerify}
	hasFiles := false
	for _, f := range []struct {
		dst  *string
		name string
	}{{&files.CA, "ca.pem"}, {&files.Cert, "cert.pem"}, {&files.Key, "key.pem"}} {
		p := filepath.Join(tlsDir, f.name)
		if _, err := os.Stat(p); err == nil {
			*f.dst = p
			hasFiles = true
		}
	}
	useTLS := hasFiles || ep.SkipTLSVerify
	h, err := normaliseHost(ep.Host, useTLS)
	if err != nil {
		return t, fmt.Errorf("docker context %q: %w", name, err)
	}
	t.Host = h
	if useTLS && strings.HasPrefix(h, "tcp://") {
		t.TLS = &files
	}
	return t, nil
}

// configDir is $DOCKER_CONFIG or ~/.docker.
func configDir(getenv func(string) string) string {
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".docker")
}

// currentContext reads currentContext from config.json; a missing file means
// the default context.
func currentContext(cfgDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(cfgDir, "config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return defaultContext, nil
	}
	if err != nil {
		return "", fmt.Errorf("reading docker config: %w", err)
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", fmt.Errorf("reading docker config %s: %w", filepath.Join(cfgDir, "config.json"), err)
	}
	return cfg.CurrentContext, nil
}

type contextEndpoint struct {
	Host          string `json:"Host"`
	SkipTLSVerify bool   `json:"SkipTLSVerify"`
}

// readContext reads a context from the docker CLI's context store: the
// metadata lives in contexts/meta/<sha256 of name>/meta.json and the TLS
// files in contexts/tls/<sha256 of name>/docker/.
func readContext(cfgDir, name string) (contextEndpoint, string, error) {
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	metaPath := filepath.Join(cfgDir, "contexts", "meta", id, "meta.json")
	b, err := os.ReadFile(metaPath)
	if errors.Is(err, os.ErrNotExist) {
		return contextEndpoint{}, "", fmt.Errorf("docker context %q does not exist (no %s); list contexts with `docker context ls`", name, metaPath)
	}
	if err != nil {
		return contextEndpoint{}, "", fmt.Errorf("reading docker context %q: %w", name, err)
	}
	var meta struct {
		Name      string                     `json:"Name"`
		Endpoints map[string]contextEndpoint `json:"Endpoints"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return contextEndpoint{}, "", fmt.Errorf("reading docker context %q (%s): %w", name, metaPath, err)
	}
	ep, ok := meta.Endpoints["docker"]
	if !ok {
		return contextEndpoint{}, "", fmt.Errorf("docker context %q has no docker endpoint", name)
	}
	return ep, filepath.Join(cfgDir, "contexts", "tls", id, "docker"), nil
}

func tlsFromEnvWanted(getenv func(string) string) bool {
	return getenv("DOCKER_TLS_VERIFY") != "" || getenv("DOCKER_TLS") != "" || getenv("DOCKER_CERT_PATH") != ""
}

// tlsFromEnv follows the docker CLI: DOCKER_TLS_VERIFY turns on TLS with
// verification, DOCKER_TLS or DOCKER_CERT_PATH alone turn on TLS without;
// the files come from DOCKER_CERT_PATH, else the config folder.
func tlsFromEnv(getenv func(string) string, cfgDir string) *tlsFiles {
	if !tlsFromEnvWanted(getenv) {
		return nil
	}
	dir := getenv("DOCKER_CERT_PATH")
	if dir == "" {
		dir = cfgDir
	}
	f := &tlsFiles{SkipVerify: getenv("DOCKER_TLS_VERIFY") == ""}
	for _, x := range []struct {
		dst  *string
		name string
	}{{&f.CA, "ca.pem"}, {&f.Cert, "cert.pem"}, {&f.Key, "key.pem"}} {
		p := filepath.Join(dir, x.name)
		if _, err := os.Stat(p); err == nil {
			*x.dst = p
		}
	}
	return f
}

// normaliseHost checks the scheme and adds the default TCP port (2376 with
// TLS, 2375 without) as the docker CLI does.
func normaliseHost(host string, useTLS bool) (string, error) {
	scheme, rest, ok := strings.Cut(host, "://")
	if !ok || rest == "" {
		return "", fmt.Errorf("engine host %q is not an address like unix:///var/run/docker.sock, tcp://HOST:2376 or ssh://USER@HOST", host)
	}
	if scheme == "npipe" && runtime.GOOS == "windows" {
		return host, nil // a named pipe, as Docker Desktop's engine on Windows
	}
	switch scheme {
	case "unix":
		return host, nil
	case "tcp":
		u, err := url.Parse(host)
		if err != nil {
			return "", fmt.Errorf("engine host %q: %w", host, err)
		}
		if u.Port() == "" {
			port := "2375"
			if useTLS {
				port = "2376"
			}
			u.Host = net.JoinHostPort(u.Hostname(), port)
		}
		return u.String(), nil
	case "ssh":
		if _, err := parseSSH(host); err != nil {
			return "", err
		}
		return host, nil
	default:
		return "", fmt.Errorf("engine host %q: scheme %q is not supported (use unix://, tcp:// or ssh://)", host, scheme)
	}
}

// newClient builds a Docker client for the target. version, when set
// (DOCKER_API_VERSION), pins the API version instead of negotiating.
func newClient(t target, version string) (*client.Client, error) {
	opts := []client.Opt{client.WithAPIVersionNegotiation()}
	if version != "" {
		opts = append(opts, client.WithVersion(version))
	}
	switch {
	case strings.HasPrefix(t.Host, "ssh://"):
		sh, err := parseSSH(t.Host)
		if err != nil {
			return nil, err
		}
		opts = append(opts,
			// Every connection is an ssh login. sshd drops logins beyond
			// ten at once (MaxStartups), and Berth's parallel inspections
			// asked for more: at most eight are open, and they are kept
			// for reuse rather than closed after each request.
			client.WithHTTPClient(&http.Client{Transport: &http.Transport{
				MaxConnsPerHost:     sshMaxConns,
				MaxIdleConns:        sshMaxConns,
				MaxIdleConnsPerHost: sshMaxConns,
				IdleConnTimeout:     30 * time.Second,
			}}),
			// The address is a placeholder: every connection is a new ssh
			// process running `docker system dial-stdio` on the remote host.
			client.WithHost("http://docker.example.com"),
			client.WithDialContext(sh.dial),
		)
	case t.TLS != nil:
		cfg, err := loadTLS(*t.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts,
			client.WithHTTPClient(&http.Client{Transport: &http.Transport{
				TLSClientConfig:     cfg,
				MaxIdleConns:        6,
				MaxIdleConnsPerHost: 6,
				IdleConnTimeout:     30 * time.Second,
			}, CheckRedirect: client.CheckRedirect}),
			client.WithHost(t.Host),
		)
	default:
		opts = append(opts, client.WithHost(t.Host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("engine host %s: %w", t.Host, err)
	}
	return cli, nil
}

// loadTLS reads the client TLS files.
func loadTLS(f tlsFiles) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.SkipVerify} //nolint:gosec // the user asked for it (SkipTLSVerify / no DOCKER_TLS_VERIFY)
	if f.CA != "" {
		pem, err := os.ReadFile(f.CA)
		if err != nil {
			return nil, fmt.Errorf("reading TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA %s holds no certificate", f.CA)
		}
		cfg.RootCAs = pool
	}
	if f.Cert != "" || f.Key != "" {
		if f.Cert == "" || f.Key == "" {
			return nil, fmt.Errorf("TLS client certificate needs both cert.pem and key.pem (have %q and %q)", f.Cert, f.Key)
		}
		pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("loading TLS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// socketProblem says what is wrong with a unix socket nothing answers on
// (the client's own error only asks whether the daemon runs).
func socketProblem(path string, err error) error {
	st, serr := os.Stat(path)
	switch {
	case errors.Is(serr, os.ErrNotExist):
		return fmt.Errorf("there is no socket at %s", path)
	case errors.Is(serr, os.ErrPermission):
		return fmt.Errorf("permission denied on %s", path)
	case serr == nil && st.Mode()&os.ModeSocket == 0:
		return fmt.Errorf("%s is not a socket", path)
	}
	if f, oerr := os.OpenFile(path, os.O_RDWR, 0); oerr != nil && errors.Is(oerr, os.ErrPermission) {
		return fmt.Errorf("permission denied on %s (is your user in the docker group?)", path)
	} else if f != nil {
		f.Close()
	}
	if c, derr := net.DialTimeout("unix", path, time.Second); derr != nil {
		return fmt.Errorf("nothing accepts connections on %s: %w", path, derr)
	} else {
		c.Close()
	}
	return err
}
