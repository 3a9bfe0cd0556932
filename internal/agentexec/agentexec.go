// Package agentexec runs a command in a running container through the Engine API (no
// docker CLI process) and returns what it wrote: how docker magents asks an agent's
// supervisor (health, doctor, auth, config). Anything may import it.
package agentexec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/moby/moby/api/pkg/stdcopy"
	mobyclient "github.com/moby/moby/client"
)

// Output runs cmd in a running container through the Engine API (no docker CLI
// process) and returns its standard output and exit code. Standard error is kept for the
// error when the command cannot run at all.
func Output(ctx context.Context, api mobyclient.APIClient, container string, cmd ...string) ([]byte, int, error) {
	out, _, code, err := WithInput(ctx, api, container, nil, cmd...)
	return out, code, err
}

// WithInput is Output with stdin (nil: none), also returning standard error.
func WithInput(ctx context.Context, api mobyclient.APIClient, container string, stdin []byte, cmd ...string) ([]byte, []byte, int, error) {
	created, err := api.ExecCreate(ctx, container, mobyclient.ExecCreateOptions{
		Cmd: cmd, AttachStdout: true, AttachStderr: true, AttachStdin: stdin != nil,
	})
	if err != nil {
		return nil, nil, -1, err
	}
	att, err := api.ExecAttach(ctx, created.ID, mobyclient.ExecAttachOptions{})
	if err != nil {
		return nil, nil, -1, err
	}
	defer att.Close()
	if stdin != nil {
		if _, err := att.Conn.Write(stdin); err != nil {
			return nil, nil, -1, fmt.Errorf("sending input to %s in %s: %w", cmd[0], container, err)
		}
		if err := att.CloseWrite(); err != nil {
			return nil, nil, -1, err
		}
	}
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader); err != nil {
		return nil, nil, -1, fmt.Errorf("reading the output of %s in %s: %w", cmd[0], container, err)
	}
	insp, err := api.ExecInspect(ctx, created.ID, mobyclient.ExecInspectOptions{})
	if err != nil {
		return nil, nil, -1, err
	}
	if insp.ExitCode == 126 || insp.ExitCode == 127 {
		return stdout.Bytes(), stderr.Bytes(), insp.ExitCode, fmt.Errorf("running %s in %s: %s", cmd[0], container, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), stderr.Bytes(), insp.ExitCode, nil
}

// ExitError is a command that ran and exited non-zero: its code and what it said on
// standard error.
type ExitError struct {
	Code   int
	Stderr string
}

func (e *ExitError) Error() string { return fmt.Sprintf("it exited %d: %s", e.Code, e.Stderr) }

// JSON runs cmd in container with stdin (nil: none) and decodes what it writes on standard
// output, JSON, into out. A non-zero exit is an *ExitError.
func JSON(ctx context.Context, api mobyclient.APIClient, container string, stdin []byte, out any, cmd ...string) error {
	b, stderr, code, err := WithInput(ctx, api, container, stdin, cmd...)
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Code: code, Stderr: string(bytes.TrimSpace(stderr))}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("reading what %s in %s answered: %w", cmd[0], container, err)
	}
	return nil
}
