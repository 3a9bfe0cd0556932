package agentexec

import (
	"context"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	mobyclient "github.com/moby/moby/client"
)

// Terminal runs cmd in a running container with a terminal of its own, through the
// engine's exec API, as docker exec -it does: read its screen, write its keys, resize it.
func Terminal(ctx context.Context, api mobyclient.APIClient, container string, cmd []string) (*Session, error) {
	exec, err := api.ExecCreate(ctx, container, mobyclient.ExecCreateOptions{
		Cmd: cmd, TTY: true, AttachStdin: true, AttachStdout: true, AttachStderr: true, Env: []string{"TERM=xterm-256color"},
	})
	if err != nil {
		return nil, err
	}
	att, err := api.ExecAttach(ctx, exec.ID, mobyclient.ExecAttachOptions{TTY: true})
	if err != nil {
		return nil, err
	}
	return &Session{api: api, id: exec.ID, att: att}, nil
}

// Session is an exec's terminal: its output, its input, its size, its exit code.
type Session struct {
	api mobyclient.APIClient
	id  string
	att mobyclient.ExecAttachResult
}

func (s *Session) Read(p []byte) (int, error)  { return s.att.Reader.Read(p) }
func (s *Session) Write(p []byte) (int, error) { return s.att.Conn.Write(p) }
func (s *Session) Close() error                { s.att.Close(); return nil }

// Resize sets the terminal's size.
func (s *Session) Resize(ctx context.Context, cols, rows uint) error {
	_, err := s.api.ExecResize(ctx, s.id, mobyclient.ExecResizeOptions{Width: cols, Height: rows})
	return err
}

// ExitCode is the command's exit code, once its output has ended.
func (s *Session) ExitCode(ctx context.Context) (int, error) {
	insp, err := s.api.ExecInspect(ctx, s.id, mobyclient.ExecInspectOptions{})
	if err != nil {
		return 0, err
	}
	return insp.ExitCode, nil
}

// LogOptions are what of a container's logs to show, as docker logs takes them.
type LogOptions struct {
	Follow bool
	Tail   string // a number of lines, or "all"
}

// Logs writes a container's logs, its standard output and error apart (as one stream
// when the container has a terminal), until they end or, following them, ctx does.
func Logs(ctx context.Context, api mobyclient.APIClient, container string, opts LogOptions, stdout, stderr io.Writer) error {
	insp, err := api.ContainerInspect(ctx, container, mobyclient.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	logs, err := api.ContainerLogs(ctx, container, mobyclient.ContainerLogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Tail: opts.Tail,
	})
	if err != nil {
		return err
	}
	defer logs.Close()
	return copyLogs(ctx, logs, insp.Container.Config != nil && insp.Container.Config.Tty, stdout, stderr)
}

// ServiceLogs is Logs for a Swarm service: its tasks' logs on every node.
func ServiceLogs(ctx context.Context, api mobyclient.APIClient, service string, opts LogOptions, stdout, stderr io.Writer) error {
	insp, err := api.ServiceInspect(ctx, service, mobyclient.ServiceInspectOptions{})
	if err != nil {
		return err
	}
	logs, err := api.ServiceLogs(ctx, service, mobyclient.ServiceLogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Tail: opts.Tail,
	})
	if err != nil {
		return err
	}
	defer logs.Close()
	spec := insp.Service.Spec.TaskTemplate.ContainerSpec
	return copyLogs(ctx, logs, spec != nil && spec.TTY, stdout, stderr)
}

func copyLogs(ctx context.Context, logs io.Reader, tty bool, stdout, stderr io.Writer) error {
	var err error
	if tty {
		_, err = io.Copy(stdout, logs)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, logs)
	}
	if ctx.Err() != nil {
		return ctx.Err() // followed until interrupted
	}
	return err
}
