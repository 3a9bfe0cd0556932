package termsafe

import (
	"strings"
	"testing"
)

// What draws the screen passes; every string sequence — clipboard, title, palette, tmux
// passthrough, terminfo queries, in 7-bit and C1 form — is dropped, however the stream is
// cut into writes.
func TestScreenWriter(t *testing.T) {
	screen := "\x1b[?1049h\x1b[H\x1b[2J\x1b[38;5;208mClaude\x1b[0m é ¡ ❯ \x1b[?1000h\x1b[?2004h\x1b(B\x1b7\x1b8\r\n\t"
	for in, want := range map[string]string{
		screen:                             screen,
		"a\x1b]52;c;ZXZpbCBjb21tYW5k\x07b": "ab",
		"a\x1b]0;fake title\x1b\\b":        "ab",
		"a\x1bPtmux;\x1b\x1b]52;c;ZXZpbA==\x07\x1b\\b":      "ab",
		"a\x1b]8;;https://evil.example\x07link\x1b]8;;\x07": "alink",
		"a\x1b]4;1;rgb:ff/00/00\x1b\\b":                     "ab",
		"a\x1bP+q544e\x1b\\b":                               "ab",
		"a\x1b_apc\x1b\\b\x1b^pm\x1b\\c\x1bXsos\x1b\\d":     "abcd",
		"a\u009d52;c;ZXZpbA==\u009cb":                       "ab",
		"a\u0090tmux;x\u009cb\u009b31mc":                    "ab\u009b31mc",
		"\x1b\x1b[31mred":                                   "\x1b[31mred",
	} {
		for size := 1; size <= len(in); size++ {
			var out strings.Builder
			w := NewScreenWriter(&out)
			for s := in; s != ""; {
				n := min(size, len(s))
				if k, err := w.Write([]byte(s[:n])); k != n || err != nil {
					t.Fatalf("Write = %d, %v", k, err)
				}
				s = s[n:]
			}
			if out.String() != want {
				t.Errorf("%q in writes of %d: %q, want %q", in, size, out.String(), want)
				break
			}
		}
	}
}
