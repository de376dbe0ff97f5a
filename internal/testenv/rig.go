//go:build linux

package testenv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Rig is a second Docker engine on this machine that behaves like another
// host: its own dockerd (data root, sockets, bridge, iptables) and an sshd,
// both in a network namespace of their own reached through a veth pair,
// with a mount namespace in which /tmp and /run are empty, so that the
// engine sees none of the paths the tests make (a bind of a local path
// fails there as it would on a real remote host). A test user exists only
// inside the namespace. The engine answers three ways:
//
//   - ssh://berthrig@<Addr> (SSHHost), with the user's key and a
//     known_hosts line for the rig's host key (WriteSSHConfig);
//   - tcp://<Addr>:2376 with TLS, client certificates signed by a CA the
//     rig makes (TLSHost, CertDir);
//   - Socket, a Unix socket on this machine's file system, for the tests'
//     own checks through the docker CLI (never given to Berth: through it
//     the engine would look local).
type Rig struct {
	Name    string // the network namespace
	Addr    string // the rig's address, reachable from this machine
	Dir     string // its files (under /var/lib/berth-rig)
	Socket  string
	TLSHost string
	// CertDir holds ca.pem, cert.pem and key.pem of a client.
	CertDir string
	SSHUser string
	SSHHost string
	// SSHKey is the user's private key; KnownHosts a known_hosts line for
	// the rig's host key.
	SSHKey     string
	KnownHosts string

	slot   int
	hostIf string
	cmd    *exec.Cmd
	logs   []string
}

const rigUID = 4917

// StartRig starts a rig, loads images into its engine (saved from the
// local engine) and stops it at the end of the test. It needs root, ip,
// iptables, dockerd and sshd; without them the test is skipped with the
// reason (or fails, under BERTH_INTEGRATION=1, for a missing tool).
func StartRig(t testing.TB, images ...string) *Rig {
	t.Helper()
	Short(t)
	Engine(t)
	if os.Geteuid() != 0 {
		t.Skip("the remote-engine rig needs root (network and mount namespaces, a second dockerd); run the tests as root")
	}
	for _, tool := range []string{"ip", "iptables", "nsenter", "unshare", "dockerd", "docker", "ssh", "ssh-keygen"} {
		Tool(t, tool)
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		Missing(t, "sshd (openssh-server)")
	}
	Image(t, images...)
	r := &Rig{SSHUser: "berthrig"}
	t.Cleanup(r.stop)
	if err := r.start(t); err != nil {
		r.dumpLogs(t)
		t.Fatalf("starting the remote-engine rig: %v", err)
	}
	t.Logf("rig: a second engine in network namespace %s at %s (ssh %s, tls %s)", r.Name, r.Addr, r.SSHHost, r.TLSHost)
	if len(images) > 0 {
		start := time.Now()
		if err := r.load(images); err != nil {
			r.dumpLogs(t)
			t.Fatalf("loading images into the rig: %v", err)
		}
		t.Logf("rig: loaded %s in %s", strings.Join(images, ", "), time.Since(start).Round(time.Millisecond))
	}
	return r
}

