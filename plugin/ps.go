package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/go-units"
	mobyclient "github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

type psOptions struct {
	format string
	all    bool
}

func psCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts psOptions
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS]",
		Short: "List the fleet's agents and what each is doing",
		Args:  cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runPs(ctx, dockerCli, root, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", `Output format: "table" or "json"`)
	cmd.Flags().BoolVarP(&opts.all, "all", "a", false, "Also list config volumes kept from removed agents")
	return cmd
}

// AgentStatus is one agent in `docker magents ps --format json` (a JSON array of these).
type AgentStatus struct {
	Agent          string           `json:"agent"`               // agent-1 …
	Container      string           `json:"container,omitempty"` // magents-agent-1 …
	ContainerState string           `json:"containerState,omitempty"`
	Health         string           `json:"health,omitempty"` // healthy, unhealthy, starting
	State          agentstate.State `json:"state"`
	StartedAt      time.Time        `json:"startedAt,omitzero"`
	UptimeSeconds  int64            `json:"uptimeSeconds"`
	Image          string           `json:"image,omitempty"`
	Restarts       int              `json:"restarts"` // session restarts by the supervisor
	Auth           string           `json:"auth,omitempty"`
	AuthError      string           `json:"authError,omitempty"` // why the model API refused the credential
	ConfigVolume   string           `json:"configVolume"`
	Retained       bool             `json:"retained,omitempty"` // only the config volume is left
}

func runPs(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts psOptions) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf(`invalid --format %q: use "table" or "json"`, opts.format)
	}
	f, err := root.loadFleet()
	if err != nil {
		return err
	}
	statuses, err := fleetStatus(ctx, dockerCli.Client(), f, opts.all)
	if err != nil {
		return err
	}
	if opts.format == "json" {
		enc := json.NewEncoder(dockerCli.Out())
		enc.SetIndent("", "  ")
		return enc.Encode(statuses)
	}
	w := tabwriter.NewWriter(dockerCli.Out(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AGENT\tCONTAINER\tSTATE\tHEALTH\tUPTIME\tIMAGE")
	for _, s := range statuses {
		uptime := "-"
		if s.UptimeSeconds > 0 {
			uptime = units.HumanDuration(time.Duration(s.UptimeSeconds) * time.Second)
		}
		container, state, health := s.Container, string(s.State), s.Health
		if s.Retained {
			container, state, health = "-", "removed (config volume "+s.ConfigVolume+" kept)", "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Agent, container, state, orDash(health), uptime, orDash(s.Image))
	}
	return w.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fleetStatus reads each agent's container and the supervisor's last health report.
func fleetStatus(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet, all bool) ([]AgentStatus, error) {
	list, err := api.ContainerList(ctx, mobyclient.ContainerListOptions{
		All:     true,
		Filters: make(mobyclient.Filters).Add("label", "com.docker.compose.project="+f.Project).Add("label", compose.AgentLabel),
	})
	if err != nil {
		return nil, err
	}
	var out []AgentStatus
	seen := map[string]bool{}
	for _, c := range list.Items {
		service := c.Labels["com.docker.compose.service"]
		if service == fleet.DevService {
			continue
		}
		seen[service] = true
		s := AgentStatus{Agent: service, Image: c.Image, ContainerState: string(c.State), ConfigVolume: f.Project + "_" + fleet.ConfigVolume(service)}
		if len(c.Names) > 0 {
			s.Container = strings.TrimPrefix(c.Names[0], "/")
		}
		insp, err := api.ContainerInspect(ctx, c.ID, mobyclient.ContainerInspectOptions{})
		if err != nil {
			return nil, err
		}
		st := insp.Container.State
		if st != nil {
			if t, err := time.Parse(time.RFC3339Nano, st.StartedAt); err == nil && st.Running {
				s.StartedAt = t
				s.UptimeSeconds = int64(time.Since(t).Seconds())
			}
			s.State = agentstate.Starting
			if st.Health != nil {
				s.Health = string(st.Health.Status)
				if n := len(st.Health.Log); n > 0 {
					var h agentstate.Health
					if json.Unmarshal([]byte(st.Health.Log[n-1].Output), &h) == nil && h.State != "" {
						s.State, s.Restarts, s.Auth, s.AuthError = h.State, h.Restarts, h.Auth, h.AuthError
					}
				}
			}
			if !st.Running {
				s.State = agentstate.Failed
				if st.ExitCode == 0 {
					s.State = agentstate.Done
				}
			}
		}
		out = append(out, s)
	}
	if all {
		vols, err := api.VolumeList(ctx, mobyclient.VolumeListOptions{
			Filters: make(mobyclient.Filters).Add("label", "com.docker.compose.project="+f.Project),
		})
		if err != nil {
			return nil, err
		}
		for _, v := range vols.Items {
			agent, ok := strings.CutSuffix(v.Labels["com.docker.compose.volume"], "-config")
			if !ok || seen[agent] {
				continue
			}
			if _, err := fleet.AgentNumber(agent); err != nil {
				continue
			}
			out = append(out, AgentStatus{Agent: agent, ConfigVolume: v.Name, Retained: true, State: agentstate.Done})
		}
	}
	slices.SortFunc(out, func(a, b AgentStatus) int { return agentOrder(a.Agent) - agentOrder(b.Agent) })
	return out, nil
}

func agentOrder(name string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "agent-"))
	if err != nil {
		return 1 << 30
	}
	return n
}
