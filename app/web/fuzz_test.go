package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzAuthenticate: no request to the API passes but one with the right
// token as a bearer token, or, for the event stream only, an unused ticket
// issued less than ticketTTL ago; a ticket passes once; a server whose
// token is empty lets nothing through with a bearer token. The fuzzer's
// header and query may name the real token and ticket ({token},
// {ticket}), so that near misses are tried too.
func FuzzAuthenticate(f *testing.F) {
	for _, c := range []struct {
		method, path, query, header string
		late                        bool
	}{
		{"GET", "/api/environments", "", "Bearer {token}", false},
		{"GET", "/api/environments", "", "Bearer  {token} ", false},
		{"GET", "/api/environments", "", "bearer {token}", false},
		{"GET", "/api/environments", "", "Bearer {token}x", false},
		{"GET", "/api/environments", "", "Bearer " + "{token}"[:4], false},
		{"GET", "/api/environments", "token={token}", "", false},
		{"GET", "/api/environments", "", "Basic {token}", false},
		{"GET", "/api/environments", "", "Bearer ", false},
		{"GET", "/api/events", "ticket={ticket}", "", false},
		{"GET", "/api/events", "ticket={ticket}", "", true},
		{"POST", "/api/events", "ticket={ticket}", "", false},
		{"GET", "/api/environments", "ticket={ticket}", "", false},
		{"GET", "/api/events", "ticket={ticket}x", "", false},
		{"GET", "/api/events", "ticket=", "", false},
		{"GET", "/", "", "", false},
		{"GET", "/API/environments", "", "", false},
		{"GET", "/api/../api/environments", "", "", false},
		{"DELETE", "/api/environments/shop", "", "Bearer {token}\r\nX: y", false},
	} {
		f.Add(c.method, c.path, c.query, c.header, c.late)
	}
	token, err := NewToken()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path, query, header string, late bool) {
		now := time.Unix(1_000_000, 0)
		h := &handler{cfg: handlerConfig{token: token}, tickets: newTickets(func() time.Time { return now })}
		ticket, err := h.tickets.issue()
		if err != nil {
			t.Fatal(err)
		}
		if late {
			now = now.Add(ticketTTL)
		}
		fill := strings.NewReplacer("{token}", token, "{ticket}", ticket)
		header, query = fill.Replace(header), fill.Replace(query)
		req := func(h *handler) (bool, *httptest.ResponseRecorder) {
			r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}}
			if header != "" {
				r.Header.Set("Authorization", header)
			}
			w := httptest.NewRecorder()
			return h.authenticate(w, r), w
		}
		ok, w := req(h)
		bearer, isBearer := strings.CutPrefix(header, "Bearer ")
		byToken := isBearer && strings.TrimSpace(bearer) == token
		q, _ := url.ParseQuery(query)
		byTicket := method == http.MethodGet && path == "/api/events" && q.Get("ticket") == ticket && !late
		want := !strings.HasPrefix(path, "/api/") || byToken || byTicket
		if ok != want {
			t.Fatalf("%s %s?%s with %q: passed %v, want %v", method, path, query, header, ok, want)
		}
		if !ok && (w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "") {
			t.Fatalf("refused with %d %q", w.Code, w.Header())
		}
		if byTicket && !byToken {
			if again, _ := req(h); again {
				t.Fatal("a ticket passed twice")
			}
		}
		// a server without a token: no bearer token passes
		empty := &handler{cfg: handlerConfig{}, tickets: newTickets(nil)}
		if ok, _ := req(empty); ok && strings.HasPrefix(path, "/api/") {
			t.Fatalf("%s %s with %q passed a server without a token", method, path, header)
		}
	})
}
