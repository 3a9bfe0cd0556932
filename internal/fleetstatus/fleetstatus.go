// Package fleetstatus is the fleet's agents as the engine and their supervisors report
// them: container, health, state, egress refusals, retained config volumes. Every
// command that shows or waits on agents reads them here.
package fleetstatus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/swarm"
	mobyclient "github.com/moby/moby/client"
	"golang.org/x/sync/errgroup"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
	"github.com/docker-magents/docker-magents/internal/agentexec"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/swarmstack"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

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
	// What the fleet's model gateway counted for the agent (with a gateway): every token
	// the Messages API reported, their cost in US dollars, and its limit (0: none).
	Tokens       int     `json:"Tokens,omitempty"`
	CostUSD      float64 `json:"CostUSD,omitempty"`
	BudgetUSD    float64 `json:"BudgetUSD,omitempty"`
	ConfigVolume string  `json:"ConfigVolume"`
	Retained     bool    `json:"Retained,omitempty"` // only the config volume is left
}

// EgressReport is the egress proxy's account of what it refused.
type EgressReport struct {
	Allow  []string       `json:"Allow"`
	Counts map[string]int `json:"Counts"` // refusals per agent
	Recent []struct {
		Time   time.Time `json:"Time"`
		Agent  string    `json:"Agent"`
		Host   string    `json:"Host"`
		Method string    `json:"Method"`
	} `json:"Recent"`
	// Agents: each agent's last health report, as its supervisor sent it to the proxy (on
	// change, and at least every 30 s); Now is the proxy's clock when it answered.
	Agents map[string]PushedHealth `json:"agents"`
	Now    time.Time               `json:"now"`
	// Usage is the model gateway's account, when the fleet has one.
	Usage *modelusage.Report `json:"usage"`
	// Queue is the work queue's tasks, when asked (Options.Queue) of a proxy that runs the
	// dispatcher and says them; nil otherwise.
	Queue *[]workqueue.Task `json:"queue"`
}

// PushedHealth is an agent's report to the egress proxy: the JSON of its health, and
// when the proxy took it.
type PushedHealth struct {
	At     time.Time       `json:"at"`
	Health json.RawMessage `json:"health"`
}

// pushedFresh is how old an agent's report to the proxy may be to stand for now: its
// supervisor sends one on every change and at least every 30 s.
const pushedFresh = 90 * time.Second

// pushed is agent's report to the proxy while it stands for now: sent since its container
// started, and recent.
func (rep *EgressReport) pushed(agent string, started time.Time) (agentstate.Health, bool) {
	var h agentstate.Health
	if rep == nil {
		return h, false
	}
	p, ok := rep.Agents[agent]
	if !ok || p.At.Before(started) || rep.Now.Sub(p.At) > pushedFresh {
		return h, false
	}
	if json.Unmarshal(p.Health, &h) != nil || h.State == "" {
		return h, false
	}
	// The agent leaves out what the proxy refused it: that is the proxy's own account.
	if n, host := rep.recentDenials(agent); n > 0 {
		h.Problems = append(h.Problems, agentstate.EgressProblem(n, host))
	}
	return h, true
}

// recentDenials is how many requests of agent the proxy refused lately (within
// agentstate.RecentDenial, by its clock), and the host of the last.
func (rep *EgressReport) recentDenials(agent string) (n int, last string) {
	for _, d := range rep.Recent {
		if d.Agent == agent && rep.Now.Sub(d.Time) < agentstate.RecentDenial {
			n, last = n+1, d.Host
		}
	}
	return n, last
}

// Egress asks the fleet's egress proxy what it refused; agents are named agent-N.
func Egress(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet) (*EgressReport, error) {
	return egress(ctx, api, f, false)
}

// egress is Egress, with the work queue's tasks when queue.
func egress(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet, queue bool) (*EgressReport, error) {
	if f.Egress != fleet.EgressAllowlist {
		return nil, fmt.Errorf("project %s has open egress: there is no egress proxy (start it with docker magents up --egress allowlist)", f.Project)
	}
	cmd := []string{"/usr/local/bin/magents-supervisor", "proxy-denied"}
	if queue {
		cmd = append(cmd, "--queue")
	}
	out, code, err := agentexec.Output(ctx, api, f.Project+"-"+fleet.EgressProxyService, cmd...)
	if err == nil && code != 0 {
		err = fmt.Errorf("it exited %d", code)
	}
	if err != nil {
		return nil, fmt.Errorf("asking the egress proxy %s-%s (is the fleet up?): %v", f.Project, fleet.EgressProxyService, err)
	}
	var rep EgressReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("reading the egress proxy's report: %w", err)
	}
	termsafe.Value(&rep) // hosts and methods are what agents asked for
	counts := map[string]int{}
	for k, v := range rep.Counts {
		counts[strings.TrimPrefix(k, f.Project+"-")] += v
	}
	rep.Counts = counts
	for i := range rep.Recent {
		rep.Recent[i].Agent = strings.TrimPrefix(rep.Recent[i].Agent, f.Project+"-")
	}
	agents := map[string]PushedHealth{}
	for k, v := range rep.Agents {
		agents[strings.TrimPrefix(k, f.Project+"-")] = v
	}
	rep.Agents = agents
	return &rep, nil
}

