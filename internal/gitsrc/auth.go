package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/kevinburke/ssh_config"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Auth holds the credentials for a remote definitions repo. This package
// keeps them in memory only, for the life of the Repo: it never logs or
// stores them.
type Auth struct {
	// Token is an https token (or password); TokenEnv names an environment
	// variable holding one, read at each use. Token wins when both are set.
	Token    string
	TokenEnv string
	// Username goes with the token; default "git" (GitHub accepts any name
	// with a token; GitLab wants "oauth2" for OAuth tokens).
	Username string
	// SSHKeyFiles are private key files to offer over ssh; with none, the
	// ssh agent (SSH_AUTH_SOCK) is used, else ~/.ssh/id_ed25519, id_ecdsa,
	// id_rsa, whichever exist.
	SSHKeyFiles   []string
	SSHPassphrase string
	// KnownHosts are known_hosts files to check ssh host keys against;
	// default $SSH_KNOWN_HOSTS, else ~/.ssh/known_hosts and
	// /etc/ssh/ssh_known_hosts. An unknown host is refused.
	KnownHosts []string
	// Timeout bounds an ssh connection when ctx has no deadline; default 20s.
	Timeout time.Duration
	// NoCredentialHelper: with no token, do not ask git's credential
	// helpers (git credential fill) for an https repo's credentials.
	NoCredentialHelper bool
}

// String never shows secrets.
func (a Auth) String() string {
	switch {
	case a.Token != "":
		return "token (given)"
	case a.TokenEnv != "":
		return "token from $" + a.TokenEnv
	case len(a.SSHKeyFiles) > 0:
		return "ssh keys " + strings.Join(a.SSHKeyFiles, ", ")
	}
	return "default"
}

// method builds go-git's auth method for one operation on rawURL.
func (a Auth) method(ctx context.Context, rawURL string) (transport.AuthMethod, error) {
	ep, err := endpoint(rawURL)
	if err != nil {
		return nil, err
	}
	switch ep.Protocol {
	case "http", "https":
		token, from := a.Token, "the token given"
		if token == "" && a.TokenEnv != "" {
			token, from = os.Getenv(a.TokenEnv), "$"+a.TokenEnv
			if token == "" {
				return nil, fmt.Errorf("token variable $%s is empty or unset: %w", a.TokenEnv, ErrAuth)
			}
		}
		if token == "" {
			if a.NoCredentialHelper {
				return nil, nil
			}
			if h := credentialFill(ctx, rawURL); h != nil {
				return h, nil
			}
			return nil, nil // public repo, or credentials in the URL
		}
		user := a.Username
		if user == "" {
			user = "git"
		}
		return &tokenAuth{BasicAuth: &githttp.BasicAuth{Username: user, Password: token}, from: from}, nil
	case "ssh":
		return a.sshMethod(ctx, ep)
	}
	return nil, nil // file:// and the like need none
}

