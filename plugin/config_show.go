package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	mobyclient "github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/internal/agentexec"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/format"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

type configShowOptions struct {
	format string
}

func configShowCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts configShowOptions
	cmd := &cobra.Command{
		Use:   "show [OPTIONS] [AGENT...]",
		Short: "Show the shared config each agent effectively has (paths, digests; secrets redacted)",
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runConfigShow(ctx, dockerCli, root, args, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	return cmd
}

// ConfigShown is `config show --format json`: the fleet's files on the host, and what
// each agent has.
type ConfigShown struct {
	Host   HostConfig    `json:"Host"`
	Agents []AgentConfig `json:"Agents"`
}

// HostConfig is the shared config as the host's files are now.
type HostConfig struct {
	Files      map[string]string `json:"Files"` // name in the set → path on the host
	Digest     string            `json:"Digest,omitempty"`
	Generation string            `json:"Generation,omitempty"`
	Git        map[string]string `json:"Git,omitempty"`
	Error      string            `json:"Error,omitempty"` // the files do not load
}

// AgentConfig is one agent's report, or why there is none.
type AgentConfig struct {
	Agent   string              `json:"Agent"`
	Running bool                `json:"Running"`
	Config  *agentconfig.Report `json:"Config,omitempty"`
	InSync  bool                `json:"InSync"` // it has the host's set
}

func runConfigShow(ctx context.Context, dockerCli command.Cli, root *rootOptions, agents []string, opts configShowOptions) error {
	fmtr, err := format.Parse(opts.format)
	if err != nil {
		return err
	}
	f, err := root.loadFleet()
	if err != nil {
		return err
	}
	agents, err = checkAgentNames(f, agents)
	if err != nil {
		return err
	}
	shown := ConfigShown{Host: hostConfig(f)}
	statuses, err := fleetstatus.List(ctx, dockerCli.Client(), f, fleetstatus.Options{})
	if err != nil {
		return err
	}
	for _, a := range agents {
		ac := AgentConfig{Agent: a}
		i := slices.IndexFunc(statuses, func(s fleetstatus.AgentStatus) bool { return s.Agent == a })
		if i >= 0 && statuses[i].ContainerState == "running" {
			ac.Running = true
			rep, err := agentConfigReport(ctx, dockerCli.Client(), statuses[i].Container)
			if err != nil {
				return err
			}
			ac.Config = rep
			ac.InSync = rep.Digest == shown.Host.Digest
		}
		shown.Agents = append(shown.Agents, ac)
	}
	if !fmtr.IsTable() {
		return format.Value(dockerCli.Out(), fmtr, shown, nil)
	}
	writeConfigShown(dockerCli.Out(), shown)
	return nil
}

// checkAgentNames defaults to every agent, names each agent-N, and refuses names the
// fleet does not have.
func checkAgentNames(f *fleet.Fleet, agents []string) ([]string, error) {
	if len(agents) == 0 {
		return f.AgentNames(), nil
	}
	out := make([]string, len(agents))
	for i, a := range agents {
		name, err := agentIn(f, a)
		if err != nil {
			return nil, err
		}
		out[i] = name
	}
	return out, nil
}

func hostConfig(f *fleet.Fleet) HostConfig {
	h := HostConfig{Files: map[string]string{}}
	for name, p := range map[string]string{
		agentconfig.ClaudeMD: f.Config.ClaudeMD, agentconfig.Settings: f.Config.Settings,
		agentconfig.MCP: f.Config.MCP, agentconfig.CommandsDir + "/": f.Config.Commands,
	} {
		if p != "" {
			h.Files[name] = f.Abs(p)
		}
	}
	if f.Config.GitUserName != "" || f.Config.GitUserEmail != "" {
		h.Git = map[string]string{"name": f.Config.GitUserName, "email": f.Config.GitUserEmail}
	}
	// Read as sync would, without changing the saved generation.
	probe := *f
	if err := probe.LoadConfigSet(time.Now()); err != nil {
		h.Error = err.Error()
		return h
	}
	if len(probe.ConfigSet) > 0 {
		h.Digest, h.Generation = probe.ConfigSet.Manifest("").Digest(), f.Config.Generation
	}
	return h
}

func agentConfigReport(ctx context.Context, api mobyclient.APIClient, container string) (*agentconfig.Report, error) {
	out, code, err := agentexec.Output(ctx, api, container, "magents-supervisor", "config", "show")
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("magents-supervisor config show in %s exited %d: is its image older than this plugin? docker magents build, then docker magents up", container, code)
	}
	var rep agentconfig.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("reading the config report of %s: %w", container, err)
	}
	termsafe.Value(&rep) // the agent's supervisor, in the agent's reach, wrote it
	return &rep, nil
}

func writeConfigShown(w io.Writer, s ConfigShown) {
	fmt.Fprintln(w, "On this host:")
	if len(s.Host.Files) == 0 {
		fmt.Fprintln(w, "  no shared files (give them with docker magents up --claude-md, --settings, --mcp, --commands)")
	}
	for _, name := range slices.Sorted(maps.Keys(s.Host.Files)) {
		fmt.Fprintf(w, "  %-14s %s\n", name, s.Host.Files[name])
	}
	if s.Host.Git != nil {
		fmt.Fprintf(w, "  %-14s %s <%s>\n", "git identity", s.Host.Git["name"], s.Host.Git["email"])
	}
	if s.Host.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", s.Host.Error)
	} else if s.Host.Digest != "" {
		fmt.Fprintf(w, "  %-14s %s\n", "set", short(s.Host.Digest))
	}
	for _, a := range s.Agents {
		fmt.Fprintf(w, "\n%s:", a.Agent)
		if !a.Running {
			fmt.Fprintln(w, " not running")
			continue
		}
		r := a.Config
		switch {
		case !r.Shared:
			fmt.Fprintln(w, " no shared config (created without one: docker magents up recreates it)")
		case a.InSync:
			fmt.Fprintf(w, " set %s, as on this host\n", short(r.Digest))
		default:
			fmt.Fprintf(w, " set %s, not this host's: docker magents config sync\n", short(r.Digest))
		}
		for _, f := range r.Files {
			fmt.Fprintf(w, "  %-22s %s  %s\n", f.Name, short(f.Digest), f.Path)
		}
		for _, srv := range r.Servers {
			what, _ := srv.Server["command"].(string)
			if u, ok := srv.Server["url"].(string); ok {
				what = u
			}
			fmt.Fprintf(w, "  mcp %-18s %s\n", srv.Name, what)
		}
		if len(r.Settings) > 0 {
			fmt.Fprintf(w, "  settings keys          %s\n", strings.Join(r.Settings, ", "))
		}
		if r.Git != nil {
			fmt.Fprintf(w, "  git identity           %s <%s>\n", r.Git["name"], r.Git["email"])
		}
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  problem: %s\n", p)
		}
	}
}

func short(digest string) string {
	if len(digest) > len("sha256:")+12 {
		return digest[:len("sha256:")+12]
	}
	return digest
}
