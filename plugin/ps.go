package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	mobyclient "github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/format"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

type psOptions struct {
	format   string
	quiet    bool
	all      bool
	live     bool
	watch    bool
	interval time.Duration
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
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "Only display the agents' container IDs")
	cmd.Flags().BoolVarP(&opts.all, "all", "a", false, "Also list config volumes kept from removed agents")
	cmd.Flags().BoolVar(&opts.live, "live", false, "Ask each agent's supervisor now (an exec each) rather than read its last health check (at most 5 s old)")
	cmd.Flags().BoolVarP(&opts.watch, "watch", "w", false, "Refresh the list in place until interrupted")
	cmd.Flags().DurationVar(&opts.interval, "interval", 2*time.Second, "How often --watch refreshes")
	return cmd
}

// AgentStatus is one agent in `docker magents ps --format json` (one object per line,
// keyed as its template fields are named).
type AgentStatus struct {
	Agent          string           `json:"Agent"`               // agent-1 …
	ID             string           `json:"ID,omitempty"`        // the container's ID
	Container      string           `json:"Container,omitempty"` // magents-agent-1 …
	ContainerState string           `json:"ContainerState,omitempty"`
	Health         string           `json:"Health,omitempty"` // healthy, unhealthy, starting
	State          agentstate.State `json:"State"`
	Since          time.Time        `json:"Since,omitzero"` // when the agent entered State
	StateSeconds   int64            `json:"StateSeconds"`   // how long it has held
	Detail         string           `json:"Detail,omitempty"`
	OOMKills       int              `json:"OOMKills,omitempty"`
	Problems       []string         `json:"Problems,omitempty"`     // OOM kills, full volumes
	EgressDenied   int              `json:"EgressDenied,omitempty"` // requests the egress proxy refused
	StartedAt      time.Time        `json:"StartedAt,omitzero"`
	UptimeSeconds  int64            `json:"UptimeSeconds"`
	Image          string           `json:"Image,omitempty"`
	Restarts       int              `json:"Restarts"` // session restarts by the supervisor
	Auth           string           `json:"Auth,omitempty"`
	AuthError      string           `json:"AuthError,omitempty"` // why the model API refused the credential
	ConfigVolume   string           `json:"ConfigVolume"`
	Retained       bool             `json:"Retained,omitempty"` // only the config volume is left
}

func runPs(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts psOptions) error {
	fmtr, err := format.Parse(opts.format)
	if opts.quiet {
		// As docker ps -q: the IDs, one per line (the agents', not the fleet's services').
		fmtr, err = format.Parse("{{truncate .ID 12}}")
	}
	if err != nil {
		return err
	}
	if opts.watch && opts.interval < 100*time.Millisecond {
		return fmt.Errorf("invalid --interval %s: use at least 100ms", opts.interval)
	}
	f, err := root.loadFleet()
	if err != nil {
		return err
	}
	if !opts.watch {
		statuses, err := fleetStatus(ctx, dockerCli.Client(), f, statusOptions{all: opts.all, live: opts.live})
		if err != nil {
			return err
		}
		if opts.quiet {
			statuses = slices.DeleteFunc(statuses, func(s AgentStatus) bool { return s.ID == "" })
		}
		return writeStatuses(dockerCli.Out(), statuses, fmtr)
	}
	// --watch: like docker stats, redraw in place on a terminal; elsewhere (a pipe, a log)
	// print each refresh after the last.
	term := dockerCli.Out().IsTerminal()
	for {
		statuses, err := fleetStatus(ctx, dockerCli.Client(), f, statusOptions{all: opts.all, live: opts.live})
		if ctx.Err() != nil {
			return nil // interrupted: the normal way to leave --watch
		}
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if term {
			buf.WriteString("\033[H\033[2J")
		}
		if err := writeStatuses(&buf, statuses, fmtr); err != nil {
			return err
		}
		if !term && fmtr.IsTable() {
			buf.WriteString("\n")
		}
		if _, err := dockerCli.Out().Write(buf.Bytes()); err != nil {
			return err
		}
		if !sleepCtx(ctx, opts.interval) {
			return nil
		}
	}
}

func writeStatuses(out io.Writer, statuses []AgentStatus, f format.Format) error {
	return format.Rows(out, f, statuses, func(out io.Writer) error { return statusTable(out, statuses) })
}

func statusTable(out io.Writer, statuses []AgentStatus) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AGENT\tCONTAINER\tSTATE\tFOR\tHEALTH\tUPTIME\tIMAGE")
	for _, s := range statuses {
		uptime := "-"
		if s.UptimeSeconds > 0 {
			uptime = units.HumanDuration(time.Duration(s.UptimeSeconds) * time.Second)
		}
		held := "-"
		if !s.Since.IsZero() {
			held = shortDuration(time.Duration(s.StateSeconds) * time.Second)
		}
		name, state, health := s.Container, string(s.State), s.Health
		if s.Detail != "" && (s.State == agentstate.Waiting || s.State == agentstate.AuthRejected || s.State == agentstate.Idle) {
			state += ": " + s.Detail
		}
		// The supervisor's own problems say it all, egress refusals included (the proxy's
		// total count, EgressDenied, stays in the JSON).
		if len(s.Problems) > 0 {
			state += " (" + strings.Join(s.Problems, "; ") + ")"
		}
		if s.Retained {
			name, state, health = "-", "removed (config volume "+s.ConfigVolume+" kept)", "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Agent, name, state, held, orDash(health), uptime, orDash(s.Image))
	}
	return w.Flush()
}

