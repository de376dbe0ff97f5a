// Package web serves Berth's dashboard in a browser: the same frontend as
// the desktop window and the same API, over HTTP with server-sent events.
// `berth ui --web` starts it; UI tests drive it with a real browser.
//
// Access. It listens on loopback by default and is protected by a random
// token. Serve announces a URL carrying it in the fragment
// (http://127.0.0.1:PORT/#token=...), which the browser never sends: the
// page (served to anyone, it holds nothing secret) takes the token from
// there into the tab's sessionStorage, removes it from the address bar and
// the history entry, and sends it as "Authorization: Bearer <token>" with
// every API call; scripts do the same. No cookie is ever set: cookies are
// not scoped by port, so the browser would send one to every server on
// 127.0.0.1, the environments' containers included. The event stream,
// which a browser opens without headers, takes a ticket bought with the
// token (POST /api/events/ticket), good for one use within 30 seconds.
// Requests whose Host is not the server's own address (DNS rebinding) or
// whose Origin is another site's are refused.
//
// Off loopback it serves https with --tls-cert and --tls-key (and answers
// to the certificate's names too), or plain HTTP only with --insecure,
// warning that the token and everything shown then cross the network in
// clear; otherwise it refuses to start.
//
// Limits. Request headers must arrive within 10 s and whole requests
// within 30 s, bodies are at most 64 KiB, idle connections close after 2
// minutes, and each response (each event of the stream) has 30 s to be
// written from when it starts.
//
// Settings that decide where credentials go and what runs (the definitions
// folder, the Docker host and context, the repo token's variable name) are
// read-only here: GET /api/settings lists them in "readOnly" and PUT
// refuses a change to any of them with 403 (see settings.go).
//
// Endpoints:
//
//	GET    /api/environments                       the listing (core.Listing)
//	GET    /api/environments/{name}                one environment (core.Environment)
//	POST   /api/plan                               body {"definition", "as"}: what up would do (core.Result)
//	POST   /api/environments/{name}/up             bring up; body {"definition"} for a new one; core.Result
//	POST   /api/environments/{name}/plan-down      body {"volumes"}: what down would do
//	POST   /api/environments/{name}/down           take down; body {"volumes": true} also removes volumes
//	POST   /api/environments/{name}/services/{s}/plan-recreate, .../recreate
//	GET    /api/environments/{name}/revisions      commits touching its definition, newest first ([]core.RevisionEntry)
//	POST   /api/environments/{name}/plan-deploy    body {"definition", "rev"}: what deploy would do (core.DeployPlan)
//	POST   /api/environments/{name}/deploy         body {"definition", "rev"}: deploy, the plan confirmed (core.DeployResult)
//	POST   /api/environments/{name}/plan-rollback  body {"to"}: what rollback would do (core.DeployPlan)
//	POST   /api/environments/{name}/rollback       body {"to"}: roll back, the plan confirmed (core.DeployResult)
//	GET    /api/environments/{name}/history        ?kind=deploy&kind=rollback&status=failed&limit=N: records, newest first ([]core.Deployment)
//	GET    /api/environments/{name}/databases      its databases with source, golden copy, strategy, snapshots ([]core.DBInfo)
//	POST   /api/environments/{name}/databases/clone     body {"service", "from"}: replace a database with a copy (core.DBResult)
//	POST   /api/environments/{name}/databases/snapshot  body {"service", "name"}: take a snapshot (core.DBResult)
//	POST   /api/environments/{name}/databases/reset     body {"service"}: back to the golden copy (core.DBResult)
//	POST   /api/environments/{name}/snapshots/{snap}/restore  put a snapshot back (core.DBResult)
//	DELETE /api/environments/{name}/snapshots/{snap}          remove a snapshot
//	GET    /api/drift                              the watcher's last drift report of each environment ([]core.DriftReport)
//	GET    /api/environments/{name}/drift          check its drift now (core.DriftReport)
//	POST   /api/environments/{name}/plan-sync      what heal would do (core.SyncResult)
//	POST   /api/environments/{name}/sync           heal, the plan confirmed (core.SyncResult)
//	POST   /api/environments/{name}/discard        put edited workspace files back ([]core.FileChange)
//	POST   /api/environments/{name}/adopt          body {"branch"}: commit the drift on a new branch (core.AdoptResult)
//	GET    /api/environments/{name}/healing        until when healing is paused (api.HealingPause)
//	PUT    /api/environments/{name}/healing        body {"pauseMinutes"}: pause healing (0 resumes) (api.HealingPause)
//	POST   /api/logs                               body api.LogRequest: follow logs; answers {"id"}
//	DELETE /api/logs/{id}                          stop following
//	GET    /api/definitions/{name}/trust           ?rev=: what a definition can do and whether it is trusted (core.TrustReview)
//	POST   /api/definitions/{name}/trust           body {"rev", "digest"}: grant the list reviewed (core.TrustReview)
//	DELETE /api/definitions/{name}/trust           ?rev=: revoke every grant of the definition
//	GET    /api/settings, PUT /api/settings        settings.View and "readOnly"; PUT takes settings.Settings
//	POST   /api/events/ticket                      {"ticket", "expiresIn"}: a ticket for one event stream
//	GET    /api/events?ticket=T                    server-sent events: "berth:event" (core.Event),
//	                                               "berth:change" (core.Change, drift reports too), "berth:log" (api.LogBatch)
//
// Every /api/ call needs the bearer token (GET /api/events: or a ticket).
// Errors answer with a 4xx or 5xx status and {"error": "<message>"}; an
// action on a definition that is not trusted (or that the settings
// refuse) answers 403 with its review as "trust" too.
package web

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/berthdev/berth/app/api"
)