// Options: KeptVolumes also lists config volumes kept from removed agents; Live asks
// each running agent's supervisor now (an exec each) instead of reading its last health
// check. Stopped agents are always listed: a caller that shows running ones only (ps
// without --all) uses Running.
//
// Queue asks the egress proxy for the work queue's tasks along with its report (one exec
// for both: the dashboard's read).
//
// Stack reads the fleet deployed as a Swarm stack (docker magents deploy swarm) instead of
// compose's: each agent's running task on this node, and for an agent with none, why
// (Swarm's latest task state and error). A stack has no egress proxy to ask.
type Options struct{ KeptVolumes, Live, Stack, Queue bool }

// List reads each agent's container and asks its supervisor for its health, in agent order.
func List(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet, opts Options) ([]AgentStatus, error) {
	rep, err := Read(ctx, api, f, opts)
	return rep.Agents, err
}

// Report is what Read found: the agents, and behind the egress proxy its report, read
// once for both.
type Report struct {
	Agents []AgentStatus
	// Egress is the egress proxy's report, or EgressError why there is none, for a fleet
	// behind it (an allowlist); both are nil for open egress.
	Egress      *EgressReport
	EgressError error
}

// Read is List with the egress proxy's report it read along the way, for a caller that
// shows both (the dashboard) without asking the proxy twice.
func Read(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet, opts Options) (Report, error) {
	project := fleet.ComposeProjectLabel + "=" + f.Project
	if opts.Stack {
		project = "com.docker.stack.namespace=" + f.Project
	}
	list, err := api.ContainerList(ctx, mobyclient.ContainerListOptions{
		All:     true,
		Filters: make(mobyclient.Filters).Add("label", project).Add("label", fleet.AgentLabel),
	})
	if err != nil {
		return Report{}, err
	}
	items, seen := agentContainers(list.Items, f.Project)
	// Behind the egress proxy, one exec asks it for what it refused and for each agent's
	// last report; an agent without a current report is asked itself (an exec) when its
	// last health check is not recent.
	// It is asked alongside the agents: with live, each agent is asked first and the
	// proxy's report is only what stands when that fails.
	// It is what stands when an agent does not answer before the caller's deadline (wait
	// --timeout 2s on a busy machine), so it has a deadline of its own.
	report := func() *EgressReport { return nil }
	var reportErr error
	if f.Egress == fleet.EgressAllowlist && !opts.Stack {
		rctx, cancel := pastDeadline(ctx, 10*time.Second)
		defer cancel()
		report = sync.OnceValue(func() *EgressReport {
			rep, err := egress(rctx, api, f, opts.Queue) // without it, each agent's own check or supervisor says
			reportErr = err
			return rep
		})
		go report()
	}
	// One inspect (and with live, or without a current report, one health exec) per
	// agent, all at once.
	out := make([]AgentStatus, len(items))
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range items {
		g.Go(func() error {
			s, err := agentStatus(gctx, api, f, c, report, opts.Live)
			out[i] = s
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Report{}, err
	}
	if opts.Stack {
		elsewhere, err := stackElsewhere(ctx, api, f.Project, seen)
		if err != nil {
			return Report{}, err
		}
		out = append(out, elsewhere...)
	}
	rep := report()
	if rep != nil {
		for i := range out {
			out[i].EgressDenied = rep.Counts[out[i].Agent]
			out[i].TakeUsage(rep.Usage)
		}
	}
	if opts.KeptVolumes {
		vols, err := api.VolumeList(ctx, mobyclient.VolumeListOptions{
			Filters: make(mobyclient.Filters).Add("label", fleet.ComposeProjectLabel+"="+f.Project),
		})
		if err != nil {
			return Report{}, err
		}
		for _, v := range vols.Items {
			agent, ok := strings.CutSuffix(v.Labels[fleet.ComposeVolumeLabel], "-config")
			if _, up := seen[agent]; !ok || up {
				continue
			}
			if _, err := fleet.AgentNumber(agent); err != nil {
				continue
			}
			out = append(out, AgentStatus{Agent: agent, ConfigVolume: v.Name, Retained: true, State: agentstate.Done})
		}
	}
	slices.SortFunc(out, func(a, b AgentStatus) int { return Order(a.Agent) - Order(b.Agent) })
	return Report{Agents: out, Egress: rep, EgressError: reportErr}, nil
}

// TakeUsage adds what the model gateway counted for the agent; an agent the gateway
// refuses is budget-exceeded, whatever its supervisor says (it does not know).
func (s *AgentStatus) TakeUsage(rep *modelusage.Report) {
	if rep == nil {
		return
	}
	a, ok := rep.Agents[s.Agent]
	if !ok {
		return
	}
	t := a.Total()
	s.Tokens, s.CostUSD, s.BudgetUSD = t.Tokens(), t.CostUSD, a.BudgetUSD
	if a.Exceeded && s.Running() {
		s.State, s.Detail = agentstate.BudgetExceeded, fmt.Sprintf("spent $%.2f", t.CostUSD)
	}
}

// Running says whether the agent's container runs, as docker ps without --all lists
// containers: running, paused or restarting.
func (s AgentStatus) Running() bool {
	switch s.ContainerState {
	case "running", "paused", "restarting":
		return true
	}
	return false
}

// pastDeadline is ctx with a deadline of d from now in place of its own: ended when ctx is
// cancelled, not when ctx's deadline passes.
func pastDeadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cancel()
		}
	})
	return c, func() { stop(); cancel() }
}

