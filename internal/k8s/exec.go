package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"sync"
	"time"

	gws "github.com/gorilla/websocket"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport/websocket"
)

// The remote command protocol kubectl exec speaks over a websocket since Kubernetes 1.30:
// each binary message is a channel number and that channel's bytes; v5 adds a message
// that closes a channel (stdin's end of input).
const (
	execProtocol = "v5.channel.k8s.io"

	chanStdin  byte = 0
	chanStdout byte = 1
	chanStderr byte = 2
	chanStatus byte = 3 // the command's end: a metav1.Status as JSON
	chanResize byte = 4 // a TerminalSize as JSON
	chanClose  byte = 255

	writeTimeout = 60 * time.Second
)

// TerminalSize is a terminal's size in characters, as the resize channel takes it.
type TerminalSize struct {
	Width  uint16 `json:"Width"`
	Height uint16 `json:"Height"`
}

// ExitError is a command that ran and exited non-zero.
type ExitError struct {
	Code    int
	Message string
}

func (e *ExitError) Error() string { return e.Message }

// Exec runs cmd in the pod's container, as kubectl exec does, with a terminal when tty
// (stderr then arrives on stdout); each size sent on sizes resizes it. A command that
// exits non-zero returns an *ExitError with its code.
func (c *Client) Exec(ctx context.Context, pod, container string, cmd []string, stdin io.Reader, stdout, stderr io.Writer, tty bool, sizes <-chan TerminalSize) error {
	u, err := c.execURL(pod, container, cmd, stdin != nil, stdout != nil, stderr != nil && !tty, tty)
	if err != nil {
		return err
	}
	conn, err := dialExec(ctx, c.config, u)
	if err != nil {
		return fmt.Errorf("exec in pod %s: %w", pod, err)
	}
	return stream(ctx, conn, stdin, stdout, stderr, sizes)
}

// Output runs cmd in the pod's container without a terminal, with stdin (nil: none), and
// returns what it wrote and its exit code, as agentexec.WithInput does in a container.
func (c *Client) Output(ctx context.Context, pod, container string, stdin []byte, cmd []string) ([]byte, []byte, int, error) {
	var stdout, stderr bytes.Buffer
	var in io.Reader
	if stdin != nil {
		in = bytes.NewReader(stdin)
	}
	err := c.Exec(ctx, pod, container, cmd, in, &stdout, &stderr, false, nil)
	if exit, ok := errors.AsType[*ExitError](err); ok {
		return stdout.Bytes(), stderr.Bytes(), exit.Code, nil
	}
	if err != nil {
		return nil, nil, -1, err
	}
	return stdout.Bytes(), stderr.Bytes(), 0, nil
}

// dialExec upgrades the exec request to a websocket with the config's TLS and credentials.
func dialExec(ctx context.Context, config *rest.Config, u *url.URL) (*gws.Conn, error) {
	rt, holder, err := websocket.RoundTripperFor(config)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	conn, err := websocket.Negotiate(rt, holder, req, execProtocol)
	if err != nil {
		return nil, fmt.Errorf("opening the exec stream (%s, Kubernetes 1.30 or later): %w", execProtocol, err)
	}
	if p := conn.Subprotocol(); p != execProtocol {
		conn.Close()
		return nil, fmt.Errorf("the API server answers with protocol %q, not %s: exec needs Kubernetes 1.30 or later", p, execProtocol)
	}
	return conn, nil
}

// stream copies stdin and sizes to the connection and its output channels to stdout and
// stderr until the command's status arrives.
func stream(ctx context.Context, conn *gws.Conn, stdin io.Reader, stdout, stderr io.Writer, sizes <-chan TerminalSize) error {
	done := make(chan struct{})
	defer close(done)
	var once sync.Once
	closeConn := func() { once.Do(func() { conn.Close() }) }
	defer closeConn()
	go func() {
		select {
		case <-ctx.Done():
			closeConn() // unblocks the read below
		case <-done:
		}
	}()

	var mu sync.Mutex
	write := func(ch byte, p []byte) error {
		mu.Lock()
		defer mu.Unlock()
		conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		return conn.WriteMessage(gws.BinaryMessage, append([]byte{ch}, p...))
	}
	if stdin != nil {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := stdin.Read(buf)
				if n > 0 && write(chanStdin, buf[:n]) != nil {
					return
				}
				if err != nil {
					write(chanClose, []byte{chanStdin})
					return
				}
			}
		}()
	}
	if sizes != nil {
		go func() {
			for {
				select {
				case s, ok := <-sizes:
					if !ok {
						return
					}
					b, _ := json.Marshal(s)
					if write(chanResize, b) != nil {
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if gws.IsCloseError(err, gws.CloseNormalClosure) {
				return nil
			}
			return fmt.Errorf("the exec stream broke: %w", err)
		}
		if typ != gws.BinaryMessage || len(msg) == 0 {
			continue
		}
		var w io.Writer
		switch msg[0] {
		case chanStdout:
			w = stdout
		case chanStderr:
			w = stderr
		case chanStatus:
			return statusError(msg[1:])
		}
		if w != nil {
			if _, err := w.Write(msg[1:]); err != nil {
				return err
			}
		}
	}
}

// statusError reads the command's end: nil on success, an *ExitError for a non-zero exit.
func statusError(b []byte) error {
	var st struct {
		Status  string
		Message string
		Reason  string
		Details struct {
			Causes []struct{ Reason, Message string }
		}
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("reading the command's status: %w", err)
	}
	if st.Status == "Success" {
		return nil
	}
	if st.Reason == "NonZeroExitCode" {
		for _, c := range st.Details.Causes {
			if c.Reason == "ExitCode" {
				if code, err := strconv.Atoi(c.Message); err == nil {
					return &ExitError{Code: code, Message: st.Message}
				}
			}
		}
	}
	if st.Message == "" {
		return errors.New("the command failed: " + string(b))
	}
	return errors.New(st.Message)
}

// execURL is the pod's exec subresource with its options as query parameters, as
// kubectl exec asks for it.
func (c *Client) execURL(pod, container string, cmd []string, stdin, stdout, stderr, tty bool) (*url.URL, error) {
	base, _, err := rest.DefaultServerUrlFor(c.config)
	if err != nil {
		return nil, err
	}
	q := url.Values{"container": {container}, "command": cmd}
	for name, on := range map[string]bool{"stdin": stdin, "stdout": stdout, "stderr": stderr, "tty": tty} {
		if on {
			q.Set(name, "true")
		}
	}
	u := *base
	u.Path = path.Join(base.Path, "api", "v1", "namespaces", c.Namespace, "pods", pod, "exec")
	u.RawQuery = q.Encode()
	return &u, nil
}
