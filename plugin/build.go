package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/internal/buildkit"
)

type buildOptions struct {
	targets   []string
	tags      []string
	buildArgs []string
	platforms []string
	noCache   bool
	pull      bool
	progress  string
	caCert    string
	builder   string
	print     bool
	push      bool
	// withConfig also builds an image of each target with the fleet's shared agent config
	// in it (for platforms without config objects: ECS, Cloud Run).
	withConfig bool
}

func buildCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts buildOptions
	cmd := &cobra.Command{
		Use:   "build [OPTIONS]",
		Short: "Build the Claude Code agent image with BuildKit",
		Long: `Build the agent image (magents/claude-agent:TARGET) with BuildKit.

By default the Docker Engine's own BuildKit builds it straight into the engine's
image store, unless 'docker buildx use' selected another builder; --builder names a
buildx builder or a BuildKit address (a standalone buildkitd), whose result is loaded
into the engine. The Dockerfile and its context are part of this plugin, so
it builds from any directory.`,
		Example: `  docker magents build
  docker magents build --target dev
  docker magents build --ca-cert /etc/ssl/certs/ca-certificates.crt
  docker magents build --builder unix:///run/buildkit/buildkitd.sock
  docker magents build --builder mybuilder
  docker magents build --print --target latest --target dev
  docker magents build --push --tag registry.example.com/team/claude-agent:1
  docker magents build --with-config --push --tag registry.example.com/team/claude-agent:team`,
		Args: cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			if opts.withConfig {
				return runBuildWithConfig(ctx, dockerCli, root, opts)
			}
			return runBuild(ctx, dockerCli, opts)
		}),
	}
	flags := cmd.Flags()
	flags.StringArrayVar(&opts.targets, "target", nil, fmt.Sprintf("Target to build (%s); repeat for several (default latest)", strings.Join(images.TargetNames, "|")))
	flags.StringArrayVarP(&opts.tags, "tag", "t", nil, `Name and tag of the image (default "magents/claude-agent:TARGET"); needs a single --target`)
	flags.StringArrayVar(&opts.buildArgs, "build-arg", nil, "Set a build argument (KEY=VALUE)")
	flags.StringArrayVar(&opts.platforms, "platform", nil, "Target platform (e.g. linux/arm64)")
	flags.BoolVar(&opts.noCache, "no-cache", false, "Do not use the build cache")
	flags.BoolVar(&opts.pull, "pull", false, "Always pull base images from their registry")
	flags.StringVar(&opts.progress, "progress", "auto", "Progress output: auto, tty, plain, rawjson, quiet")
	flags.StringVar(&opts.caCert, "ca-cert", "", "PEM bundle of extra CA certificates, for TLS-intercepting proxies (used by the build and trusted by the image)")
	flags.StringVar(&opts.builder, "builder", "", `A buildx builder ('docker buildx ls') or a BuildKit address (unix://, tcp://, docker-container://); default $BUILDKIT_HOST, else $BUILDX_BUILDER, else the builder 'docker buildx use' selected, else the engine's own BuildKit`)
	flags.BoolVar(&opts.push, "push", false, "Also push the image to the registry its --tag names (with docker login's credentials)")
	flags.BoolVar(&opts.withConfig, "with-config", false, `Then build an image with the fleet's shared agent config in it (default tag TARGET-PROJECT; --tag names it), for ECS and Cloud Run, which have no config objects`)
	flags.BoolVar(&opts.print, "print", false, "Print the resolved targets as JSON (the shape of docker buildx bake --print) and exit")
	return cmd
}

func runBuild(ctx context.Context, dockerCli command.Cli, opts buildOptions) error {
	if opts.push && len(opts.tags) == 0 {
		return errors.New("--push needs --tag REGISTRY/REPOSITORY:TAG: the default name magents/claude-agent would go to Docker Hub")
	}
	targets, err := resolveTargets(opts)
	if err != nil {
		return err
	}
	if opts.print {
		enc := json.NewEncoder(dockerCli.Out())
		enc.SetIndent("", "  ")
		return enc.Encode(images.NewDefinition(targets))
	}
	return buildTargets(ctx, dockerCli, targets, opts)
}

