package engine

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLineBytes is the most Berth keeps of one line of a container's or a
// helper's output. The rest of a longer line is counted, not kept, and the
// line ends with a mark saying how much went: "… [cut: N bytes]". So a
// container that prints a gigabyte without a newline costs 16 KiB, not a
// gigabyte. 16 KiB is where the Docker engine itself splits a log line
// into partial messages; nobody reads further in a log view, and a batch
// of 500 lines to the UI (app/api) stays under 8 MiB.
const MaxLineBytes = 16 << 10

// cutMark is what ends a line that was cut, with the count of bytes left
// out.
func cutMark(dropped int64) string {
	return " … [cut: " + strconv.FormatInt(dropped, 10) + " bytes]"
}

// lineSplitter splits a byte stream into lines of at most MaxLineBytes
// (plus the cut mark), without the newline and a carriage return before
// it. It holds at most MaxLineBytes of a line at any time.
type lineSplitter struct {
	buf     []byte // the current line, as far as it is kept
	dropped int64  // bytes of the current line left out
	emit    func(string)
}

// Write takes the next bytes of the stream; it never fails.
func (s *lineSplitter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		part := p
		if i >= 0 {
			part = p[:i]
		}
		keep := min(MaxLineBytes-len(s.buf), len(part))
		if need := len(s.buf) + keep; need > cap(s.buf) {
			// Grown here, never past MaxLineBytes (append could double).
			b := make([]byte, len(s.buf), min(MaxLineBytes, max(need, 2*cap(s.buf), 256)))
			copy(b, s.buf)
			s.buf = b
		}
		s.buf = append(s.buf, part[:keep]...)
		s.dropped += int64(len(part) - keep)
		if i < 0 {
			break
		}
		s.end()
		p = p[i+1:]
	}
	return n, nil
}

// flush ends a last line that had no newline.
func (s *lineSplitter) flush() {
	if len(s.buf) > 0 || s.dropped > 0 {
		s.end()
	}
}

func (s *lineSplitter) end() {
	b, dropped := s.buf, s.dropped
	if dropped == 0 {
		b = bytes.TrimSuffix(b, []byte{'\r'})
	} else {
		// Cut on a character boundary: an incomplete UTF-8 sequence at
		// the end goes with the rest.
		for j := len(b) - 1; j >= 0 && j >= len(b)-utf8.UTFMax; j-- {
			if utf8.RuneStart(b[j]) {
				if !utf8.FullRune(b[j:]) {
					dropped += int64(len(b) - j)
					b = b[:j]
				}
				break
			}
		}
	}
	var line string
	if dropped > 0 {
		var sb strings.Builder
		sb.Grow(len(b) + 32)
		sb.Write(b)
		sb.WriteString(cutMark(dropped))
		line = sb.String()
	} else {
		line = string(b)
	}
	s.buf, s.dropped = s.buf[:0], 0
	s.emit(line)
}
