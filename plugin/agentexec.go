package main

import (
	"bytes"
	"context"
	"fmt"

	"github.com/moby/moby/api/pkg/stdcopy"
	mobyclient "github.com/moby/moby/client"
)

// execOutput runs cmd in a running container through the Engine API (no docker CLI
// process) and returns its standard output and exit code. Standard error is kept for the
// error when the command cannot run at all.
func execOutput(ctx context.Context, api mobyclient.APIClient, container string, cmd ...string) ([]byte, int, error) {
	created, err := api.ExecCreate(ctx, container, mobyclient.ExecCreateOptions{
		Cmd: cmd, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return nil, -1, err
	}
	att, err := api.ExecAttach(ctx, created.ID, mobyclient.ExecAttachOptions{})
	if err != nil {
		return nil, -1, err
	}
	defer att.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader); err != nil {
		return nil, -1, fmt.Errorf("reading the output of %s in %s: %w", cmd[0], container, err)
	}
	insp, err := api.ExecInspect(ctx, created.ID, mobyclient.ExecInspectOptions{})
	if err != nil {
		return nil, -1, err
	}
	if insp.ExitCode == 126 || insp.ExitCode == 127 {
		return stdout.Bytes(), insp.ExitCode, fmt.Errorf("running %s in %s: %s", cmd[0], container, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), insp.ExitCode, nil
}