// shortDuration is a duration for a column: 45s, 3m12s, 2h5m, 3d4h.
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fleetStatus reads each agent's container and asks its supervisor for its health.
// statusOptions: all also lists config volumes kept from removed agents; live asks each
// running agent's supervisor now (an exec each) instead of reading its last health check.
type statusOptions struct{ all, live bool }

func fleetStatus(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet, opts statusOptions) ([]AgentStatus, error) {
	list, err := api.ContainerList(ctx, mobyclient.ContainerListOptions{
		All:     true,
		Filters: make(mobyclient.Filters).Add("label", "com.docker.compose.project="+f.Project).Add("label", compose.AgentLabel),
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var items []container.Summary
	for _, c := range list.Items {
		if service := c.Labels["com.docker.compose.service"]; service != fleet.DevService {
			seen[service] = true
			items = append(items, c)
		}
	}
	// One inspect (and with live, one health exec) per agent, all at once.
	out := make([]AgentStatus, len(items))
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range items {
		g.Go(func() error {
			s, err := agentStatus(gctx, api, f, c, opts.live)
			out[i] = s
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if f.Egress == fleet.EgressAllowlist {
		if rep, err := egressReport(ctx, api, f); err == nil {
			for i := range out {
				out[i].EgressDenied = rep.Counts[out[i].Agent]
			}
		}
	}
	if opts.all {
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

// recentCheck is how old the last health check's report may be to stand for now: the
// image's HEALTHCHECK runs every 5 s (and may take up to its 5 s timeout).
const recentCheck = 12 * time.Second

// agentHealth is the agent's health: the report of its last health check (the supervisor's
// own JSON, kept by the engine) while that is recent, else — or with live — asked of its
// supervisor now; when it cannot be asked (the container is not running, or the exec
// fails) the last report stands, however old.
func agentHealth(ctx context.Context, api mobyclient.APIClient, id string, st *container.State, live bool) (agentstate.Health, bool) {
	h, ok := readAgentHealth(ctx, api, id, st, live)
	termsafe.Value(&h) // the agent wrote it
	return h, ok
}

func readAgentHealth(ctx context.Context, api mobyclient.APIClient, id string, st *container.State, live bool) (agentstate.Health, bool) {
	// The last health check's report, and when it ended.
	var last agentstate.Health
	var lastEnd time.Time
	haveLast := false
	if st.Health != nil {
		if n := len(st.Health.Log); n > 0 && json.Unmarshal([]byte(st.Health.Log[n-1].Output), &last) == nil && last.State != "" {
			haveLast, lastEnd = true, st.Health.Log[n-1].End
		}
	}
	if !live && st.Running && haveLast && time.Since(lastEnd) < recentCheck {
		return last, true
	}
	if st.Running {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // one stuck agent does not hang ps
		defer cancel()
		var h agentstate.Health
		if out, _, err := execOutput(ctx, api, id, "/usr/local/bin/magents-supervisor", "health"); err == nil && json.Unmarshal(out, &h) == nil && h.State != "" {
			return h, true
		}
	}
	return last, haveLast
}

func agentStatus(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet, c container.Summary, live bool) (AgentStatus, error) {
	service := c.Labels["com.docker.compose.service"]
	s := AgentStatus{Agent: service, ID: c.ID, Image: c.Image, ContainerState: string(c.State), ConfigVolume: f.Project + "_" + fleet.ConfigVolume(service)}
	if len(c.Names) > 0 {
		s.Container = strings.TrimPrefix(c.Names[0], "/")
	}
	insp, err := api.ContainerInspect(ctx, c.ID, mobyclient.ContainerInspectOptions{})
	if errdefs.IsNotFound(err) {
		// Removed since the list (an up or down under way): it is gone, not an error.
		s.ContainerState, s.State = "removed", agentstate.Failed
		return s, nil
	}
	if err != nil {
		return s, err
	}
	st := insp.Container.State
	if st == nil {
		return s, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, st.StartedAt); err == nil && st.Running {
		s.StartedAt = t
		s.UptimeSeconds = int64(time.Since(t).Seconds())
	}
	s.State = agentstate.Starting
	if st.Health != nil {
		s.Health = string(st.Health.Status)
	}
	if h, ok := agentHealth(ctx, api, c.ID, st, live); ok {
		s.State, s.Since, s.Detail = h.State, h.Since, h.Detail
		s.Restarts, s.Auth, s.AuthError = h.Restarts, h.Auth, h.AuthError
		s.OOMKills, s.Problems = h.OOMKills, h.Problems
		if s.Detail == "" && h.State == agentstate.AuthRejected {
			s.Detail = h.AuthError
		}
	}
	if !st.Running {
		s.State, s.Since, s.Detail = agentstate.Failed, time.Time{}, ""
		if st.ExitCode == 0 {
			s.State = agentstate.Done
		}
		if t, err := time.Parse(time.RFC3339Nano, st.FinishedAt); err == nil && t.Year() > 1 {
			s.Since = t
		}
	}
	if !s.Since.IsZero() {
		s.StateSeconds = int64(time.Since(s.Since).Seconds())
	}
	return s, nil
}

func agentOrder(name string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "agent-"))
	if err != nil {
		return 1 << 30
	}
	return n
}
