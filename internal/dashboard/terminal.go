package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/coder/websocket"

	"github.com/docker-magents/docker-magents/internal/termsafe"
)

// Terminal opens an agent's tmux session for the page: a stream of its screen, the keys
// typed into it, and its size.
type Terminal interface {
	Attach(ctx context.Context, agent string, readonly bool) (TerminalSession, error)
}

// TerminalSession is one open terminal.
type TerminalSession interface {
	io.ReadWriteCloser
	Resize(ctx context.Context, cols, rows uint) error
}

// terminalSize is what the page sends, as a text message, when its terminal's size changes.
type terminalSize struct {
	Cols uint `json:"cols"`
	Rows uint `json:"rows"`
}

// serveTerminal joins a websocket to a session of agent's: binary messages carry the
// screen one way and the keys the other (dropped when read-only: the session is tmux's
// read-only attach as well), text messages the size.
func serveTerminal(term Terminal) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		readonly := r.URL.Query().Get("readonly") == "1"
		// The Origin was checked before (Server.ServeHTTP): the dashboard's own only.
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		session, err := term.Attach(ctx, r.PathValue("agent"), readonly)
		if err != nil {
			_ = ws.Close(websocket.StatusPolicyViolation, truncate(err.Error(), 120))
			return
		}
		defer session.Close()
		go func() {
			defer cancel()
			buf := make([]byte, 32<<10)
			// The agent's screen alone reaches the page, as attach's terminal: no
			// clipboard, title or passed-through sequence (termsafe.ScreenWriter).
			var frame []byte
			screen := termsafe.NewScreenWriter(writerFunc(func(p []byte) (int, error) {
				frame = append(frame, p...)
				return len(p), nil
			}))
			for {
				n, err := session.Read(buf)
				frame = frame[:0]
				_, _ = screen.Write(buf[:n])
				if len(frame) > 0 {
					if ws.Write(ctx, websocket.MessageBinary, frame) != nil {
						return
					}
				}
				if err != nil {
					_ = ws.Close(websocket.StatusNormalClosure, "the session ended")
					return
				}
			}
		}()
		ws.SetReadLimit(1 << 20)
		for {
			typ, msg, err := ws.Read(ctx)
			if err != nil {
				return
			}
			switch typ {
			case websocket.MessageText:
				var size terminalSize
				if json.Unmarshal(msg, &size) == nil && size.Cols > 0 && size.Rows > 0 && size.Cols < 1000 && size.Rows < 1000 {
					_ = session.Resize(ctx, size.Cols, size.Rows)
				}
			case websocket.MessageBinary:
				if !readonly {
					if _, err := session.Write(msg); err != nil {
						return
					}
				}
			}
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// writerFunc is a function as an io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
