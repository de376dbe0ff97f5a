package spec

import (
	"fmt"
	"strings"
)

// Error is a problem in a definition, located as precisely as it can be:
// file, line (0 when unknown) and field path (dotted, as in
// "services.api.depends_on"). Its text reads "file:line: field: message".
type Error struct {
	File    string
	Line    int
	Field   string
	Message string
	Err     error // the underlying error, if any
}

func (e *Error) Error() string {
	return formatPos(e.File, e.Line, e.Field) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errors is a list of definition errors, reported together.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func formatPos(file string, line int, field string) string {
	var b strings.Builder
	b.WriteString(file)
	if line > 0 {
		fmt.Fprintf(&b, ":%d", line)
	}
	if field != "" {
		b.WriteString(": ")
		b.WriteString(field)
	}
	return b.String()
}

// orNil returns nil for no errors, the error itself for one, else the list.
func (es Errors) orNil() error {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	}
	return es
}

// Unwrap lets errors.As and errors.Is look at each error of the list.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
