package main

import (
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/fleet"
)

func authCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Manage the credential the fleet's agents share",
		Long: `The agents of a fleet share one credential that can be shared: a token from
'claude setup-token', an API key, or a gateway token. It is kept in your Docker
credential store (the helper 'docker login' uses) or in .magents/secrets/, and reaches
the agents as a file, never in the compose file or 'docker inspect'.

Which source wins (highest first): an explicit flag to up; the stored credential
(auth setup); the environment (ANTHROPIC_AUTH_TOKEN, ANTHROPIC_API_KEY,
CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_AUTH_TOKEN); the host's own Claude login (one agent only).`,
	}
	cmd.AddCommand(
		authSetupCmd(dockerCli, root),
		authStatusCmd(dockerCli, root),
		authExportCmd(dockerCli, root),
		authRotateCmd(dockerCli, root),
		authDeployCmd(dockerCli, root),
	)
	return cmd
}

// authProject is the fleet the auth commands act on: the saved one, or the defaults of
// the project `up` would create (so auth setup can come first).
func (r *rootOptions) authProject() (*fleet.Fleet, error) {
	f, _, err := r.fleetOrNew()
	return f, err
}
