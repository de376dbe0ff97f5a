package web

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
)

// selfSigned writes a certificate for localhost and 127.0.0.1 and its key
// into dir, and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "berth test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestNonLoopbackNeedsTLSOrInsecure: off loopback, plain HTTP is refused
// unless asked for with a warning; with a certificate it is https, which
// a real TLS client (HTTP/2 too) reaches, event stream included.
func TestNonLoopbackNeedsTLSOrInsecure(t *testing.T) {
	f := &fakeCore{listing: sampleListing()}
	t.Run("refused", func(t *testing.T) {
		err := Serve(t.Context(), f, Options{Addr: "0.0.0.0:0", Announce: func(string) { t.Error("announced a URL") }})
		if !errors.Is(err, ErrInsecure) {
			t.Fatalf("Serve on 0.0.0.0 = %v, want ErrInsecure", err)
		}
		for _, want := range []string{"--tls-cert FILE --tls-key FILE", "--insecure", "in clear"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		err = Serve(t.Context(), f, Options{Addr: "127.0.0.1:0", TLSCert: "cert.pem"})
		if err == nil || !strings.Contains(err.Error(), "both --tls-cert and --tls-key") {
			t.Errorf("a certificate without its key: %v", err)
		}
	})

	t.Run("insecure", func(t *testing.T) {
		var warnings []string
		link, _ := serve(t, f, Options{Addr: "0.0.0.0:0", Insecure: true, Warn: func(m string) { warnings = append(warnings, m) }})
		if len(warnings) != 1 || !strings.Contains(warnings[0], "plain HTTP (--insecure)") || !strings.Contains(warnings[0], "access token") {
			t.Errorf("warnings %q", warnings)
		}
		u, _ := url.Parse(link)
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+u.Port()+"/api/environments", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimPrefix(u.Fragment, "token="))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("listing = %d", res.StatusCode)
		}
	})

	t.Run("tls", func(t *testing.T) {
		certFile, keyFile, pool := selfSigned(t, t.TempDir())
		link, _ := serve(t, f, Options{Addr: "0.0.0.0:0", TLSCert: certFile, TLSKey: keyFile, Token: testToken,
			Warn: func(m string) { t.Errorf("warned %q", m) }})
		u, _ := url.Parse(link)
		if u.Scheme != "https" || u.Hostname() != "localhost" || u.Fragment != "token="+testToken {
			t.Fatalf("announced %s, want https://localhost:PORT/#token=...", link)
		}
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
		defer client.CloseIdleConnections()
		base := "https://" + u.Host
		req, _ := http.NewRequest("GET", base+"/api/environments", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Origin", base)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.TLS == nil || res.ProtoMajor != 2 {
			t.Errorf("listing over https = %d %s (TLS %v)", res.StatusCode, res.Proto, res.TLS != nil)
		}
		// The event stream over HTTP/2, by ticket.
		sreq, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/api/events?ticket="+ticketFor(t, client, base), nil)
		sres, err := client.Do(sreq)
		if err != nil {
			t.Fatal(err)
		}
		defer sres.Body.Close()
		line, _ := bufio.NewReader(sres.Body).ReadString('\n')
		if sres.StatusCode != http.StatusOK || line != ": connected\n" {
			t.Errorf("events over https = %d %q", sres.StatusCode, line)
		}
		// Plain HTTP to the https port gets no dashboard.
		res, err = http.Get("http://127.0.0.1:" + u.Port() + "/")
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("plain HTTP to the https port = %d", res.StatusCode)
			}
		}
	})
}

// blockingCore's Up waits for release before it reports its op and
// answers.
type blockingCore struct {
	fakeCore
	entered, release chan struct{}
}

func (b *blockingCore) Up(ctx context.Context, req core.UpRequest, emit core.Emit) (*core.Result, error) {
	close(b.entered)
	<-b.release
	return b.fakeCore.Up(ctx, req, emit)
}

// closedByServer waits (30 s at most) for the server to close conn after
// whatever it answers; it fails the test when conn stays open.
func closedByServer(t *testing.T, conn net.Conn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open (read %q)", got)
	}
	return string(got)
}

// TestTimeouts: a request body that stalls and an idle keep-alive
// connection are cut (the timeouts shortened to 300 ms), while an
// operation answering after that and the event stream are not.
func TestTimeouts(t *testing.T) {
	saved := [3]time.Duration{readTimeout, writeTimeout, idleTimeout}
	t.Cleanup(func() { readTimeout, writeTimeout, idleTimeout = saved[0], saved[1], saved[2] })
	readTimeout, writeTimeout, idleTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond

	b := &blockingCore{fakeCore: fakeCore{listing: sampleListing()}, entered: make(chan struct{}), release: make(chan struct{})}
	link, _ := serve(t, b, Options{Token: testToken})
	u, _ := url.Parse(link)
	base := "http://" + u.Host
	client := &http.Client{}
	defer client.CloseIdleConnections()

	// The stream, open from the start.
	sreq, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/api/events?ticket="+ticketFor(t, client, base), nil)
	sres, err := client.Do(sreq)
	if err != nil {
		t.Fatal(err)
	}
	defer sres.Body.Close()
	stream := bufio.NewScanner(sres.Body)
	stream.Scan() // ": connected"

	// An operation that answers only once released.
	upDone := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/api/environments/shop/up", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		res, err := client.Do(req)
		if err != nil {
			t.Error(err)
		}
		upDone <- res
	}()
	select {
	case <-b.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("up did not reach the core")
	}

	// A body that never comes: the server gives up on it. From here on
	// readTimeout (and writeTimeout, as long) have passed since up asked.
	stalled, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	io.WriteString(stalled, "POST /api/plan HTTP/1.1\r\nHost: "+u.Host+"\r\nAuthorization: Bearer "+testToken+"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	if got := closedByServer(t, stalled); got != "" && !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Errorf("the stalled request got %q", got)
	}

	// The operation's answer and its event still arrive.
	close(b.release)
	res := <-upDone
	if res == nil || res.StatusCode != http.StatusOK {
		t.Fatalf("up after the timeouts: %v", res)
	}
	res.Body.Close()
	var data string
	for stream.Scan() {
		if v, ok := strings.CutPrefix(stream.Text(), "data: "); ok {
			data = v
			break
		}
	}
	if !strings.Contains(data, `"env":"shop"`) {
		t.Errorf("the stream after the timeouts: %q (%v)", data, stream.Err())
	}

	// An idle keep-alive connection is closed.
	idle, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET /api/environments HTTP/1.1\r\nHost: "+u.Host+"\r\nAuthorization: Bearer "+testToken+"\r\n\r\n")
	r := bufio.NewReader(idle)
	lres, err := http.ReadResponse(r, nil)
	if err != nil || lres.StatusCode != http.StatusOK {
		t.Fatalf("listing on a raw connection: %v %v", lres, err)
	}
	io.Copy(io.Discard, lres.Body)
	if rest := closedByServer(t, &bufConn{Conn: idle, r: r}); rest != "" {
		t.Errorf("after the answer: %q", rest)
	}
}

// bufConn reads through r (what a bufio.Reader already holds first).
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }
