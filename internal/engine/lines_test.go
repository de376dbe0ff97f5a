package engine

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/testenv"
)

func TestLineSplitter(t *testing.T) {
	long := strings.Repeat("a", MaxLineBytes)
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"lines", "one\ntwo\r\n\nthree", []string{"one", "two", "", "three"}},
		{"exactly the limit", long + "\nnext\n", []string{long, "next"}},
		{"one byte over", long + "b\n", []string{long + " … [cut: 1 bytes]"}},
		{"over without a newline", long + "bcd", []string{long + " … [cut: 3 bytes]"}},
		{"a carriage return cut off counts", long + "\r\n", []string{long + " … [cut: 1 bytes]"}},
		// An "é" (2 bytes) across the limit goes whole: no broken UTF-8.
		{"a character across the limit", long[1:] + "é" + "zz\n", []string{long[1:] + " … [cut: 4 bytes]"}},
		{"a character ending at the limit", long[2:] + "é" + "zz\n", []string{long[2:] + "é" + " … [cut: 2 bytes]"}},
	}
	for _, tc := range cases {
		for _, chunk := range []int{1, 7, 300, 4096, 12000, len(tc.in)} {
			var got []string
			s := &lineSplitter{emit: func(l string) { got = append(got, l) }}
			for in := tc.in; len(in) > 0; {
				n := min(chunk, len(in))
				s.Write([]byte(in[:n]))
				in = in[n:]
			}
			s.flush()
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("%s in chunks of %d: got %d lines %.80q…, want %.80q…", tc.name, chunk, len(got), tail(got), tail(tc.want))
			}
			if cap(s.buf) > MaxLineBytes {
				t.Errorf("%s: the line buffer grew to %d bytes", tc.name, cap(s.buf))
			}
		}
	}
}

// tail shows the ends of lines (where the cut mark is).
func tail(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l[max(0, len(l)-40):]
	}
	return out
}

// repeatReader reads n copies of b without holding them.
type repeatReader struct {
	b byte
	n int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = r.b
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// gigaLine is a 1 GiB line without a newline, then a short one.
func gigaLine() io.Reader {
	return io.MultiReader(&repeatReader{b: 'x', n: 1 << 30}, strings.NewReader("\nafter\n"))
}

const gigaCut = " … [cut: 1073725440 bytes]" // 1 GiB - 16 KiB

// TestLogLineOfAGigabyte: a container's 1 GiB line costs 16 KiB and comes
// out cut, with the count of what was left out; so does a helper's.
func TestLogLineOfAGigabyte(t *testing.T) {
	var got []LogLine
	w := newLineWriter(LogLine{Service: "spew"}, "stdout", false, func(l LogLine) { got = append(got, l) })
	if _, err := io.Copy(w, gigaLine()); err != nil {
		t.Fatal(err)
	}
	w.flush()
	if len(got) != 2 || got[0].Text != strings.Repeat("x", MaxLineBytes)+gigaCut || got[1].Text != "after" || got[0].Stream != "stdout" {
		t.Fatalf("got %d lines %q", len(got), tail(texts(got)))
	}
	if c := cap(w.lines.buf); c > MaxLineBytes {
		t.Errorf("the log line buffer grew to %d bytes", c)
	}

	var lines []string
	h := newHelperOutput(func(l string) { lines = append(lines, l) })
	if _, err := io.Copy(h, gigaLine()); err != nil {
		t.Fatal(err)
	}
	h.flush()
	if len(lines) != 2 || lines[0] != strings.Repeat("x", MaxLineBytes)+gigaCut || lines[1] != "after" {
		t.Fatalf("helper lines %q", tail(lines))
	}
	if c := cap(h.lines.buf); c > MaxLineBytes {
		t.Errorf("the helper's line buffer grew to %d bytes", c)
	}
	if out := h.String(); len(out) > helperOutputMax || !strings.HasSuffix(out, "x\nafter\n") {
		t.Errorf("helper output tail: %d bytes ending %q", len(out), out[max(0, len(out)-20):])
	}
}

func texts(ls []LogLine) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Text
	}
	return out
}

// TestIntegrationLongLines: a real container and a real helper print a
// 5 MB line without a newline; Logs, the last lines of a failed container
// and the helper's lines come out cut.
func TestIntegrationLongLines(t *testing.T) {
	e := testEngine(t)
	testenv.Image(t, "postgres:15")
	ctx := testCtx(t, 3*time.Minute)
	name := uniqueProject(t, e)
	const spew = `head -c 5000000 /dev/zero | tr '\0' x; echo; echo after; head -c 3000000 /dev/zero | tr '\0' y >&2; exit 3`
	want := strings.Repeat("x", MaxLineBytes) + " … [cut: 4983616 bytes]"
	wantErr := strings.Repeat("y", MaxLineBytes) + " … [cut: 2983616 bytes]"

	created, err := e.cli.ContainerCreate(ctx, &container.Config{Image: "postgres:15", Entrypoint: []string{"sh", "-c", spew}, Cmd: []string{},
		Labels: map[string]string{reconcile.LabelProject: name, reconcile.LabelService: "spew", reconcile.LabelNumber: "1", reconcile.LabelManaged: "true"}},
		nil, nil, nil, name+"-spew-1")
	if err != nil {
		t.Fatal(err)
	}
	waitC, errC := e.cli.ContainerWait(ctx, created.ID, container.WaitConditionNextExit)
	if err := e.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waitC:
	case err := <-errC:
		t.Fatal(err)
	}
	var got []LogLine
	if err := e.Logs(ctx, name, LogOptions{Tail: -1}, func(l LogLine) { got = append(got, l) }); err != nil {
		t.Fatal(err)
	}
	byStream := map[string][]string{}
	for _, l := range got {
		byStream[l.Stream] = append(byStream[l.Stream], l.Text)
	}
	if o := byStream["stdout"]; len(o) != 2 || o[0] != want || o[1] != "after" {
		t.Errorf("stdout lines %q", tail(o))
	}
	if o := byStream["stderr"]; len(o) != 1 || o[0] != wantErr {
		t.Errorf("stderr lines %q", tail(o))
	}
	// The engine counts a long line's 16 KiB parts as lines of its tail:
	// the last lines are the end of the stderr line, cut.
	last := e.lastLogLines(ctx, created.ID, 5)
	if len(last) != 1 || !strings.HasPrefix(last[0], "yyy") || !strings.HasSuffix(last[0], " bytes]") || len(last[0]) > MaxLineBytes+len(gigaCut) {
		t.Errorf("last lines %q", tail(last))
	}

	var lines []string
	res, err := e.RunHelper(ctx, HelperSpec{Image: "postgres:15", Cmd: []string{"sh", "-c", spew}, Labels: map[string]string{"dev.berth.test": name},
		Line: func(l string) { lines = append(lines, l) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || len(res.Output) > helperOutputMax {
		t.Errorf("helper exit %d, %d bytes of output", res.ExitCode, len(res.Output))
	}
	if len(lines) != 3 || lines[0] != want || lines[1] != "after" || lines[2] != wantErr {
		t.Errorf("helper lines %q", tail(lines))
	}
}
