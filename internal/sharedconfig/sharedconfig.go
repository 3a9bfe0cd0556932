// Package sharedconfig is the fleet's shared config (CLAUDE.md, settings, MCP servers,
// commands, git identity) between the host and the agents: the set as the host's files
// are now, the set each agent's supervisor reports, and handing a new set to running
// agents. The plugin's config, build and up commands import it.
package sharedconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	mobyclient "github.com/moby/moby/client"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/internal/agentexec"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

// Shown is `docker magents config show --format json`: the fleet's files on the host, and what
// each agent has.
type Shown struct {
	Host   Host    `json:"Host"`
	Agents []Agent `json:"Agents"`
}

// Host is the shared config as the host's files are now.
type Host struct {
	Files      map[string]string `json:"Files"` // name in the set → path on the host
	Digest     string            `json:"Digest,omitempty"`
	Generation string            `json:"Generation,omitempty"`
	Git        map[string]string `json:"Git,omitempty"`
	Error      string            `json:"Error,omitempty"` // the files do not load
}

// Agent is one agent's report, or why there is none.
type Agent struct {
	Agent   string              `json:"Agent"`
	Running bool                `json:"Running"`
	Config  *agentconfig.Report `json:"Config,omitempty"`
	InSync  bool                `json:"InSync"` // it has the host's set
}

// Show reads the host's set and asks each of agents (named agent-N) that runs which set it has.
func Show(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet, agents []string) (Shown, error) {
	shown := Shown{Host: HostSet(f)}
	statuses, err := fleetstatus.List(ctx, api, f, fleetstatus.Options{})
	if err != nil {
		return shown, err
	}
	for _, a := range agents {
		ac := Agent{Agent: a}
		i := slices.IndexFunc(statuses, func(s fleetstatus.AgentStatus) bool { return s.Agent == a })
		if i >= 0 && statuses[i].ContainerState == "running" {
			ac.Running = true
			rep, err := AgentReport(ctx, api, statuses[i].Container)
			if err != nil {
				return shown, err
			}
			ac.Config = rep
			ac.InSync = rep.Digest == shown.Host.Digest
		}
		shown.Agents = append(shown.Agents, ac)
	}
	return shown, nil
}

// HostSet is the shared config as the host's files are now, read as sync would read them.
func HostSet(f *fleet.Fleet) Host {
	h := Host{Files: map[string]string{}}
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

// AgentReport asks the supervisor in container which set its agent has.
func AgentReport(ctx context.Context, api mobyclient.APIClient, container string) (*agentconfig.Report, error) {
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

// Push gives the fleet's shared config set to each of agents that runs (its
// supervisor stages and places it), restarting Claude in them when asked.
func Push(ctx context.Context, api mobyclient.APIClient, out io.Writer, f *fleet.Fleet, agents []string, restartClaude bool) error {
	payload, err := json.Marshal(map[string]any{"generation": f.Config.Generation, "files": f.ConfigSet})
	if err != nil {
		return err
	}
	statuses, err := fleetstatus.List(ctx, api, f, fleetstatus.Options{})
	if err != nil {
		return err
	}
	digest := Short(f.ConfigSet.Manifest("").Digest())
	var errs []error
	for _, a := range agents {
		i := slices.IndexFunc(statuses, func(s fleetstatus.AgentStatus) bool { return s.Agent == a })
		if i < 0 || statuses[i].ContainerState != "running" {
			fmt.Fprintf(out, "%s: not running; it gets the set when docker magents up starts it\n", a)
			continue
		}
		container := statuses[i].Container
		_, stderr, code, err := agentexec.WithInput(ctx, api, container, payload, "magents-supervisor", "config", "apply")
		if err == nil && code != 0 {
			err = fmt.Errorf("%s", bytes.TrimSpace(stderr))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a, err))
			continue
		}
		if restartClaude {
			if _, code, err := agentexec.Output(ctx, api, container, "magents-supervisor", "restart"); err != nil || code != 0 {
				errs = append(errs, fmt.Errorf("%s: the set is applied but Claude did not restart (exit %d): %v", a, code, err))
				continue
			}
			fmt.Fprintf(out, "%s: set %s applied, Claude restarting\n", a, digest)
			continue
		}
		fmt.Fprintf(out, "%s: set %s applied\n", a, digest)
	}
	return errors.Join(errs...)
}

// WriteTable writes s for a terminal.
func (s Shown) WriteTable(w io.Writer) {
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
		fmt.Fprintf(w, "  %-14s %s\n", "set", Short(s.Host.Digest))
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
			fmt.Fprintf(w, " set %s, as on this host\n", Short(r.Digest))
		default:
			fmt.Fprintf(w, " set %s, not this host's: docker magents config sync\n", Short(r.Digest))
		}
		for _, f := range r.Files {
			fmt.Fprintf(w, "  %-22s %s  %s\n", f.Name, Short(f.Digest), f.Path)
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

// Short is a digest cut to the length docker shows.
func Short(digest string) string {
	if len(digest) > len("sha256:")+12 {
		return digest[:len("sha256:")+12]
	}
	return digest
}