func (r *Rig) start(t testing.TB) error {
	// A slot is a namespace name that ip netns add could take.
	for n := 1; n < 60; n++ {
		name := "berth-rig-" + strconv.Itoa(n)
		if exec.Command("ip", "netns", "add", name).Run() == nil {
			r.slot, r.Name = n, name
			break
		}
	}
	if r.Name == "" {
		return fmt.Errorf("no free namespace name berth-rig-1..59 (ip netns list)")
	}
	n := strconv.Itoa(r.slot)
	r.Addr = "10.98." + n + ".2"
	hostAddr := "10.98." + n + ".1"
	r.hostIf = "brig" + n + "h"
	nsIf := "brig" + n + "n"
	r.Dir = filepath.Join("/var/lib/berth-rig", n)
	r.Socket = filepath.Join(r.Dir, "engine.sock")
	r.TLSHost = "tcp://" + r.Addr + ":2376"
	r.SSHHost = "ssh://" + r.SSHUser + "@" + r.Addr
	if err := os.RemoveAll(r.Dir); err != nil {
		return err
	}
	for _, d := range []string{"data", "tls", "client", "home/.ssh", "ssh"} {
		if err := os.MkdirAll(filepath.Join(r.Dir, d), 0o755); err != nil {
			return err
		}
	}
	r.CertDir = filepath.Join(r.Dir, "client")
	if err := writeCerts(filepath.Join(r.Dir, "tls"), r.CertDir, r.Addr); err != nil {
		return err
	}
	if err := r.sshFiles(); err != nil {
		return err
	}

	// The network: a veth pair, the rig's default route through this
	// machine, and masquerading so that its builds reach the module proxy.
	steps := [][]string{
		{"ip", "link", "add", r.hostIf, "type", "veth", "peer", "name", nsIf},
		{"ip", "link", "set", nsIf, "netns", r.Name},
		{"ip", "addr", "add", hostAddr + "/30", "dev", r.hostIf},
		{"ip", "link", "set", r.hostIf, "up"},
		{"ip", "-n", r.Name, "addr", "add", r.Addr + "/30", "dev", nsIf},
		{"ip", "-n", r.Name, "link", "set", nsIf, "up"},
		{"ip", "-n", r.Name, "link", "set", "lo", "up"},
		{"ip", "-n", r.Name, "route", "add", "default", "via", hostAddr},
		{"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
	}
	steps = append(steps, r.iptables("-I")...)
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(s, " "), err, out)
		}
	}

	inner := fmt.Sprintf(`set -eu
# In the rig's own mount namespace: empty /run and
# /tmp, and a passwd and group that know the test user.
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount --bind %[1]s/passwd /etc/passwd
mount --bind %[1]s/group /etc/group
# Its own /etc/docker: an engine of this version takes its ID from the key
# kept there, and another host has another ID.
mkdir -p /etc/docker && mount -t tmpfs -o mode=0755 tmpfs /etc/docker
mkdir -p /run/sshd
dockerd --data-root %[1]s/data --exec-root /run/docker --pidfile /run/docker.pid \
  -H unix:///run/docker.sock -H unix://%[1]s/engine.sock -H tcp://%[2]s:2376 \
  --tlsverify --tlscacert %[1]s/tls/ca.pem --tlscert %[1]s/tls/cert.pem --tlskey %[1]s/tls/key.pem \
  --group berthrig --cgroup-parent berth-rig-%[3]s >%[1]s/dockerd.log 2>&1 &
/usr/sbin/sshd -D -e -f %[1]s/ssh/sshd_config >%[1]s/sshd.log 2>&1 &
wait
`, r.Dir, r.Addr, n)
	if err := os.WriteFile(filepath.Join(r.Dir, "inner.sh"), []byte(inner), 0o755); err != nil {
		return err
	}
	r.logs = []string{filepath.Join(r.Dir, "dockerd.log"), filepath.Join(r.Dir, "sshd.log")}
	// Not ip netns exec: it mounts a new /sys, without the cgroup
	// hierarchies dockerd needs. unshare makes the mount namespace, with
	// private propagation: nothing mounted inside shows on this machine.
	r.cmd = exec.Command("nsenter", "--net=/run/netns/"+r.Name, "unshare", "--mount", "--propagation", "private", "bash", filepath.Join(r.Dir, "inner.sh"))
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- r.cmd.Wait() }()

	// Ready when the engine answers on its socket and sshd on its port.
	deadline := time.After(90 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("the rig's processes ended: %v", err)
		case <-deadline:
			return fmt.Errorf("the rig's engine or sshd did not answer within 90s")
		case <-tick.C:
		}
		if exec.Command("docker", "-H", "unix://"+r.Socket, "version").Run() != nil {
			continue
		}
		if c, err := net.DialTimeout("tcp", r.Addr+":22", time.Second); err == nil {
			c.Close()
			return nil
		}
	}
}

// iptables are the rules that let the rig reach out (op -I) or, with -D,
// remove them again.
func (r *Rig) iptables(op string) [][]string {
	subnet := "10.98." + strconv.Itoa(r.slot) + ".0/30"
	return [][]string{
		{"iptables", "-t", "nat", op, "POSTROUTING", "-s", subnet, "!", "-o", r.hostIf, "-j", "MASQUERADE"},
		{"iptables", op, "FORWARD", "-i", r.hostIf, "-j", "ACCEPT"},
		{"iptables", op, "FORWARD", "-o", r.hostIf, "-j", "ACCEPT"},
	}
}