// EventName names the server-sent events that carry core.Event values (the
// desktop window's Wails event has the same name).
const EventName = api.EventOp

// CoreAPI is the part of the core API the dashboard calls; *core.Berth
// implements it, tests use a fake.
type CoreAPI = api.Core

// Options configure Serve.
type Options struct {
	// Addr is the address to listen on; default 127.0.0.1:0 (loopback, a
	// free port). Any other address needs TLSCert and TLSKey, or Insecure.
	Addr string
	// Assets is the built frontend, index.html at its root.
	Assets fs.FS
	// Token is the access token; default a fresh random one.
	Token string
	// Hosts are extra Host header values to accept (host:port), for a
	// server reached through a name other than its listening address.
	Hosts []string
	// Settings, when set, serves the settings endpoints.
	Settings api.Settings
	// Announce receives the dashboard's URL, token included, once the
	// server listens; default: print it on standard error.
	Announce func(url string)
	// TLSCert and TLSKey are PEM files of a certificate and its key: the
	// dashboard is then served over https (and answers to the names the
	// certificate holds).
	TLSCert, TLSKey string
	// Insecure allows plain HTTP on an address other than loopback: the
	// token and everything the dashboard shows then cross the network in
	// clear.
	Insecure bool
	// Warn receives warnings (plain HTTP off loopback); default: print
	// them on standard error.
	Warn func(msg string)
}

// ErrInsecure: the dashboard would be served off loopback over plain HTTP
// without Options.Insecure.
var ErrInsecure = errors.New("refusing to serve the dashboard over plain HTTP off loopback")

// Server timeouts (variables: tests shorten them). Writing has a deadline
// per response instead (writeTimeout): operations answer after minutes and
// the event stream lasts as long as the page.
var (
	readHeaderTimeout = 10 * time.Second
	// readTimeout bounds reading a whole request, body included (bodies
	// are at most maxBody).
	readTimeout = 30 * time.Second
	// idleTimeout closes keep-alive connections nobody uses.
	idleTimeout = 2 * time.Minute
)

// maxHeaderBytes bounds a request's header.
const maxHeaderBytes = 64 << 10

