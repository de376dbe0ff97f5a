package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// writeContext puts a context in a docker CLI context store.
func writeContext(t *testing.T, cfgDir, name, host string, skipVerify bool, tlsFiles ...string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	meta := filepath.Join(cfgDir, "contexts", "meta", id)
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	body := `{"Name":"` + name + `","Metadata":{"Description":"test"},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":` + strconv.FormatBool(skipVerify) + `}}}`
	if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if len(tlsFiles) > 0 {
		dir := filepath.Join(cfgDir, "contexts", "tls", id, "docker")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range tlsFiles {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("pem"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func writeConfig(t *testing.T, cfgDir, body string) {
	t.Helper()
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestResolveTarget(t *testing.T) {
	type want struct {
		context, host string
		tls           *tlsFiles // CA/Cert/Key as base names
		err           string
	}
	cases := []struct {
		name  string
		opts  Options
		env   map[string]string
		setup func(t *testing.T, cfg string)
		want  want
	}{
		{name: "nothing configured", want: want{context: "default", host: "unix:///var/run/docker.sock"}},
		{name: "DOCKER_HOST", env: map[string]string{"DOCKER_HOST": "unix:///run/user/1000/docker.sock"},
			want: want{context: "default", host: "unix:///run/user/1000/docker.sock"}},
		{name: "opts.Host beats everything", opts: Options{Host: "tcp://10.0.0.1:2375"},
			env:   map[string]string{"DOCKER_HOST": "unix:///other.sock", "DOCKER_CONTEXT": "remote"},
			setup: func(t *testing.T, cfg string) { writeConfig(t, cfg, `{"currentContext":"remote"}`) },
			want:  want{context: "default", host: "tcp://10.0.0.1:2375"}},
		{name: "both host and context", opts: Options{Host: "tcp://a:1", Context: "b"}, want: want{err: "choose one"}},
		{name: "opts.Context beats DOCKER_HOST", opts: Options{Context: "remote"},
			env: map[string]string{"DOCKER_HOST": "unix:///other.sock"},
			setup: func(t *testing.T, cfg string) {
				writeContext(t, cfg, "remote", "ssh://deploy@build.example.com:2222", false)
			},
			want: want{context: "remote", host: "ssh://deploy@build.example.com:2222"}},
		{name: "DOCKER_HOST beats DOCKER_CONTEXT", env: map[string]string{"DOCKER_HOST": "unix:///h.sock", "DOCKER_CONTEXT": "remote"},
			want: want{context: "default", host: "unix:///h.sock"}},
		{name: "DOCKER_CONTEXT beats currentContext", env: map[string]string{"DOCKER_CONTEXT": "b"},
			setup: func(t *testing.T, cfg string) {
				writeConfig(t, cfg, `{"currentContext":"a"}`)
				writeContext(t, cfg, "a", "unix:///a.sock", false)
				writeContext(t, cfg, "b", "unix:///b.sock", false)
			},
			want: want{context: "b", host: "unix:///b.sock"}},
		{name: "currentContext with TLS files", setup: func(t *testing.T, cfg string) {
			writeConfig(t, cfg, `{"auths":{},"currentContext":"prod"}`)
			writeContext(t, cfg, "prod", "tcp://docker.prod.internal", false, "ca.pem", "cert.pem", "key.pem")
		}, want: want{context: "prod", host: "tcp://docker.prod.internal:2376", tls: &tlsFiles{CA: "ca.pem", Cert: "cert.pem", Key: "key.pem"}}},
		{name: "context with SkipTLSVerify and no files", setup: func(t *testing.T, cfg string) {
			writeConfig(t, cfg, `{"currentContext":"lab"}`)
			writeContext(t, cfg, "lab", "tcp://10.1.1.1:2376", true)
		}, want: want{context: "lab", host: "tcp://10.1.1.1:2376", tls: &tlsFiles{SkipVerify: true}}},
		{name: "plain tcp context gets port 2375", setup: func(t *testing.T, cfg string) {
			writeConfig(t, cfg, `{"currentContext":"plain"}`)
			writeContext(t, cfg, "plain", "tcp://10.1.1.2", false)
		}, want: want{context: "plain", host: "tcp://10.1.1.2:2375"}},
		{name: "currentContext default", setup: func(t *testing.T, cfg string) { writeConfig(t, cfg, `{"currentContext":"default"}`) },
			want: want{context: "default", host: "unix:///var/run/docker.sock"}},
		{name: "missing context", env: map[string]string{"DOCKER_CONTEXT": "ghost"}, want: want{err: `docker context "ghost" does not exist`}},
		{name: "broken config", setup: func(t *testing.T, cfg string) { writeConfig(t, cfg, `{`) }, want: want{err: "reading docker config"}},
		{name: "DOCKER_TLS_VERIFY and DOCKER_CERT_PATH", env: map[string]string{"DOCKER_HOST": "tcp://192.168.99.100", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "CERTS"},
			setup: func(t *testing.T, cfg string) {
				for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
					os.MkdirAll(filepath.Join(cfg, "..", "certs"), 0o755)
					os.WriteFile(filepath.Join(cfg, "..", "certs", f), []byte("pem"), 0o600)
				}
			},
			want: want{context: "default", host: "tcp://192.168.99.100:2376", tls: &tlsFiles{CA: "ca.pem", Cert: "cert.pem", Key: "key.pem"}}},
		{name: "DOCKER_CERT_PATH alone means TLS without verification", env: map[string]string{"DOCKER_HOST": "tcp://h:2376", "DOCKER_CERT_PATH": "CERTS"},
			want: want{context: "default", host: "tcp://h:2376", tls: &tlsFiles{SkipVerify: true}}},
		{name: "unix host ignores TLS env", env: map[string]string{"DOCKER_HOST": "unix:///x.sock", "DOCKER_TLS_VERIFY": "1"},
			want: want{context: "default", host: "unix:///x.sock"}},
		{name: "unsupported scheme", opts: Options{Host: "npipe:////./pipe/docker_engine"}, want: want{err: `scheme "npipe" is not supported`}},
		{name: "no scheme", opts: Options{Host: "localhost:2375"}, want: want{err: "is not an address like"}},
		{name: "ssh with a path", opts: Options{Host: "ssh://me@host/var/run"}, want: want{err: "takes no path"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			cfg := filepath.Join(root, "docker")
			if c.setup != nil {
				c.setup(t, cfg)
			}
			env := map[string]string{"DOCKER_CONFIG": cfg, "HOME": root}
			for k, v := range c.env {
				env[k] = strings.ReplaceAll(v, "CERTS", filepath.Join(root, "certs"))
			}
			got, err := resolveTarget(c.opts, func(k string) string { return env[k] })
			if c.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.want.err) {
					t.Fatalf("error = %v, want %q", err, c.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Context != c.want.context || got.Host != c.want.host {
				t.Errorf("got context %q host %q, want %q %q", got.Context, got.Host, c.want.context, c.want.host)
			}
			if got.ConfigDir != cfg {
				t.Errorf("config dir = %s", got.ConfigDir)
			}
			if (got.TLS == nil) != (c.want.tls == nil) {
				t.Fatalf("TLS = %+v, want %+v", got.TLS, c.want.tls)
			}
			if got.TLS != nil {
				base := func(p string) string {
					if p == "" {
						return ""
					}
					return filepath.Base(p)
				}
				g := tlsFiles{CA: base(got.TLS.CA), Cert: base(got.TLS.Cert), Key: base(got.TLS.Key), SkipVerify: got.TLS.SkipVerify}
				if !reflect.DeepEqual(g, *c.want.tls) {
					t.Errorf("TLS = %+v, want %+v", g, *c.want.tls)
				}
			}
		})
	}
}

func TestConfigDirDefaultsToHome(t *testing.T) {
	got := configDir(func(k string) string { return map[string]string{"HOME": "/home/ann"}[k] })
	if got != "/home/ann/.docker" {
		t.Fatal(got)
	}
}

func TestSSHArgs(t *testing.T) {
	cases := map[string][]string{
		"ssh://build.example.com":           {"-o", "ConnectTimeout=6", "-T", "--", "build.example.com", "docker", "system", "dial-stdio"},
		"ssh://deploy@build.example.com:22": {"-o", "ConnectTimeout=6", "-T", "-p", "22", "--", "deploy@build.example.com", "docker", "system", "dial-stdio"},
	}
	for host, want := range cases {
		st, err := parseSSH(host)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.args(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q, want %q", host, got, want)
		}
	}
	for _, bad := range []string{"ssh://-oProxyCommand=x", "ssh://me:secret@host", "ssh://host:99999", "ssh://host?x=1"} {
		if _, err := parseSSH(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestConnectUnreachable needs no engine: nothing listens on the socket.
func TestConnectUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nothing.sock")
	start := time.Now()
	_, err := Connect(context.Background(), Options{Host: "unix://" + sock})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("error = %v, want ErrUnreachable", err)
	}
	for _, want := range []string{"unix://" + sock, `context "default"`, "start Docker"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s", d)
	}
	t.Log(err)
}

// TestConnectSilentEngine: something accepts connections but never
// answers; Connect gives up within the ping timeout.
func TestConnectSilentEngine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	old := pingTimeout
	pingTimeout = 500 * time.Millisecond
	defer func() { pingTimeout = old }()
	_, err = Connect(context.Background(), Options{Host: "tcp://" + ln.Addr().String()})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "no answer within 500ms") {
		t.Fatalf("error = %v", err)
	}
}
