package envlock

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzHolder: whatever another process left in a lock file, what a
// refused caller reads from it never panics; a holder names a process id
// above 0; its text is printable, one line, cut to maxHolderText
// characters; the error shown is one printable line (no escape sequence
// reaches the terminal); and a holder written back reads back the same.
// The seeds hold what the first version let through: a lock file's text
// went into the error as it was (line breaks, terminal escape sequences,
// invalid UTF-8, any length), and a negative process id made a holder.
func FuzzHolder(f *testing.F) {
	for _, s := range []string{
		`{"env":"shop","what":"deploy","pid":4242,"host":"laptop","command":"berth deploy","since":"2026-01-02T03:04:05Z"}` + "\n",
		`{"env":"shop","what":"deploy\u001b]0;pwned\u0007\u001b[2J","pid":1,"host":"a\nb","command":"\u202eyolped htreb"}`,
		`{"pid":-5,"what":"up"}`,
		`{"pid":0}`,
		`{"pid":9999999999999999999}`,
		`{"pid":1,"since":"not a time"}`,
		`{"pid":1,"what":"` + strings.Repeat("x", 5000) + `"}`,
		`{"pid":1,"host":"\xff\xfe"}`,
		`{"pid":1`,
		`null`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := parseHolder(b)
		if h == nil {
			return
		}
		if h.PID <= 0 {
			t.Fatalf("a holder with pid %d", h.PID)
		}
		for _, s := range []string{h.Env, h.What, h.Host, h.Command} {
			if utf8.RuneCountInString(s) > maxHolderText+1 {
				t.Fatalf("a field of %d characters", utf8.RuneCountInString(s))
			}
		}
		msg := (&BusyError{Env: "shop", Holder: h}).Error()
		if !utf8.ValidString(msg) {
			t.Fatalf("the error is not UTF-8: %q", msg)
		}
		for _, r := range msg {
			if !unicode.IsPrint(r) && r != ' ' {
				t.Fatalf("the error holds %U: %q", r, msg)
			}
		}
		again, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		h2 := parseHolder(again)
		if h2 == nil || h2.Env != h.Env || h2.What != h.What || h2.Host != h.Host || h2.Command != h.Command || h2.PID != h.PID || !h2.Since.Equal(h.Since) {
			t.Fatalf("a holder written back reads %+v, want %+v", h2, h)
		}
	})
}
