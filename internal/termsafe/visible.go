package termsafe

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Visible returns s with every control character shown rather than obeyed, for text a
// reader must see whole (a diff under review, a log): C0 controls and DEL in caret
// notation as cat -v shows them (ESC is ^[, so "\x1b[2K" reads ^[[2K), C1 controls and
// the bidirectional overrides as <U+XXXX>; tabs and newlines stay, invalid UTF-8 becomes
// U+FFFD. Unlike String, nothing is dropped: a sequence that would hide a hunk from a
// review shows up in it.
func Visible(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case r < 0x20:
			b.WriteByte('^')
			b.WriteByte(byte(r) + 0x40)
		case r == 0x7f:
			b.WriteString("^?")
		case r >= 0x80 && r < 0xa0 || isBidiControl(r):
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Writer passes what is written to it on to w through Visible, for a stream an agent
// wrote to (docker logs --follow). A character split across two writes is held until
// the write that completes it.
type Writer struct {
	w       io.Writer
	pending []byte
}

// NewWriter returns a Writer onto w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

func (v *Writer) Write(p []byte) (int, error) {
	buf := append(v.pending, p...)
	// Hold back an incomplete UTF-8 sequence at the end (at most 3 bytes).
	keep := 0
	for n := 1; n <= 3 && n <= len(buf); n++ {
		c := buf[len(buf)-n]
		if c < 0x80 {
			break
		}
		if c >= 0xc0 { // a lead byte: is its sequence complete?
			if !utf8.FullRune(buf[len(buf)-n:]) {
				keep = n
			}
			break
		}
	}
	out := buf[:len(buf)-keep]
	v.pending = append([]byte(nil), buf[len(buf)-keep:]...)
	if _, err := io.WriteString(v.w, Visible(string(out))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what is held back (an incomplete character, as U+FFFD).
func (v *Writer) Flush() error {
	if len(v.pending) == 0 {
		return nil
	}
	_, err := io.WriteString(v.w, Visible(string(v.pending)))
	v.pending = nil
	return err
}