// buildTargets builds resolved targets; `up` builds a missing image through it too.
func buildTargets(ctx context.Context, dockerCli command.Cli, targets []*images.Target, opts buildOptions) error {
	mode, err := buildkit.ParseProgress(opts.progress)
	if err != nil {
		return err
	}
	secrets := map[string][]byte{}
	if opts.caCert != "" {
		pemBytes, err := images.ReadCACert(opts.caCert)
		if err != nil {
			return err
		}
		secrets[images.CACertSecret] = pemBytes
	}

	b, err := connectBuilder(ctx, dockerCli, opts)
	if err != nil {
		return err
	}
	defer b.Close()
	for _, t := range targets {
		req := buildkit.Request{
			Context:    buildkit.NewFS(images.Context()),
			Dockerfile: t.Dockerfile,
			Target:     t.Target,
			Args:       t.ArgValues(),
			Tags:       t.Tags,
			Platforms:  t.Platforms,
			NoCache:    opts.noCache,
			Pull:       opts.pull,
			BaseImages: t.BaseImages(),
			Secrets:    secrets,
			Push:       opts.push,
		}
		withRegistryAuth(dockerCli, &req)
		if err := b.Build(ctx, req, mode, dockerCli.Err()); err != nil {
			return fmt.Errorf("building target %s: %w", t.Name, err)
		}
		if mode != progressui.QuietMode && mode != progressui.RawJSONMode {
			fmt.Fprintf(dockerCli.Err(), "Built %s (target %s, builder %s)\n", strings.Join(t.Tags, ", "), t.Name, b.Name)
		}
	}
	return nil
}

// connectBuilder connects to the BuildKit that --builder names, as buildx would take the
// name (see buildkit.Endpoint); left out, $BUILDKIT_HOST, $BUILDX_BUILDER, the builder
// `docker buildx use` selected, else the engine's own.
func connectBuilder(ctx context.Context, dockerCli command.Cli, opts buildOptions) (*buildkit.Builder, error) {
	store := buildkit.BuildxStore{
		Dir:            buildkit.BuildxDir(filepath.Dir(dockerCli.ConfigFile().Filename)),
		CurrentContext: dockerCli.CurrentContext(),
		CurrentKey:     dockerCli.CurrentContext(),
	}
	if store.CurrentContext == "default" || store.CurrentContext == "" {
		store.CurrentKey = dockerCli.DockerEndpoint().Host
	}
	if contexts, err := dockerCli.ContextStore().List(); err == nil {
		for _, c := range contexts {
			store.Contexts = append(store.Contexts, c.Name)
		}
	}
	ep, err := store.Resolve(opts.builder)
	if err != nil {
		return nil, err
	}
	return buildkit.Connect(ctx, dockerCli.Client(), ep)
}

// withRegistryAuth gives a build docker login's credentials: BuildKit's for pulls and
// pushes, the engine's for a push it makes.
func withRegistryAuth(dockerCli command.Cli, req *buildkit.Request) {
	req.Session = append(req.Session, authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: authprovider.LoadAuthConfig(dockerCli.ConfigFile()),
	}))
	req.RegistryAuth = func(ref string) (string, error) {
		return command.RetrieveAuthTokenFromImage(dockerCli.ConfigFile(), ref)
	}
}

// resolveTargets applies the flags to the default target definitions.
func resolveTargets(opts buildOptions) ([]*images.Target, error) {
	return images.Resolve(images.Options{
		Targets: opts.targets, Tags: opts.tags, BuildArgs: opts.buildArgs, Platforms: opts.platforms,
		NoCache: opts.noCache, Pull: opts.pull, CACert: opts.caCert,
	})
}
