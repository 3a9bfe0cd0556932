package k8s

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// Session is a command running with a terminal in a pod's container, as an open stream:
// read its screen, write its keys, resize it, close it. Open starts one.
type Session struct {
	out    *io.PipeReader
	in     *io.PipeWriter
	sizes  chan TerminalSize
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	err    error // how the command ended, once done is closed
}

// Open runs cmd in the pod's container with a terminal, as kubectl exec -it does, until
// the command ends or the session is closed; ctx bounds it too.
func (c *Client) Open(ctx context.Context, pod, container string, cmd []string) *Session {
	ctx, cancel := context.WithCancel(ctx)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &Session{out: outR, in: inW, sizes: make(chan TerminalSize, 1), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		err := c.Exec(ctx, pod, container, cmd, inR, outW, nil, true, s.sizes)
		s.err = err
		if err == nil {
			err = io.EOF
		}
		_ = outW.CloseWithError(err) // the reader sees the command's end, or why it failed
		_ = inR.Close()
	}()
	return s
}

func (s *Session) Read(p []byte) (int, error)  { return s.out.Read(p) }
func (s *Session) Write(p []byte) (int, error) { return s.in.Write(p) }

// Resize sets the terminal's size; a size not yet sent is replaced. One goroutine resizes.
func (s *Session) Resize(_ context.Context, cols, rows uint) error {
	size := TerminalSize{Width: uint16(cols), Height: uint16(rows)}
	select {
	case <-s.done:
		return io.ErrClosedPipe
	default:
	}
	select {
	case <-s.sizes: // stale
	default:
	}
	select { // the only sender, and the buffer is empty
	case s.sizes <- size:
		return nil
	case <-s.done:
		return io.ErrClosedPipe
	}
}

// ExitCode is the command's exit code, once its screen has ended (it waits for that).
func (s *Session) ExitCode(ctx context.Context) (int, error) {
	select {
	case <-s.done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if exit, ok := errors.AsType[*ExitError](s.err); ok {
		return exit.Code, nil
	}
	return 0, s.err
}

// closeGrace is how long Close lets the command end on its own once its input is closed
// (kubectl's way) before it cuts the stream.
const closeGrace = 2 * time.Second

// Close ends the session: it closes the command's input, then the stream if the command
// did not end within closeGrace, and waits for the stream to end.
func (s *Session) Close() error {
	s.once.Do(func() {
		_ = s.in.Close()
		select {
		case <-s.done:
		case <-time.After(closeGrace):
		}
		s.cancel()
		_ = s.out.Close()
	})
	<-s.done
	return nil
}
