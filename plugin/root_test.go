package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/shellout"
)

// runAsCommand runs fn as a command's RunE does.
func runAsCommand(t *testing.T, fn func(ctx context.Context) error) error {
	t.Helper()
	cmd := &cobra.Command{}
	cmd.SetContext(t.Context())
	return withSignals(fn)(cmd, nil)
}

// A command that docker magents runs and that fails makes docker magents exit with the
// same code, and its message keeps what the plugin added around it.
func TestShellOutExitCodeIsPassedOn(t *testing.T) {
	err := runAsCommand(t, func(ctx context.Context) error {
		err := shellout.Run(exec.CommandContext(ctx, "sh", "-c", "exit 3"))
		return fmt.Errorf("starting the agents: %w", err)
	})
	status, ok := errors.AsType[cli.StatusError](err)
	if !ok {
		t.Fatalf("got %T %v, want a cli.StatusError", err, err)
	}
	if status.StatusCode != 3 {
		t.Errorf("exit code %d, want the child's 3", status.StatusCode)
	}
	if want := "starting the agents: sh -c exit 3 exited with 3"; status.Error() != want {
		t.Errorf("message %q, want %q", status.Error(), want)
	}

	// A command that could not start at all is an error of its own, not an exit code.
	err = runAsCommand(t, func(ctx context.Context) error {
		return shellout.Run(exec.CommandContext(ctx, "not-a-command-magents"))
	})
	if _, ok := errors.AsType[cli.StatusError](err); ok || err == nil || !strings.Contains(err.Error(), "not-a-command-magents") {
		t.Errorf("a missing command: %T %v", err, err)
	}
}

// COMPOSE_PROJECT_NAME names the project as in compose, and -p wins over it.
func TestComposeProjectNameIsHonoured(t *testing.T) {
	file := filepath.Join(t.TempDir(), fleet.DefaultFile)
	t.Setenv("COMPOSE_PROJECT_NAME", "fromenv")
	for _, tc := range []struct{ flag, want string }{{"", "fromenv"}, {"fromflag", "fromflag"}} {
		r := rootOptions{file: file, project: tc.flag}
		f, saved, err := r.fleetOrNew()
		if err != nil || saved {
			t.Fatalf("-p %q: saved %v, %v", tc.flag, saved, err)
		}
		if f.Project != tc.want {
			t.Errorf("-p %q with COMPOSE_PROJECT_NAME=fromenv: project %q, want %q", tc.flag, f.Project, tc.want)
		}
	}
}