// sshFiles makes the host key, the user's key, sshd_config, and the
// passwd and group the namespace mounts.
func (r *Rig) sshFiles() error {
	hostKey := filepath.Join(r.Dir, "ssh", "host_ed25519")
	r.SSHKey = filepath.Join(r.Dir, "client", "id_ed25519")
	for _, k := range []string{hostKey, r.SSHKey} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "berth-rig", "-f", k).CombinedOutput(); err != nil {
			return fmt.Errorf("ssh-keygen: %v: %s", err, out)
		}
	}
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		return err
	}
	f := strings.Fields(string(pub))
	r.KnownHosts = r.Addr + " " + f[0] + " " + f[1]
	userPub, err := os.ReadFile(r.SSHKey + ".pub")
	if err != nil {
		return err
	}
	home := filepath.Join(r.Dir, "home")
	if err := os.WriteFile(filepath.Join(home, ".ssh", "authorized_keys"), userPub, 0o600); err != nil {
		return err
	}
	for _, p := range []string{home, filepath.Join(home, ".ssh"), filepath.Join(home, ".ssh", "authorized_keys")} {
		if err := os.Chown(p, rigUID, rigUID); err != nil {
			return err
		}
	}
	cfg := fmt.Sprintf(`ListenAddress %s:22
HostKey %s
PidFile /run/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
AllowUsers %s
`, r.Addr, hostKey, r.SSHUser)
	if err := os.WriteFile(filepath.Join(r.Dir, "ssh", "sshd_config"), []byte(cfg), 0o600); err != nil {
		return err
	}
	for _, f := range []struct{ name, line string }{
		{"passwd", fmt.Sprintf("%s:*:%d:%d:Berth rig user:%s:/bin/sh\n", r.SSHUser, rigUID, rigUID, home)},
		{"group", fmt.Sprintf("%s:x:%d:\n", r.SSHUser, rigUID)},
	} {
		b, err := os.ReadFile("/etc/" + f.name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(r.Dir, f.name), append(b, f.line...), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// load copies images from the local engine into the rig's.
func (r *Rig) load(images []string) error {
	save := exec.Command("docker", append([]string{"save"}, images...)...)
	load := exec.Command("docker", "-H", "unix://"+r.Socket, "load", "-q")
	pipe, err := save.StdoutPipe()
	if err != nil {
		return err
	}
	load.Stdin = pipe
	var serr, lerr bytes.Buffer
	save.Stderr, load.Stderr = &serr, &lerr
	if err := save.Start(); err != nil {
		return err
	}
	lout, err := load.Output()
	if werr := save.Wait(); werr != nil {
		return fmt.Errorf("docker save: %v: %s", werr, serr.String())
	}
	if err != nil {
		return fmt.Errorf("docker load: %v: %s%s", err, lout, lerr.String())
	}
	return nil
}

// Docker runs the docker CLI against the rig's engine (for checks made
// independently of Berth) and returns its output.
func (r *Rig) Docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"-H", "unix://" + r.Socket}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s (rig): %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// WriteSSHConfig writes an ssh client setup in home/.ssh: the user's key,
// known_hosts with the rig's host key, and a config naming the rig as
// Host alias, with StrictHostKeyChecking on.
func (r *Rig) WriteSSHConfig(t testing.TB, home, alias string) {
	t.Helper()
	dir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(r.SSHKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`Host %s
  HostName %s
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  StrictHostKeyChecking yes
  UserKnownHostsFile %s
  BatchMode yes
`, alias, r.Addr, r.SSHUser, filepath.Join(dir, "rig_key"), filepath.Join(dir, "known_hosts"))
	for name, body := range map[string]string{"rig_key": string(key), "known_hosts": r.KnownHosts + "\n", "config": cfg} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *Rig) dumpLogs(t testing.TB) {
	for _, l := range r.logs {
		if b, err := os.ReadFile(l); err == nil {
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("rig %s (end):\n%s", filepath.Base(l), b)
		}
	}
}

// stop ends the rig: dockerd stops its containers as it exits, then the
// namespace, the link, the rules and the files go.
func (r *Rig) stop() {
	if r.Name == "" {
		return
	}
	if r.cmd != nil && r.cmd.Process != nil {
		// dockerd stops the containers as it exits.
		pids, _ := exec.Command("ip", "netns", "pids", r.Name).Output()
		for _, p := range strings.Fields(string(pids)) {
			if pid, err := strconv.Atoi(p); err == nil {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for ctx.Err() == nil {
			out, _ := exec.Command("ip", "netns", "pids", r.Name).Output()
			if len(bytes.TrimSpace(out)) == 0 {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
		out, _ := exec.Command("ip", "netns", "pids", r.Name).Output()
		for _, p := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(p); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	for _, s := range r.iptables("-D") {
		_ = exec.Command(s[0], s[1:]...).Run()
	}
	_ = exec.Command("ip", "link", "del", r.hostIf).Run()
	_ = exec.Command("ip", "netns", "del", r.Name).Run()
	if r.Dir != "" {
		_ = os.RemoveAll(r.Dir)
	}
	for _, c := range []string{"cpu", "cpuacct", "memory", "pids", "blkio", "devices", "freezer", "net_cls", "perf_event", "hugetlb", "cpuset", "systemd", "unified", ""} {
		_ = os.Remove(filepath.Join("/sys/fs/cgroup", c, "berth-rig-"+strconv.Itoa(r.slot)))
	}
}

// writeCerts makes a CA, a server certificate for addr (in serverDir:
// ca.pem, cert.pem, key.pem) and a client certificate (in clientDir).
func writeCerts(serverDir, clientDir, addr string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "berth rig CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	leaf := func(dir string, serial int64, tmpl *x509.Certificate) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(serial), now.Add(-time.Hour), now.Add(24*time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		kb, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		files := map[string][]byte{
			"ca.pem":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
			"cert.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			"key.pem":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}),
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				return err
			}
		}
		return nil
	}
	if err := leaf(serverDir, 2, &x509.Certificate{Subject: pkix.Name{CommonName: addr}, IPAddresses: []net.IP{net.ParseIP(addr)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return err
	}
	return leaf(clientDir, 3, &x509.Certificate{Subject: pkix.Name{CommonName: "berth test client"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
}
