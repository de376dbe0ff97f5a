package gitsrc

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshServer accepts ssh handshakes on 127.0.0.1 with a fresh host key and
// refuses every client; enough to test host key checking.
func sshServer(t *testing.T) (addr string, key ssh.PublicKey) {
	return sshServerSeeing(t, nil)
}

// sshServerSeeing is sshServer telling seen of each user and key offered.
func sshServerSeeing(t *testing.T, seen func(user string, key ssh.PublicKey)) (addr string, key ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if seen != nil {
			seen(c.User(), k)
		}
		return nil, errors.New("no")
	}}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				ssh.NewServerConn(c, cfg)
			}()
		}
	}()
	return l.Addr().String(), signer.PublicKey()
}

func TestSSHHostKeys(t *testing.T) {
	addr, key := sshServer(t)
	_, port, _ := net.SplitHostPort(addr)
	url := fmt.Sprintf("ssh://git@127.0.0.1:%s/defs.git", port)
	dir := t.TempDir()
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewSignerFromKey(otherPriv)
	files := map[string]string{
		"empty":   "",
		"changed": knownhosts.Line([]string{knownhosts.Normalize(addr)}, other.PublicKey()) + "\n",
		"known":   knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	keyFile := filepath.Join(dir, "id")
	pemBlock, err := ssh.MarshalPrivateKey(otherPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pemEncode(pemBlock), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file, want string
		sentinel   error
	}{
		{"empty", "is not in known_hosts", ErrAuth},
		{"missing-file", "is not in known_hosts", ErrAuth},
		{"changed", "differs from the one in known_hosts", ErrAuth},
		{"known", "refused the ssh keys", ErrAuth},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := Open(ctx, Source{URL: url, Auth: Auth{SSHKeyFiles: []string{keyFile}, KnownHosts: []string{filepath.Join(dir, tc.file)}}}, t.TempDir())
		cancel()
		t.Logf("%s: %v", tc.file, err)
		if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("%s: %v", tc.file, err)
		}
	}
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }
