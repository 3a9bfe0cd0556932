package main

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/internal/atomicfile"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/sharedconfig"
)

type configSyncOptions struct {
	restartClaude bool
}

func configSyncCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts configSyncOptions
	cmd := &cobra.Command{
		Use:   "sync [OPTIONS] [AGENT...]",
		Short: "Send the shared config's changed files to the running agents, without recreating them",
		Long: `Read the shared config's files on this host again, write them into the compose file,
and give them to each running agent: its supervisor checks them, writes each file by
rename inside the agent's own config dir, and places them (CLAUDE.md, settings with its
hooks, MCP servers, commands). The containers are not recreated; Claude sees new
settings at once and the rest at its next start (--restart-claude restarts it now).`,
		Example: `  docker magents config sync
  docker magents config sync --restart-claude agent-2`,
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runConfigSync(ctx, dockerCli, root, args, opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.restartClaude, "restart-claude", false, "Restart Claude in each agent afterwards (its session and container stay)")
	return cmd
}

func runConfigSync(ctx context.Context, dockerCli command.Cli, root *rootOptions, agents []string, opts configSyncOptions) error {
	f, unlock, err := root.lockFleet()
	if err != nil {
		return err
	}
	defer unlock()
	if agents, err = checkAgentNames(f, agents); err != nil {
		return err
	}
	if err := f.LoadConfigSet(time.Now()); err != nil {
		return fmt.Errorf("%w\nNothing was sent: fix the file and run docker magents config sync again", err)
	}
	if len(f.ConfigSet) == 0 {
		return fmt.Errorf("project %s has no shared config files: give them with docker magents up --claude-md, --settings, --mcp or --commands", f.Project)
	}
	rec, err := fleet.ReadRecord(recordsDir(), f.ComposeFile)
	if err != nil {
		return err
	}
	if why, err := fleet.Unrecorded(rec, f.ComposeFile); err != nil {
		return err
	} else if why != "" {
		return fmt.Errorf("%s: %s: run docker magents up --force to write it anew, then config sync", root.file, why)
	}
	content, err := compose.Render(ctx, f)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(f.ComposeFile, content, 0o644); err != nil {
		return err
	}
	if err := f.WriteRecord(recordsDir(), content); err != nil {
		return err
	}

	return sharedconfig.Push(ctx, dockerCli.Client(), dockerCli.Out(), f, agents, opts.restartClaude)
}