// Serve serves the dashboard until ctx is done. Operations still running
// then are cancelled.
func Serve(ctx context.Context, b CoreAPI, opts Options) error {
	if b == nil {
		return errors.New("web: no core API")
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Token == "" {
		t, err := NewToken()
		if err != nil {
			return err
		}
		opts.Token = t
	}
	warn := opts.Warn
	if warn == nil {
		warn = func(msg string) { fmt.Fprintln(os.Stderr, msg) }
	}
	var tlsCfg *tls.Config
	var names certNames
	if opts.TLSCert != "" || opts.TLSKey != "" {
		if opts.TLSCert == "" || opts.TLSKey == "" {
			return errors.New("serving over https needs both --tls-cert and --tls-key")
		}
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return fmt.Errorf("load the dashboard's TLS certificate: %w", err)
		}
		if names, err = namesOf(cert); err != nil {
			return fmt.Errorf("load the dashboard's TLS certificate: %w", err)
		}
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() && tlsCfg == nil {
		if !opts.Insecure {
			ln.Close()
			return fmt.Errorf("%w: %s is reachable from other machines, and the access token and everything Berth shows would cross the network in clear; give --tls-cert FILE --tls-key FILE to serve https, or --insecure to accept that",
				ErrInsecure, addr)
		}
		warn(fmt.Sprintf("warning: serving the dashboard on %s over plain HTTP (--insecure): anyone who can watch the network between your browser and this machine sees the access token and can control Berth with it, and sees every log line, setting and database name the dashboard shows", addr))
	}
	hosts := append(allowedHosts(addr), opts.Hosts...)
	hosts = append(hosts, names.hosts(addr.Port)...)
	h := newHandler(ctx, b, handlerConfig{
		token:    opts.Token,
		assets:   opts.Assets,
		hosts:    hosts,
		anyHost:  addr.IP.IsUnspecified(),
		tls:      tlsCfg != nil,
		settings: opts.Settings,
	})
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		TLSConfig:         tlsCfg,
		// Requests (event streams included) end with ctx.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	// The token goes in the fragment, which the browser keeps to the page
	// and never sends (see auth.go).
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	url := scheme + "://" + displayHost(addr, names) + "/#token=" + opts.Token
	if opts.Announce != nil {
		opts.Announce(url)
	} else {
		fmt.Fprintf(os.Stderr, "Berth dashboard: %s\n", url)
	}
	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("stop the dashboard: %w", err)
		}
		return nil
	}
}

// certNames are the names a TLS certificate is valid for.
type certNames struct {
	dns []string
	ips []net.IP
}

func namesOf(cert tls.Certificate) (certNames, error) {
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return certNames{}, err
		}
	}
	return certNames{dns: leaf.DNSNames, ips: leaf.IPAddresses}, nil
}

// hosts are the Host values of the certificate's names on port: over
// https a page of another name (DNS rebinding) fails the certificate
// check before it sends anything, so they are safe to accept.
func (n certNames) hosts(port int) []string {
	var out []string
	for _, d := range n.dns {
		out = append(out, net.JoinHostPort(d, strconv.Itoa(port)))
	}
	for _, ip := range n.ips {
		out = append(out, net.JoinHostPort(ip.String(), strconv.Itoa(port)))
	}
	return out
}

// NewToken returns a fresh random access token.
func NewToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// allowedHosts lists the Host values that name the listening address.
func allowedHosts(addr *net.TCPAddr) []string {
	port := strconv.Itoa(addr.Port)
	hosts := []string{net.JoinHostPort(addr.IP.String(), port)}
	if addr.IP.IsLoopback() || addr.IP.IsUnspecified() {
		hosts = append(hosts, net.JoinHostPort("localhost", port))
	}
	return hosts
}

// displayHost is the host:port to print: a connectable one for an
// unspecified address, and over https one the certificate names.
func displayHost(addr *net.TCPAddr, names certNames) string {
	port := strconv.Itoa(addr.Port)
	for _, ip := range names.ips {
		if ip.Equal(addr.IP) {
			return addr.String()
		}
	}
	if len(names.dns) > 0 {
		return net.JoinHostPort(names.dns[0], port)
	}
	if addr.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", port)
	}
	return addr.String()
}
