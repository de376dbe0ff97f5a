package gitsrc

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/kevinburke/ssh_config"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// decoded is an ssh config read from text, in the shape go-git asks of
// ~/.ssh/config.
type decoded struct{ c *ssh_config.Config }

func (d decoded) Get(alias, key string) string {
	v, _ := d.c.Get(alias, key)
	if v == "" {
		return ssh_config.Default(key)
	}
	return v
}

// A Host alias of ~/.ssh/config gives the address, port, user and key:
// the server sees that user offer that key.
func TestSSHConfigHostAlias(t *testing.T) {
	var mu sync.Mutex
	var users []string
	var offered []ssh.PublicKey
	addr, hostKey := sshServerSeeing(t, func(user string, k ssh.PublicKey) {
		mu.Lock()
		users, offered = append(users, user), append(offered, k)
		mu.Unlock()
	})
	_, port, _ := net.SplitHostPort(addr)

	dir := t.TempDir()
	_, userPriv, _ := ed25519.GenerateKey(rand.Reader)
	userKey, _ := ssh.NewSignerFromKey(userPriv)
	block, _ := ssh.MarshalPrivateKey(userPriv, "")
	keyFile := filepath.Join(dir, "team_key")
	os.WriteFile(keyFile, pemEncode(block), 0o600)
	known := filepath.Join(dir, "known_hosts")
	os.WriteFile(known, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey)+"\n"), 0o600)
	text := fmt.Sprintf("Host defs-alias\n  HostName 127.0.0.1\n  Port %s\n  User deploy\n  IdentityFile %s\n\nHost jumped\n  HostName 10.1.2.3\n  ProxyJump bastion\n", port, keyFile)
	c, err := ssh_config.Decode(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	old := gitssh.DefaultSSHConfig
	gitssh.DefaultSSHConfig = decoded{c}
	t.Cleanup(func() { gitssh.DefaultSSHConfig = old })
	t.Setenv("SSH_AUTH_SOCK", "")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = Open(ctx, Source{URL: "ssh://defs-alias/defs.git", Auth: Auth{KnownHosts: []string{known}}}, t.TempDir())
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("open through the alias: %v (want the server's refusal)", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(users) == 0 || users[0] != "deploy" || !bytes.Equal(offered[0].Marshal(), userKey.PublicKey().Marshal()) {
		t.Fatalf("the server saw users %q offering %d keys; want deploy with the IdentityFile's key", users, len(offered))
	}

	_, err = Open(ctx, Source{URL: "ssh://git@jumped/defs.git"}, t.TempDir())
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "ProxyJump bastion") {
		t.Fatalf("a host behind a jump host: %v", err)
	}
}