// recentCheck is how old the last health check's report may be to stand for now: checks
// run every 5 s (compose.HealthInterval).
const recentCheck = 12 * time.Second

// agentHealth is the agent's health: the report of its last health check (the supervisor's
// own JSON, kept by the engine) while that is recent, else — or with live — asked of its
// supervisor now; when it cannot be asked (the container is not running, or the exec
// fails) the last report stands, however old.
func agentHealth(ctx context.Context, api mobyclient.APIClient, id string, st *container.State, report func() *EgressReport, agent string, live bool) (agentstate.Health, bool) {
	h, ok := readAgentHealth(ctx, api, id, st, report, agent, live)
	termsafe.Value(&h) // the agent wrote it
	return h, ok
}

func readAgentHealth(ctx context.Context, api mobyclient.APIClient, id string, st *container.State, report func() *EgressReport, agent string, live bool) (agentstate.Health, bool) {
	// What the supervisor last told the egress proxy, while current.
	pushed := func() (agentstate.Health, bool) {
		started, err := time.Parse(time.RFC3339Nano, st.StartedAt)
		if err != nil || !st.Running {
			return agentstate.Health{}, false
		}
		return report().pushed(agent, started)
	}
	if !live {
		if h, ok := pushed(); ok {
			return h, true
		}
	}
	// The last health check's report, and when it ended.
	var last agentstate.Health
	var lastEnd time.Time
	haveLast := false
	if st.Health != nil {
		if n := len(st.Health.Log); n > 0 && json.Unmarshal([]byte(st.Health.Log[n-1].Output), &last) == nil && last.State != "" {
			haveLast, lastEnd = true, st.Health.Log[n-1].End
		}
	}
	// A report of starting is not kept: the agent is about to leave it, and with checks
	// every second while starting, the last one is often from just before it did.
	if !live && st.Running && haveLast && last.State != agentstate.Starting && time.Since(lastEnd) < recentCheck {
		return last, true
	}
	if st.Running {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // one stuck agent does not hang ps
		defer cancel()
		var h agentstate.Health
		if out, _, err := agentexec.Output(ctx, api, id, "/usr/local/bin/magents-supervisor", "health"); err == nil && json.Unmarshal(out, &h) == nil && h.State != "" {
			return h, true
		}
		// Asked live and it did not answer in time: its report to the proxy, when current,
		// is newer than its last health check (behind the proxy, minutes old).
		if live {
			if h, ok := pushed(); ok {
				return h, true
			}
		}
	}
	return last, haveLast
}

// agentContainers is one container per agent of project (agent → its index in the list):
// compose's, or of a stack, whose services keep their past tasks, the running task's or
// else the newest. The dev service is not an agent.
func agentContainers(list []container.Summary, project string) ([]container.Summary, map[string]int) {
	seen := map[string]int{}
	var items []container.Summary
	for _, c := range list {
		service := serviceOf(c, project)
		if service == fleet.DevService {
			continue
		}
		if i, ok := seen[service]; ok {
			if prev := items[i]; prev.State != container.StateRunning && (c.State == container.StateRunning || c.Created > prev.Created) {
				items[i] = c
			}
			continue
		}
		seen[service] = len(items)
		items = append(items, c)
	}
	return items, seen
}

