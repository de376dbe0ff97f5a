// Package web serves Berth's dashboard in a browser: the same frontend as
// the desktop window and the same API, over HTTP with server-sent events.
// `berth ui --web` starts it; UI tests drive it with a real browser.
//
// It listens on loopback by default and is protected by a random token:
// Serve announces a URL carrying it (?token=...), whose first load sets an
// HttpOnly cookie and redirects to the clean URL. Scripts may send the
// token as "Authorization: Bearer <token>" instead. Requests whose Host is
// not the server's own address (DNS rebinding) or whose Origin is another
// site's are refused.
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
//	GET    /api/settings, PUT /api/settings        settings.View; PUT takes settings.Settings
//	GET    /api/events                             server-sent events: "berth:event" (core.Event),
//	                                               "berth:change" (core.Change, drift reports too), "berth:log" (api.LogBatch)
//
// Errors answer with a 4xx or 5xx status and {"error": "<message>"}; an
// action on a definition that is not trusted (or that the settings
// refuse) answers 403 with its review as "trust" too.
package web

import (
	"context"
	"crypto/rand"
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
	// free port).
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
}

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
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	h := newHandler(ctx, b, handlerConfig{
		token:    opts.Token,
		assets:   opts.Assets,
		hosts:    append(allowedHosts(addr), opts.Hosts...),
		anyHost:  addr.IP.IsUnspecified(),
		settings: opts.Settings,
	})
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// Requests (event streams included) end with ctx.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	url := "http://" + displayHost(addr) + "/?token=" + opts.Token
	if opts.Announce != nil {
		opts.Announce(url)
	} else {
		fmt.Fprintf(os.Stderr, "Berth dashboard: %s\n", url)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
// unspecified address.
func displayHost(addr *net.TCPAddr) string {
	if addr.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", strconv.Itoa(addr.Port))
	}
	return addr.String()
}
