// Command docker-magents is a Docker CLI plugin that builds Claude Code agent images and
// runs fleets of agents in containers: docker magents build|up|attach|ps|…
package main

import (
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/version"
)

func main() {
	plugin.Run(func(dockerCli command.Cli) *cobra.Command {
		return newRootCmd(dockerCli)
	}, metadata.Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "docker-magents",
		Version:          version.Version,
		ShortDescription: "Run fleets of Claude Code agents in containers",
		URL:              "https://github.com/docker-magents/docker-magents",
	})
}
