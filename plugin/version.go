package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	mobyclient "github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/buildkit"
	"github.com/docker-magents/docker-magents/internal/version"
)

type versionOptions struct {
	short bool
}

func versionCmd(dockerCli command.Cli) *cobra.Command {
	var opts versionOptions
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Show the docker-magents version and the engine it talks to",
		Example: `  docker magents version`,
		Args:    cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runVersion(ctx, dockerCli, opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.short, "short", false, "Print only the plugin's version")
	return cmd
}

func runVersion(ctx context.Context, dockerCli command.Cli, opts versionOptions) error {
	if opts.short {
		_, err := fmt.Fprintln(dockerCli.Out(), version.Version)
		return err
	}
	w := tabwriter.NewWriter(dockerCli.Out(), 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "docker-magents:\t%s (%s, %s %s/%s)\n", version.Version, version.Revision, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if err := engineVersion(ctx, w, dockerCli.Client()); err != nil {
		fmt.Fprintf(w, "Engine:\tnot reachable (%v)\n", err)
		return w.Flush()
	}
	// What the build uses: probed over /grpc, as the build itself does.
	if b, err := buildkit.Connect(ctx, dockerCli.Client(), buildkit.Endpoint{}); err != nil {
		fmt.Fprintf(w, "Builder:\tno embedded BuildKit (%v)\n", firstLine(err.Error()))
	} else {
		fmt.Fprintf(w, "Builder:\t%s\n", b.Describe(ctx))
		b.Close()
	}
	return w.Flush()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func engineVersion(ctx context.Context, w io.Writer, api mobyclient.APIClient) error {
	v, err := api.ServerVersion(ctx, mobyclient.ServerVersionOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Engine:\t%s (API %s, negotiated %s)\n", v.Version, v.APIVersion, api.ClientVersion())
	info, err := api.Info(ctx, mobyclient.InfoOptions{})
	if err != nil {
		return err
	}
	store := "graph driver " + info.Info.Driver
	for _, kv := range info.Info.DriverStatus {
		if len(kv) == 2 && kv[0] == "driver-type" && kv[1] == "io.containerd.snapshotter.v1" {
			store = "containerd (snapshotter " + info.Info.Driver + ")"
		}
	}
	fmt.Fprintf(w, "Image store:\t%s\n", store)
	return nil
}
