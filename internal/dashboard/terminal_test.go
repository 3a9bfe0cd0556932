package dashboard

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeTerminal is a session that shows what was typed into it, and records its sizes.
type fakeTerminal struct {
	mu    sync.Mutex
	sizes []terminalSize
	typed bytes.Buffer
	ro    []bool
}

type fakeSession struct {
	t    *fakeTerminal
	out  chan []byte
	done chan struct{}
	once sync.Once
}

func (f *fakeTerminal) Attach(_ context.Context, agent string, readonly bool) (TerminalSession, error) {
	f.mu.Lock()
	f.ro = append(f.ro, readonly)
	f.mu.Unlock()
	s := &fakeSession{t: f, out: make(chan []byte, 16), done: make(chan struct{})}
	s.out <- []byte("screen of " + agent + "\r\n")
	return s, nil
}

func (s *fakeSession) Read(p []byte) (int, error) {
	select {
	case b := <-s.out:
		return copy(p, b), nil
	case <-s.done:
		return 0, context.Canceled
	}
}

func (s *fakeSession) Write(p []byte) (int, error) {
	s.t.mu.Lock()
	s.t.typed.Write(p)
	s.t.mu.Unlock()
	s.out <- append([]byte("echo:"), p...)
	return len(p), nil
}

func (s *fakeSession) Close() error { s.once.Do(func() { close(s.done) }); return nil }

func (s *fakeSession) Resize(_ context.Context, cols, rows uint) error {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	s.t.sizes = append(s.t.sizes, terminalSize{cols, rows})
	return nil
}

func TestTerminalOverWebsocket(t *testing.T) {
	term := &fakeTerminal{}
	token, _ := NewToken()
	base, token := serveOpts(t, token, Options{Terminal: term})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func(path, origin string) (*websocket.Conn, *http.Response, error) {
		c := session(t, base, token)
		h := http.Header{"Cookie": {c.Name + "=" + c.Value}}
		if origin != "" {
			h.Set("Origin", origin)
		}
		return websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+path, &websocket.DialOptions{HTTPHeader: h})
	}
	if _, resp, err := dial("/api/terminal/agent-1", "http://evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a websocket from another origin: %v %v", resp, err)
	}
	if _, resp, err := dial("/api/terminal/agent-1", ""); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a websocket with no Origin: %v %v", resp, err)
	}
	read := func(ws *websocket.Conn) string {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ws, _, err := dial("/api/terminal/agent-1", base)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(ws); got != "screen of agent-1\r\n" {
		t.Errorf("first screen: %q", got)
	}
	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"cols":120,"rows":40}`))
	_ = ws.Write(ctx, websocket.MessageBinary, []byte("ls\r"))
	if got := read(ws); got != "echo:ls\r" {
		t.Errorf("after typing: %q", got)
	}
	ws.Close(websocket.StatusNormalClosure, "")
	// Read-only: the keys go nowhere.
	ro, _, err := dial("/api/terminal/agent-2?readonly=1", base)
	if err != nil {
		t.Fatal(err)
	}
	read(ro)
	_ = ro.Write(ctx, websocket.MessageBinary, []byte("rm -rf /\r"))
	time.Sleep(200 * time.Millisecond)
	ro.Close(websocket.StatusNormalClosure, "")
	term.mu.Lock()
	defer term.mu.Unlock()
	if term.typed.String() != "ls\r" || len(term.sizes) != 1 || term.sizes[0] != (terminalSize{120, 40}) || len(term.ro) != 2 || term.ro[0] || !term.ro[1] {
		t.Errorf("typed %q, sizes %v, read-only %v", term.typed.String(), term.sizes, term.ro)
	}
}