// stackElsewhere is each agent of the stack with no container on this node (seen holds
// those with one): running on another node, or why Swarm runs no task of it.
func stackElsewhere(ctx context.Context, api mobyclient.APIClient, project string, seen map[string]int) ([]AgentStatus, error) {
	running, notes, err := swarmstack.AgentStates(ctx, api, project)
	if err != nil {
		return nil, err
	}
	var out []AgentStatus
	for agent, note := range notes {
		if _, here := seen[agent]; here {
			continue
		}
		if _, err := fleet.AgentNumber(agent); err != nil {
			continue // the gateway
		}
		s := AgentStatus{Agent: agent, ContainerState: note, State: agentstate.Starting, Detail: "Swarm's task: " + note}
		switch {
		case running[agent]:
			s.State, s.Detail = "", "runs on another node: its state is read there"
		case strings.HasPrefix(note, string(swarm.TaskStateRejected)) || strings.HasPrefix(note, string(swarm.TaskStateFailed)):
			s.State = agentstate.Failed
		}
		out = append(out, s)
	}
	return out, nil
}

// serviceOf is the agent (agent-N) whose container c is: its compose service, or its
// stack service without the stack's name.
func serviceOf(c container.Summary, project string) string {
	if s, ok := c.Labels["com.docker.swarm.service.name"]; ok {
		return strings.TrimPrefix(s, project+"_")
	}
	return c.Labels[fleet.ComposeServiceLabel]
}

func agentStatus(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet, c container.Summary, report func() *EgressReport, live bool) (AgentStatus, error) {
	service := serviceOf(c, f.Project)
	s := AgentStatus{Agent: service, ID: c.ID, Image: c.Image, ContainerState: string(c.State), ConfigVolume: f.Project + "_" + fleet.ConfigVolume(service)}
	if len(c.Names) > 0 {
		s.Container = strings.TrimPrefix(c.Names[0], "/")
	}
	// Behind the proxy, a running agent's current report to it is all there is to say: no
	// inspect (64 of them, right after up, took seconds on 2 cores). It must be newer than
	// the container; a report from before a restart of the same container is replaced
	// within moments of the restart, by the new supervisor's first.
	if !live && c.State == container.StateRunning {
		if h, ok := report().pushed(service, time.Unix(c.Created, 0)); ok {
			termsafe.Value(&h) // the agent wrote it
			s.take(h, true)
			if !h.StartedAt.IsZero() {
				s.StartedAt = h.StartedAt // the supervisor's start: the container's, near enough
				s.UptimeSeconds = int64(time.Since(h.StartedAt).Seconds())
			}
			s.since()
			return s, nil
		}
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
	if h, ok := agentHealth(ctx, api, c.ID, st, report, service, live); ok {
		s.take(h, st.Running)
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
	s.since()
	return s, nil
}

// take is the agent's status as its supervisor's health report says.
func (s *AgentStatus) take(h agentstate.Health, running bool) {
	if running && (h.Status == "healthy" || h.Status == "unhealthy") {
		// The same judgement as the engine's check, and as recent as the state: behind
		// the proxy the engine checks only every few minutes once started.
		s.Health = h.Status
	}
	s.State, s.Since, s.Detail = h.State, h.Since, h.Detail
	s.Restarts, s.Auth, s.AuthError = h.Restarts, h.Auth, h.AuthError
	s.OOMKills, s.Problems = h.OOMKills, h.Problems
	if s.Detail == "" && h.State == agentstate.AuthRejected {
		s.Detail = h.AuthError
	}
}

// since sets how long the state has held.
func (s *AgentStatus) since() {
	if !s.Since.IsZero() {
		s.StateSeconds = int64(time.Since(s.Since).Seconds())
	}
}

// Order sorts agents by number: agent-2 before agent-10; other names last.
func Order(name string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "agent-"))
	if err != nil {
		return 1 << 30
	}
	return n
}

// Source lists a fleet's agents where it runs (fleetruntime.Runtime's Agents): what Wait
// asks.
type Source func(ctx context.Context) ([]AgentStatus, error)

// Wait asks src until each of agents has reached target, calling reached for each agent as
// it does. It returns the agents that ended failed (as "agent-N is STATE"); when ctx ends
// first, its error, and the last state of each agent still pending ("" where it has no
// container yet).
func Wait(ctx context.Context, src Source, agents []string, target agentstate.Target,
	interval time.Duration, reached func(AgentStatus)) (failed []string, pending map[string]agentstate.State, err error) {
	pending = map[string]agentstate.State{}
	for _, a := range agents {
		pending[a] = ""
	}
	for {
		statuses, err := src(ctx)
		if err != nil && ctx.Err() == nil {
			return failed, pending, err
		}
		for _, s := range statuses {
			if _, ok := pending[s.Agent]; !ok {
				continue
			}
			pending[s.Agent] = s.State
			done, bad := target.Reached(s.State)
			if done {
				reached(s)
				delete(pending, s.Agent)
			}
			if bad {
				failed = append(failed, s.Agent+" is "+string(s.State))
			}
		}
		if len(pending) == 0 {
			return failed, nil, nil
		}
		select {
		case <-time.After(interval):
		case <-ctx.Done():
			return failed, pending, ctx.Err()
		}
	}
}
