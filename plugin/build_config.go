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
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/util/progress/progressui"

	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/internal/buildkit"
	"github.com/docker-magents/docker-magents/internal/fleet"
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
	derived := opts
	derived.noCache = false
	for _, t := range targets {
		tags := opts.tags
		if len(tags) == 0 {
			tags = []string{images.Repository + ":" + t.Name + "-" + f.Project}
		}
		if err := buildConfigImage(ctx, dockerCli, f, t.Tags[0], tags, derived); err != nil {
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
	env := map[string]string{"MAGENTS_SHARED_CONFIG": "1"}
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

func buildConfigImage(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, from string, tags []string, opts buildOptions) error {
	mode, err := progressMode(opts.progress)
	if err != nil {
		return err
	}
	bctx, err := configContext(f, from)
	if err != nil {
		return err
	}
	addr := opts.builder
	if addr == "" {
		addr = buildkit.BuildkitHost()
	}
	b, err := buildkit.Connect(ctx, dockerCli.Client(), addr)
	if err != nil {
		return err
	}
	defer b.Close()
	req := buildkit.Request{
		Context: buildkit.NewFS(bctx), Dockerfile: "Dockerfile", Tags: tags, Platforms: opts.platforms,
		BaseImages: []string{from}, Push: opts.push,
		Session: []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
			AuthConfigProvider: authprovider.LoadAuthConfig(dockerCli.ConfigFile()),
		})},
		RegistryAuth: func(ref string) (string, error) {
			return command.RetrieveAuthTokenFromImage(dockerCli.ConfigFile(), ref)
		},
	}
	if err := b.Build(ctx, req, mode, dockerCli.Err()); err != nil {
		return fmt.Errorf("building the image with the shared config: %w", err)
	}
	if mode != progressui.QuietMode && mode != progressui.RawJSONMode {
		fmt.Fprintf(dockerCli.Err(), "Built %s (%s with the shared config %s)\n", strings.Join(tags, ", "), from, short(f.ConfigSet.Manifest("").Digest()))
	}
	return nil
}
