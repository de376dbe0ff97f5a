package gitsrc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// Credentials as git gets them: for an https repo with no token given,
// Berth asks git's credential helpers (`git credential fill`), so that
// whatever the user set up for git (gh auth, the OS keychain, a store file,
// a token manager) works unchanged. git is never allowed to prompt: no
// terminal, no askpass program; a helper that has nothing for the repo
// means the repo is tried without credentials.

// helperTimeout bounds one `git credential fill`.
const helperTimeout = 15 * time.Second

// helperAuth is basic auth from a credential helper; it says where it
// came from, never the password.
type helperAuth struct {
	*githttp.BasicAuth
	host string
}

func (h *helperAuth) String() string {
	return fmt.Sprintf("the credentials git's credential helper gave for %s (user %s)", h.host, h.Username)
}

// tokenAuth is basic auth from a token Berth was given.
type tokenAuth struct {
	*githttp.BasicAuth
	from string // "$VAR" or "the token given"
}

func (t *tokenAuth) String() string {
	if strings.HasPrefix(t.from, "$") {
		return "the token from " + t.from
	}
	return t.from
}

// credentialFill asks git's credential helpers for rawURL's credentials;
// nil when git is missing, no helper answers, or it has nothing.
func credentialFill(ctx context.Context, rawURL string) *helperAuth {
	git, err := exec.LookPath("git")
	if err != nil {
		return nil
	}
	ep, err := endpoint(rawURL)
	if err != nil || ep.Host == "" {
		return nil
	}
	host := ep.Host
	if ep.Port != 0 && !(ep.Protocol == "https" && ep.Port == 443) && !(ep.Protocol == "http" && ep.Port == 80) {
		host = fmt.Sprintf("%s:%d", ep.Host, ep.Port)
	}
	var in bytes.Buffer
	fmt.Fprintf(&in, "protocol=%s\nhost=%s\npath=%s\n", ep.Protocol, host, strings.TrimPrefix(ep.Path, "/"))
	if ep.User != "" {
		fmt.Fprintf(&in, "username=%s\n", ep.User)
	}
	in.WriteString("\n")
	ctx, cancel := context.WithTimeout(ctx, helperTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, git, "-c", "core.askPass=", "-c", "credential.interactive=false", "credential", "fill")
	cmd.Stdin = &in
	// git must not prompt in any way: no terminal, no askpass program.
	cmd.Env = append(withoutVars(os.Environ(), "GIT_ASKPASS", "SSH_ASKPASS", "GIT_TERMINAL_PROMPT"), "GIT_TERMINAL_PROMPT=0", "GCM_INTERACTIVE=never")
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	a := &helperAuth{BasicAuth: &githttp.BasicAuth{}, host: host}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "username":
			a.Username = v
		case "password":
			a.Password = v
		}
	}
	clear(out)
	if a.Password == "" {
		return nil
	}
	return a
}

// withoutVars is env without the named variables.
func withoutVars(env []string, names ...string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
