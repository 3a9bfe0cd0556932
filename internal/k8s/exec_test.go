package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
	"k8s.io/client-go/rest"
)

// A container runtime's side of the v5 exec protocol, as the API server relays it:
// stdin is echoed to stdout upper-cased until stdin is closed; each resize is reported on
// stderr; the command then exits with the code the test asks for.
func fakeExec(t *testing.T, exit string) *httptest.Server {
	up := gws.Upgrader{Subprotocols: []string{execProtocol}}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/namespaces/ns/pods/agent-1/exec" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		q := r.URL.Query()
		if strings.Join(q["command"], " ") != "tmux attach-session -t claude" || q.Get("container") != "agent" || q.Get("stdin") != "true" {
			t.Errorf("query %v", q)
		}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				t.Error(err)
				return
			}
			switch msg[0] {
			case chanStdin:
				conn.WriteMessage(gws.BinaryMessage, append([]byte{chanStdout}, bytes.ToUpper(msg[1:])...))
			case chanResize:
				conn.WriteMessage(gws.BinaryMessage, append([]byte{chanStderr}, msg[1:]...))
			case chanClose:
				status := `{"metadata":{},"status":"Success"}`
				if exit != "0" {
					status = `{"status":"Failure","message":"command terminated with non-zero exit code: exit status ` + exit +
						`","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"` + exit + `"}]}}`
				}
				conn.WriteMessage(gws.BinaryMessage, append([]byte{chanStatus}, status...))
				return
			}
		}
	}))
}

func TestExecStreams(t *testing.T) {
	for _, exit := range []string{"0", "3"} {
		srv := fakeExec(t, exit)
		c := &Client{Namespace: "ns", config: &rest.Config{Host: srv.URL}}
		sizes := make(chan TerminalSize, 1)
		sizes <- TerminalSize{Width: 120, Height: 40}
		// stdin ends only after the resize has come back, so the order is known.
		pr, pw := io.Pipe()
		var stdout, stderr bytes.Buffer
		go func() {
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if strings.Contains(syncString(&stderr), "Width") {
					break
				}
			}
			pw.Write([]byte("hello"))
			pw.Close()
		}()
		err := c.Exec(context.Background(), "agent-1", "agent", []string{"tmux", "attach-session", "-t", "claude"},
			pr, &lockedWriter{w: &stdout}, &lockedWriter{w: &stderr}, false, sizes)
		srv.Close()
		if exit == "0" && err != nil {
			t.Fatalf("exit 0: %v", err)
		}
		if exit == "3" {
			var e *ExitError
			if !errors.As(err, &e) || e.Code != 3 {
				t.Fatalf("exit 3: got %v", err)
			}
		}
		if got := syncString(&stdout); got != "HELLO" {
			t.Errorf("stdout %q", got)
		}
		var size TerminalSize
		if err := json.Unmarshal([]byte(syncString(&stderr)), &size); err != nil || size != (TerminalSize{120, 40}) {
			t.Errorf("resize reached the container as %q (%v)", syncString(&stderr), err)
		}
	}
}

// An API server that does not speak v5 is named as such.
func TestExecNeedsV5(t *testing.T) {
	up := gws.Upgrader{Subprotocols: []string{"v4.channel.k8s.io"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, err := up.Upgrade(w, r, nil); err == nil {
			conn.Close()
		}
	}))
	defer srv.Close()
	c := &Client{Namespace: "ns", config: &rest.Config{Host: srv.URL}}
	err := c.Exec(context.Background(), "agent-1", "agent", []string{"true"}, nil, io.Discard, nil, false, nil)
	if err == nil || !strings.Contains(err.Error(), "Kubernetes 1.30") {
		t.Fatalf("got %v", err)
	}
}

var bufMu = make(chan struct{}, 1)

type lockedWriter struct{ w *bytes.Buffer }

func (l *lockedWriter) Write(p []byte) (int, error) {
	bufMu <- struct{}{}
	defer func() { <-bufMu }()
	return l.w.Write(p)
}

func syncString(b *bytes.Buffer) string {
	bufMu <- struct{}{}
	defer func() { <-bufMu }()
	return b.String()
}

// A session is the exec as a stream: keys in, screen out, resized; closing it closes the
// command's input, and the command's end ends the screen.
func TestSessionStreams(t *testing.T) {
	srv := fakeExec(t, "0")
	defer srv.Close()
	c := &Client{Namespace: "ns", config: &rest.Config{Host: srv.URL}}
	s := c.Open(context.Background(), "agent-1", "agent", []string{"tmux", "attach-session", "-t", "claude"})
	if err := s.Resize(context.Background(), 150, 40); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	var screen []byte
	for !bytes.Contains(screen, []byte("HELLO")) {
		n, err := s.Read(buf)
		if err != nil {
			t.Fatalf("reading the screen: %v (%q so far)", err, screen)
		}
		screen = append(screen, buf[:n]...)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > closeGrace {
		t.Errorf("closing took %s: the command's input was not closed", took)
	}
	if _, err := s.Read(buf); err == nil {
		t.Error("the screen reads on after the session closed")
	}
	if err := s.Resize(context.Background(), 80, 24); err == nil {
		t.Error("a closed session takes a size")
	}
}

// Logs asks for the container's log with kubectl's parameters and writes it; the API
// server's refusal is its message.
func TestLogs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/api/v1/namespaces/ns/pods/p-agent-1/log" && q.Get("container") == "agent" && q.Get("tailLines") == "5" && q.Get("follow") == "true":
			fmt.Fprint(w, "line 1\nline 2\n")
		case r.URL.Path == "/api/v1/namespaces/ns/pods/p-agent-1/log" && q.Get("tailLines") == "" && q.Get("follow") == "":
			fmt.Fprint(w, "all of it\n")
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","status":"Failure","message":"pods \"p-agent-9\" not found","reason":"NotFound","code":404}`)
		}
	}))
	defer srv.Close()
	c := &Client{Namespace: "ns", config: &rest.Config{Host: srv.URL}}
	var out bytes.Buffer
	if err := c.Logs(context.Background(), "p-agent-1", "agent", true, 5, &out); err != nil || out.String() != "line 1\nline 2\n" {
		t.Errorf("follow, tail 5: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := c.Logs(context.Background(), "p-agent-1", "agent", false, -1, &out); err != nil || out.String() != "all of it\n" {
		t.Errorf("all: %q, %v", out.String(), err)
	}
	err := c.Logs(context.Background(), "p-agent-9", "agent", false, -1, &out)
	if err == nil || err.Error() != `logs of pod p-agent-9: pods "p-agent-9" not found` {
		t.Errorf("a missing pod: %v", err)
	}
}

// A session's exit code is its command's.
func TestSessionExitCode(t *testing.T) {
	for _, exit := range []string{"0", "3"} {
		srv := fakeExec(t, exit)
		c := &Client{Namespace: "ns", config: &rest.Config{Host: srv.URL}}
		s := c.Open(context.Background(), "agent-1", "agent", []string{"tmux", "attach-session", "-t", "claude"})
		_ = s.Close()
		code, err := s.ExitCode(context.Background())
		srv.Close()
		if err != nil || strconv.Itoa(code) != exit {
			t.Errorf("exit %s: got %d, %v", exit, code, err)
		}
	}
}