func (a Auth) sshMethod(ctx context.Context, ep *transport.Endpoint) (transport.AuthMethod, error) {
	// ~/.ssh/config, as ssh reads it (go-git's reader: it also applies
	// HostName and Port when it dials): the user and the identity file of
	// a Host entry count here. A jump host go-git cannot take is refused
	// rather than bypassed.
	conf := sshConfigOf(ep.Host)
	if conf.proxyJump != "" {
		return nil, fmt.Errorf("~/.ssh/config sends %s through ProxyJump %s, which Berth's Git client does not follow: use an address it reaches directly, or clone with git and give Berth the folder: %w", ep.Host, conf.proxyJump, ErrAuth)
	}
	user := ep.User
	if user == "" {
		user = conf.user
	}
	if user == "" {
		user = os.Getenv("USER")
	}
	host := ep.Host
	if conf.hostName != "" {
		host = conf.hostName
	}
	port := ep.Port
	if (port == 0 || port == 22) && conf.port != 0 {
		port = conf.port
	}
	if port == 0 {
		port = 22
	}
	m := &sshAuth{user: user, host: net.JoinHostPort(host, strconv.Itoa(port)), knownHosts: a.KnownHosts}
	m.timeout = a.Timeout
	if m.timeout == 0 {
		m.timeout = 20 * time.Second
	}
	if d, ok := ctx.Deadline(); ok {
		m.timeout = time.Until(d)
		if m.timeout <= 0 {
			return nil, ctx.Err()
		}
	}
	keys := a.SSHKeyFiles
	if len(keys) == 0 && conf.identity != "" {
		keys = []string{conf.identity}
	}
	if len(keys) == 0 && os.Getenv("SSH_AUTH_SOCK") != "" {
		agent, err := gitssh.NewSSHAgentAuth(user)
		if err != nil {
			return nil, fmt.Errorf("ssh agent at $SSH_AUTH_SOCK: %v: %w", err, ErrAuth)
		}
		m.inner = agent
		return m, nil
	}
	if len(keys) == 0 {
		home, _ := os.UserHomeDir()
		for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			p := filepath.Join(home, ".ssh", name)
			if _, err := os.Stat(p); err == nil {
				keys = append(keys, p)
			}
		}
	}
	var signers []ssh.Signer
	for _, k := range keys {
		pk, err := gitssh.NewPublicKeysFromFile(user, k, a.SSHPassphrase)
		if err != nil {
			return nil, fmt.Errorf("ssh key %s: %v: %w", k, err, ErrAuth)
		}
		signers = append(signers, pk.Signer)
	}
	// With no key at all the connection is still tried, so that an
	// unreachable host is reported as such; the server then refuses it.
	m.inner = &gitssh.PublicKeysCallback{User: user, Callback: func() ([]ssh.Signer, error) { return signers, nil }}
	return m, nil
}

// sshAuth wraps a go-git ssh auth method to check host keys against
// known_hosts with clear errors, and to bound the connection time.
type sshAuth struct {
	inner      *gitssh.PublicKeysCallback
	user, host string
	knownHosts []string
	timeout    time.Duration
}

func (m *sshAuth) Name() string   { return m.inner.Name() }
func (m *sshAuth) String() string { return m.inner.String() }

func (m *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	// Replaced below; set so that go-git does not look for known_hosts
	// itself.
	m.inner.HostKeyCallback = func(string, net.Addr, ssh.PublicKey) error {
		return fmt.Errorf("host key not checked: %w", ErrAuth)
	}
	cfg, err := m.inner.ClientConfig()
	if err != nil {
		return nil, err
	}
	files := m.knownHosts
	if len(files) == 0 {
		files = defaultKnownHosts()
	}
	var present []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			present = append(present, f)
		}
	}
	cfg.Timeout = m.timeout
	if len(present) == 0 {
		// Refused once connected, so that an unreachable host says so.
		cfg.HostKeyCallback = func(string, net.Addr, ssh.PublicKey) error {
			return &hostKeyError{host: m.host, files: files, unknown: true}
		}
		return cfg, nil
	}
	db, err := gitssh.NewKnownHostsDb(present...)
	if err != nil {
		return nil, fmt.Errorf("known_hosts %s: %v: %w", strings.Join(present, ", "), err, ErrAuth)
	}
	check := db.HostKeyCallback()
	cfg.HostKeyCallback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			return &hostKeyError{host: m.host, files: present, unknown: len(ke.Want) == 0}
		}
		return err
	}
	cfg.HostKeyAlgorithms = db.HostKeyAlgorithms(m.host)
	return cfg, nil
}

func defaultKnownHosts() []string {
	if v := os.Getenv("SSH_KNOWN_HOSTS"); v != "" {
		return filepath.SplitList(v)
	}
	home, _ := os.UserHomeDir()
	return []string{filepath.Join(home, ".ssh", "known_hosts"), "/etc/ssh/ssh_known_hosts"}
}

// hostKeyError: an ssh host that known_hosts does not know, or whose key
// changed. It is an ErrAuth.
type hostKeyError struct {
	host    string
	files   []string
	unknown bool
}

func (e *hostKeyError) Error() string {
	h, p, _ := net.SplitHostPort(e.host)
	if e.unknown {
		return fmt.Sprintf("ssh host %s is not in known_hosts (%s): check its key fingerprint with the host's owner, then add it, for example with `ssh-keyscan -p %s %s >> ~/.ssh/known_hosts`",
			e.host, strings.Join(e.files, ", "), p, h)
	}
	entry := h
	if p != "22" {
		entry = "[" + h + "]:" + p
	}
	return fmt.Sprintf("ssh host %s presented a key that differs from the one in known_hosts (%s): the host was reinstalled or someone is intercepting the connection; check with the host's owner before removing the old key (`ssh-keygen -R %s`)",
		e.host, strings.Join(e.files, ", "), entry)
}

