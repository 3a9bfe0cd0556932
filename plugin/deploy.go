package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/internal/agentspec"
	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetauth"
)

func deployCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy TARGET",
		Short: "Render the fleet for Swarm, Kubernetes, ECS or Cloud Run, and deploy it where one machine is not enough",
		Args:  cli.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(deploySwarmCmd(dockerCli, root), deployK8sCmd(dockerCli, root), deployECSCmd(dockerCli, root), deployCloudRunCmd(dockerCli, root))
	return cmd
}

// deployOptions are the flags every deploy target shares.
type deployOptions struct {
	output    string // -o DIR; stdout when empty
	agents    int
	image     string
	templates string
	flags     *pflag.FlagSet
}

func (o *deployOptions) addFlags(flags *pflag.FlagSet) {
	o.flags = flags
	flags.StringVarP(&o.output, "output", "o", "", "Write the files into this directory (default: print them)")
	flags.IntVar(&o.agents, "agents", 0, "Number of agents (default: the fleet's)")
	flags.StringVar(&o.image, "image", "", "Agent image, pullable by the target (default: the fleet's)")
	flags.StringVar(&o.templates, "templates", "", "Directory of templates that override the built-in ones (same relative names)")
}

// deployFleet is the fleet to deploy: the saved one (or the defaults of a new project)
// with the deploy flags applied. The compose file is not changed.
func deployFleet(root *rootOptions, opts deployOptions, maxAgents int) (*fleet.Fleet, error) {
	f, _, err := root.fleetOrNew()
	if err != nil {
		return nil, err
	}
	if opts.flags != nil && opts.flags.Changed("agents") {
		f.Agents = opts.agents
	}
	if f.Agents < 1 || f.Agents > maxAgents {
		return nil, fmt.Errorf("invalid number of agents %d: give 1 to %d", f.Agents, maxAgents)
	}
	if opts.image != "" {
		f.Image = opts.image
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// deployInputs are what every target renders from: the fleet, its shared env file's
// settings, and the credential the agents share (never a host login, whose single-use
// refresh token cannot be shared).
func deployInputs(dockerCli command.Cli, root *rootOptions, opts deployOptions, where string) (*fleet.Fleet, map[string]string, auth.Credential, error) {
	f, err := deployFleet(root, opts, fleet.MaxAgents)
	if err != nil {
		return nil, nil, auth.Credential{}, err
	}
	env, err := compose.ReadEnvFile(f.Abs(f.EnvFile))
	if err != nil {
		return nil, nil, auth.Credential{}, err
	}
	eff, err := fleetauth.Effective(dockerCli, f, nil)
	switch {
	case errors.Is(err, auth.ErrNoCredential):
		return nil, nil, auth.Credential{}, fmt.Errorf("%w: %s", err, where)
	case err != nil:
		return nil, nil, auth.Credential{}, err
	case eff.Credential == nil:
		return nil, nil, auth.Credential{}, errors.New("a host login cannot be shared by agents beyond this machine (its refresh token is single-use): " +
			"give a token from 'claude setup-token' or an API key (docker magents auth setup)")
	}
	if err := f.LoadConfigSet(time.Now()); err != nil {
		return nil, nil, auth.Credential{}, err
	}
	if len(f.ConfigSet) > 0 && where != k8sWhere && where != swarmWhere {
		fmt.Fprintln(dockerCli.Err(), "Note: the fleet's shared agent config (--claude-md, --settings, --mcp, --commands) has no config "+
			"object here: build it into the image with docker magents build --with-config --push --tag REF, and deploy with --image REF.")
	}
	if where != k8sWhere && where != swarmWhere {
		fmt.Fprintln(dockerCli.Err(), "Note: no model gateway is rendered here: each agent holds the fleet's credential itself "+
			"(from the platform's secret store), and no budget or usage meter stands between it and the API; "+
			"deploy swarm and deploy k8s keep the credential in the fleet's gateway.")
	}
	if f.Egress == fleet.EgressAllowlist {
		fmt.Fprintln(dockerCli.Err(), "Note: the fleet's egress allowlist is enforced by the egress proxy of docker magents up; "+
			"where this deploys, restrict the agents' egress with the platform's own means (network policies, security groups, VPC egress).")
	}
	return f, env, *eff.Credential, nil
}

// printExceptions says which of the fleet's agent settings the target has no equivalent
// for, and what to do instead (agentspec.Exceptions).
func printExceptions(dockerCli command.Cli, f *fleet.Fleet, target string) error {
	spec, err := agentspec.Items(f, 1, true)
	if err != nil {
		return err
	}
	for _, item := range slices.Sorted(maps.Keys(agentspec.Exceptions[target])) {
		if _, set := spec[item]; set {
			fmt.Fprintf(dockerCli.Err(), "note: %s is not set by this render: %s\n", item, agentspec.Exceptions[target][item])
		}
	}
	if f.Config.GitCredentials != "" && target != "swarm" {
		// Only a gateway holds git credentials, and only Swarm's relays git: the agents
		// here get none rather than their own copy.
		fmt.Fprintf(dockerCli.Err(), "note: the fleet's git credentials (up --git-credentials) are not deployed to %s: its agents hold none and push nowhere; push from this host with docker magents push\n", target)
	}
	return nil
}
