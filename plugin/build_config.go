package main

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/moby/buildkit/util/progress/progressui"

	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/internal/buildkit"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/sharedconfig"
)

// runBuildWithConfig is build --with-config: each target as usual, then an image FROM it
// with the fleet's shared agent config where compose would deliver it, its supervisor
// told so, and the git identity in its environment. ECS and Cloud Run have no config
// objects: their agents run this image.
func runBuildWithConfig(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts buildOptions) error {
	if opts.print {
		return fmt.Errorf("--with-config builds from the fleet's files: it cannot go with --print")
	}
	f, err := root.loadFleet()
	if err != nil {
		return err
	}
	if err := f.LoadConfigSet(time.Now()); err != nil {
		return err
	}
	if len(f.ConfigSet) == 0 {
		return fmt.Errorf("project %s has no shared config files to build in: give them with docker magents up --claude-md, --settings, --mcp or --commands", f.Project)
	}
	base := opts
	base.tags, base.push = nil, false
	targets, err := resolveTargets(base)
	if err != nil {
		return err
	}
	if len(opts.tags) > 0 && len(targets) != 1 {
		return fmt.Errorf("--tag names one image: give it with a single --target (got %d targets)", len(targets))
	}
	if err := buildTargets(ctx, dockerCli, targets, base); err != nil {
		return err
	}
	b, err := connectBuilder(ctx, dockerCli, opts)
	if err != nil {
		return err
	}
	defer b.Close()
	for _, t := range targets {
		tags := opts.tags
		if len(tags) == 0 {
			tags = []string{images.Repository + ":" + t.Name + "-" + f.Project}
		}
		if err := buildConfigImage(ctx, dockerCli, b, f, t.Tags[0], tags, opts); err != nil {
			return err
		}
	}
	return nil
}

// configContext is the build context of the image with the config: its Dockerfile and
// the set's files (with their manifest) under config/.
func configContext(f *fleet.Fleet, from string) (fs.FS, error) {
	ctx := fstest.MapFS{}
	for _, file := range f.ConfigSet.Delivered(f.Config.Generation) {
		ctx["config/"+file.Name] = &fstest.MapFile{Data: []byte(file.Content), Mode: 0o444}
	}
	var df strings.Builder
	fmt.Fprintf(&df, "FROM %s\n", from)
	fmt.Fprintf(&df, "COPY config/ %s/\n", fleet.ConfigDeliveredDir)
	env := map[string]string{agentenv.SharedConfig: "1"}
	maps.Copy(env, f.GitConfigEnv())
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&df, "ENV %s=%s\n", k, dockerfileQuote(env[k]))
	}
	fmt.Fprintf(&df, "LABEL io.docker-magents.config-digest=%s\n", f.ConfigSet.Manifest("").Digest())
	ctx["Dockerfile"] = &fstest.MapFile{Data: []byte(df.String()), Mode: 0o644}
	return ctx, nil
}

// dockerfileQuote quotes a value for a Dockerfile ENV: in double quotes, with \, " and $
// escaped.
func dockerfileQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`).Replace(s) + `"`
}

func buildConfigImage(ctx context.Context, dockerCli command.Cli, b *buildkit.Builder, f *fleet.Fleet, from string, tags []string, opts buildOptions) error {
	mode, err := buildkit.ParseProgress(opts.progress)
	if err != nil {
		return err
	}
	bctx, err := configContext(f, from)
	if err != nil {
		return err
	}
	req := buildkit.Request{
		Context: buildkit.NewFS(bctx), Dockerfile: "Dockerfile", Tags: tags, Platforms: opts.platforms,
		BaseImages: []string{from}, Push: opts.push,
	}
	withRegistryAuth(dockerCli, &req)
	if err := b.Build(ctx, req, mode, dockerCli.Err()); err != nil {
		return fmt.Errorf("building the image with the shared config: %w", err)
	}
	if mode != progressui.QuietMode && mode != progressui.RawJSONMode {
		fmt.Fprintf(dockerCli.Err(), "Built %s (%s with the shared config %s)\n", strings.Join(tags, ", "), from, sharedconfig.Short(f.ConfigSet.Manifest("").Digest()))
	}
	return nil
}