func (e *hostKeyError) Is(target error) bool { return target == ErrAuth }

// classify wraps an error from a remote operation on rawURL, made with
// the credentials auth (nil: none), with the sentinel that fits and a
// message that says what to do. Messages never hold the credentials.
func classify(err error, rawURL string, auth transport.AuthMethod) error {
	u := redact(rawURL)
	var hk *hostKeyError
	var netErr net.Error
	msg := err.Error()
	switch {
	case errors.As(err, &hk):
		return hk
	case errors.Is(err, ErrAuth), errors.Is(err, ErrNotFound), errors.Is(err, ErrUnreachable):
		return err
	case errors.Is(err, transport.ErrAuthenticationRequired) && auth != nil:
		// A server asks again when it refuses what was sent.
		return fmt.Errorf("%s refused %s (check it and that it may read this repo): %w", u, triedCredential(auth), ErrAuth)
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return fmt.Errorf("%s needs credentials: git's credential helpers had none for it (git credential fill), and no token is set (an https token in $BERTH_REPO_TOKEN, or ssh with a key): %w", u, ErrAuth)
	case errors.Is(err, transport.ErrAuthorizationFailed), errors.Is(err, transport.ErrInvalidAuthMethod):
		return fmt.Errorf("%s refused %s: %w", u, triedCredential(auth), ErrAuth)
	case strings.Contains(msg, "unable to authenticate"):
		return fmt.Errorf("%s refused the ssh keys offered (agent or key files; none may be set up): %w", u, ErrAuth)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("no repository at %s: %w", u, ErrUnreachable)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return fmt.Errorf("%s is an empty repository (no commits): %w", u, ErrNotFound)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: gave up: %w (%w)", u, ErrUnreachable, err)
	case errors.As(err, &netErr), strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"), strings.Contains(msg, "i/o timeout"):
		return fmt.Errorf("cannot reach %s: %v: %w", u, scrub(msg, rawURL), ErrUnreachable)
	}
	return fmt.Errorf("%s: %s", u, scrub(msg, rawURL))
}

// Redact hides a password or token embedded in a URL, for messages.
func Redact(raw string) string { return redact(raw) }

// redact hides a password or token embedded in a URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// scrub replaces the raw URL in a message with its redacted form.
func scrub(msg, raw string) string {
	if r := redact(raw); r != raw {
		return strings.ReplaceAll(msg, raw, r)
	}
	return msg
}

// triedCredential names the credential sent, never its secret.
func triedCredential(auth transport.AuthMethod) string {
	switch a := auth.(type) {
	case *helperAuth:
		return a.String()
	case *tokenAuth:
		return a.String()
	case nil:
		return "the request without credentials"
	}
	return "the credentials given"
}

// sshHost is what ~/.ssh/config says of a Host (empty: nothing, or the
// default).
type sshHost struct {
	hostName, user, identity, proxyJump string
	port                                int
}

// sshConfigOf reads alias's entry through go-git's ssh config reader
// (gitssh.DefaultSSHConfig: the user's ~/.ssh/config and the system's).
func sshConfigOf(alias string) sshHost {
	c := gitssh.DefaultSSHConfig
	if c == nil {
		return sshHost{}
	}
	get := func(key string) string {
		v := strings.TrimSpace(c.Get(alias, key))
		if v == ssh_config.Default(key) {
			return ""
		}
		return v
	}
	h := sshHost{hostName: get("HostName"), user: get("User"), proxyJump: get("ProxyJump")}
	if h.proxyJump == "none" {
		h.proxyJump = ""
	}
	if p, err := strconv.Atoi(get("Port")); err == nil && p > 0 && p < 65536 {
		h.port = p
	}
	if f := get("IdentityFile"); f != "" {
		if strings.HasPrefix(f, "~/") {
			if home, err := os.UserHomeDir(); err == nil {
				f = filepath.Join(home, f[2:])
			}
		}
		h.identity = f
	}
	return h
}
