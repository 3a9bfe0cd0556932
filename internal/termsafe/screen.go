package termsafe

import "io"

// ScreenWriter passes a terminal program's output on to w with everything that draws the
// screen — text, CSI sequences (cursor, colours, erasing, scrolling regions, mouse and
// paste modes), the short ESC sequences — and without every string sequence: OSC
// (clipboard writes with OSC 52, window titles, palette and font changes, notifications,
// hyperlinks, terminal-specific commands), DCS (tmux's passthrough, which carries any
// sequence to the outer terminal, and terminfo queries), APC, PM and SOS, in their 7-bit
// and C1 forms. It is what attach puts between an agent's session — whose tmux server is
// the agent's to configure — and the developer's terminal: a screen, nothing that writes
// to the terminal's state beyond it. Sequences split across writes are followed.
type ScreenWriter struct {
	w     io.Writer
	state screenState
	osc   bool // the string is an OSC, which BEL also ends
	c2    bool // in a string, the last byte was 0xC2 (a C1 control may follow, as UTF-8)
}

type screenState int

const (
	ground    screenState = iota
	escape                // after ESC
	stringSeq             // inside a string sequence: dropped until BEL or ST
	stringEsc             // inside a string, after ESC (ST is ESC \)
	groundC2              // after 0xC2 on the ground: a C1 control may follow, as UTF-8
)

// NewScreenWriter returns a ScreenWriter onto w.
func NewScreenWriter(w io.Writer) *ScreenWriter { return &ScreenWriter{w: w} }

func (s *ScreenWriter) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p)+2)
	for _, c := range p {
		switch s.state {
		case ground:
			switch c {
			case 0x1b:
				s.state = escape
			case 0xc2:
				s.state = groundC2
			default:
				out = append(out, c)
			}
		case groundC2:
			switch c {
			case 0x90, 0x98, 0x9d, 0x9e, 0x9f: // DCS, SOS, OSC, PM, APC as UTF-8
				s.state, s.osc, s.c2 = stringSeq, c == 0x9d, false
			default:
				out = append(out, 0xc2)
				s.state = ground
				if c == 0x1b {
					s.state = escape
					continue
				}
				if c == 0xc2 {
					s.state = groundC2
					continue
				}
				out = append(out, c)
			}
		case escape:
			switch c {
			case ']', 'P', 'X', '^', '_': // OSC, DCS, SOS, PM, APC
				s.state, s.osc, s.c2 = stringSeq, c == ']', false
			case 0x1b: // a new sequence cancels the one begun
			default:
				// CSI and the short sequences go through; the rest of a CSI is plain
				// bytes to this writer, as to the terminal.
				out = append(out, 0x1b, c)
				s.state = ground
			}
		case stringSeq:
			switch {
			case c == 0x07 && s.osc: // BEL ends an OSC
				s.state = ground
			case c == 0x1b:
				s.state = stringEsc
			case s.c2 && c == 0x9c: // ST as UTF-8
				s.state = ground
			}
			s.c2 = c == 0xc2
		case stringEsc:
			// ESC \ is ST; any other byte stays in the string (tmux's passthrough doubles
			// the ESCs it carries).
			if c == '\\' {
				s.state = ground
			} else {
				s.state = stringSeq
			}
		}
	}
	if len(out) > 0 {
		if _, err := s.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
