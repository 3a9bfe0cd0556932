// Command docker-magents is a Docker CLI plugin that builds Claude Code agent images and
// runs fleets of agents in containers: docker magents build|up|attach|ps|…
package main

import (
	"encoding/json"
	"io"
	"os"

	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/version"
)

// meta is what the docker CLI learns of the plugin (docker --help, docker info, completion).
var meta = metadata.Metadata{
	SchemaVersion:    "0.1.0",
	Vendor:           "docker-magents",
	Version:          version.Version,
	ShortDescription: "Run fleets of Claude Code agents in containers",
	URL:              "https://github.com/docker-magents/docker-magents",
}

func main() {
	// The docker CLI asks every plugin for its metadata on docker --help and on completion:
	// answered before the CLI client and the command tree are built, as the plugin
	// framework would answer it.
	if len(os.Args) == 2 && os.Args[1] == metadata.MetadataSubcommandName {
		if err := writeMetadata(os.Stdout); err != nil {
			os.Exit(1)
		}
		return
	}
	plugin.Run(func(dockerCli command.Cli) *cobra.Command {
		return newRootCmd(dockerCli)
	}, meta)
}

// writeMetadata writes meta as the plugin framework's metadata subcommand does.
func writeMetadata(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "     ")
	return enc.Encode(meta)
}
