package secret

import (
	"io"
	"slices"
	"strings"
	"sync"
)

// The values of stored secrets that this process has read are redacted
// wherever Berth prints or records text: Hide registers one, Redact
// replaces every registered value in a string with its mask.

var hidden struct {
	sync.RWMutex
	values []string
	r      *strings.Replacer
	masker *Masker
}

// MinHidden is the shortest value Redact replaces: shorter ones would
// mask ordinary words and digits (berth secret set warns about them).
const MinHidden = 4

// Hide registers v: from now on Redact masks it.
func Hide(v string) {
	if len(v) < MinHidden {
		return
	}
	hidden.Lock()
	defer hidden.Unlock()
	if slices.Contains(hidden.values, v) {
		return
	}
	if hidden.masker == nil {
		hidden.masker = NewMasker()
	}
	hidden.values = append(hidden.values, v)
	// Longest first, so that a value holding another is masked whole.
	slices.SortFunc(hidden.values, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(hidden.values))
	for _, h := range hidden.values {
		pairs = append(pairs, h, hidden.masker.Mask(h))
	}
	hidden.r = strings.NewReplacer(pairs...)
}

// Redact returns s with every hidden value masked.
func Redact(s string) string {
	hidden.RLock()
	r := hidden.r
	hidden.RUnlock()
	if r == nil {
		return s
	}
	return r.Replace(s)
}

// Hiding says whether any value is hidden.
func Hiding() bool {
	hidden.RLock()
	defer hidden.RUnlock()
	return hidden.r != nil
}

// RedactWriter writes through to w with hidden values masked. Each Write
// is masked on its own: Berth writes whole lines.
func RedactWriter(w io.Writer) io.Writer { return redactWriter{w} }

type redactWriter struct{ w io.Writer }

// Unwrap is the writer written to.
func (rw redactWriter) Unwrap() io.Writer { return rw.w }

func (rw redactWriter) Write(p []byte) (int, error) {
	if !Hiding() {
		return rw.w.Write(p)
	}
	if _, err := io.WriteString(rw.w, Redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
