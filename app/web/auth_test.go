package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestTicketsSingleUseAndExpiring: a ticket opens one event stream, once,
// within 30 s of the clock; buying one needs the token.
func TestTicketsSingleUseAndExpiring(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	h := newHandler(t.Context(), &fakeCore{listing: sampleListing()}, handlerConfig{
		token: testToken, assets: testAssets, hosts: []string{testHost}, now: clock.Now,
	})
	buy := func() string {
		t.Helper()
		w := do(h, "POST", "/api/events/ticket", nil, bearer)
		var tk struct{ Ticket string }
		if err := json.Unmarshal(w.Body.Bytes(), &tk); w.Code != http.StatusOK || err != nil || len(tk.Ticket) != 32 {
			t.Fatalf("ticket: %d %s", w.Code, w.Body)
		}
		return tk.Ticket
	}
	// open asks for the stream with a ticket and reports the status; a
	// stream that opens is ended at once (its request context is done).
	open := func(ticket string) int {
		t.Helper()
		w := do(h, "GET", "/api/events?ticket="+ticket, nil, func(r *http.Request) {
			ctx, cancel := context.WithCancel(r.Context())
			*r = *r.WithContext(ctx)
			cancel()
		})
		return w.Code
	}

	if w := do(h, "POST", "/api/events/ticket", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("a ticket without the token: %d", w.Code)
	}
	a := buy()
	if got := open(a); got != http.StatusOK {
		t.Fatalf("a fresh ticket: %d", got)
	}
	if got := open(a); got != http.StatusUnauthorized {
		t.Errorf("a ticket used twice: %d", got)
	}

	b := buy()
	clock.Add(29 * time.Second)
	if got := open(b); got != http.StatusOK {
		t.Errorf("a ticket 29 s old: %d", got)
	}
	c := buy()
	clock.Add(30 * time.Second)
	if got := open(c); got != http.StatusUnauthorized {
		t.Errorf("a ticket 30 s old: %d", got)
	}
	// A ticket is for the stream only.
	d := buy()
	if w := do(h, "GET", "/api/environments?ticket="+d, nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("the listing with a ticket: %d", w.Code)
	}
	// Tickets nobody uses are bounded; expired ones make room.
	for range maxTickets {
		do(h, "POST", "/api/events/ticket", nil, bearer)
	}
	if w := do(h, "POST", "/api/events/ticket", nil, bearer); w.Code != http.StatusTooManyRequests {
		t.Errorf("ticket %d waiting: %d, want 429", maxTickets+1, w.Code)
	}
	clock.Add(ticketTTL)
	buy()
}

// TestNoCookieEver: whatever is asked, with or without the token, no
// answer sets a cookie (the browser would send it to every port of the
// host).
func TestNoCookieEver(t *testing.T) {
	h := newTestHandler(t, &fakeCore{listing: sampleListing()})
	for _, c := range []struct {
		method, target string
		mod            func(*http.Request)
	}{
		{"GET", "/", nil},
		{"GET", "/?token=" + testToken, nil},
		{"GET", "/assets/index.js?token=" + testToken, nil},
		{"GET", "/api/environments", bearer},
		{"GET", "/api/environments?token=" + testToken, nil},
		{"GET", "/api/environments", nil},
		{"POST", "/api/events/ticket", bearer},
		{"POST", "/api/environments/shop/up", bearer},
	} {
		w := do(h, c.method, c.target, nil, c.mod)
		if sc := w.Header().Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("%s %s set cookies %q", c.method, c.target, sc)
		}
	}
}

// TestBodyCap: bodies are at most 64 KiB, whether they say their length
// or not.
func TestBodyCap(t *testing.T) {
	f := &fakeCore{listing: sampleListing()}
	h := newTestHandler(t, f)
	big := `{"definition":"` + strings.Repeat("x", maxBody) + `"}`
	w := do(h, "POST", "/api/environments/shop/up", strings.NewReader(big), bearer)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(errorOf(t, w), "over 65536 bytes") {
		t.Errorf("a %d-byte body: %d %s", len(big), w.Code, w.Body)
	}
	w = do(h, "POST", "/api/environments/shop/up", strings.NewReader(big), func(r *http.Request) {
		bearer(r)
		r.ContentLength = -1 // chunked: the length is found by reading
	})
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a %d-byte body of unknown length: %d %s", len(big), w.Code, w.Body)
	}
	if len(f.ups) != 0 {
		t.Errorf("core.Up ran %d times", len(f.ups))
	}
	w = do(h, "POST", "/api/environments/shop/up", strings.NewReader(`{"definition":"shop"}`), bearer)
	if w.Code != http.StatusOK {
		t.Errorf("a small body: %d %s", w.Code, w.Body)
	}
}
