package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The dashboard's token never travels in a cookie: cookies are not
// scoped by port, so a cookie of 127.0.0.1:PORT goes to every server on
// 127.0.0.1, the environments' own containers included, which could log it
// and then drive Berth. The page keeps the token in the tab's
// sessionStorage (scoped to scheme, host and port) and sends it as
// "Authorization: Bearer"; the event stream, which a browser opens without
// headers, takes a ticket instead: one use, within ticketTTL, obtained with
// the token.

// ticketTTL is how long an event stream ticket may wait for its use.
const ticketTTL = 30 * time.Second

// maxTickets bounds the tickets waiting for their use; a page asks for one
// per stream it opens.
const maxTickets = 64

// errTooManyTickets: maxTickets are waiting already.
var errTooManyTickets = errors.New("too many event stream tickets waiting for their use; try again in a while")

// tickets are single-use tickets for the event stream.
type tickets struct {
	now func() time.Time

	mu      sync.Mutex
	pending map[string]time.Time // ticket → when it expires
}

func newTickets(now func() time.Time) *tickets {
	if now == nil {
		now = time.Now
	}
	return &tickets{now: now, pending: map[string]time.Time{}}
}

// issue returns a new ticket.
func (t *tickets) issue() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	s := hex.EncodeToString(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for k, exp := range t.pending {
		if !now.Before(exp) {
			delete(t.pending, k)
		}
	}
	if len(t.pending) >= maxTickets {
		return "", errTooManyTickets
	}
	t.pending[s] = now.Add(ticketTTL)
	return s, nil
}

// use spends a ticket: true once for a ticket issued less than ticketTTL
// ago, false after that and for anything else.
func (t *tickets) use(s string) bool {
	if s == "" {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.pending[s]
	if !ok {
		return false
	}
	delete(t.pending, s)
	return t.now().Before(exp)
}

// authenticate accepts an API request with the token as a bearer token,
// or, for the event stream only, with an unused ticket (?ticket=). The
// page and its assets carry nothing secret and need neither: the page
// finds the token in its URL fragment (#token=, which browsers never send)
// or its sessionStorage.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && h.validToken(strings.TrimSpace(auth)) {
		return true
	}
	if r.Method == http.MethodGet && r.URL.Path == "/api/events" && h.tickets.use(r.URL.Query().Get("ticket")) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="berth"`)
	writeError(w, http.StatusUnauthorized, errors.New("missing or wrong token: open the link that `berth ui --web` printed (the token is in its #fragment)"))
	return false
}

// validToken says whether t is the access token; without one (Serve
// always makes one) nothing is.
func (h *handler) validToken(t string) bool {
	return h.cfg.token != "" && subtle.ConstantTimeCompare([]byte(t), []byte(h.cfg.token)) == 1
}

// ticket answers POST /api/events/ticket.
func (h *handler) ticket(w http.ResponseWriter, r *http.Request) {
	t, err := h.tickets.issue()
	if errors.Is(err, errTooManyTickets) {
		writeError(w, http.StatusTooManyRequests, err)
		return
	}
	answer(w)(map[string]any{"ticket": t, "expiresIn": int(ticketTTL / time.Second)}, err)
}
