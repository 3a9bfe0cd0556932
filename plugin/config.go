package main

import (
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

func configCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "The configuration every agent shares: CLAUDE.md, settings, MCP servers, commands",
		Long: `The shared agent configuration is given to 'up' (--claude-md, --settings, --mcp,
--commands, --git-user-name, --git-user-email) and saved in the compose file's
x-magents.config; the workspace's own CLAUDE.md, .mcp.json and .claude/ need nothing.`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(configShowCmd(dockerCli, root), configSyncCmd(dockerCli, root))
	return cmd
}
