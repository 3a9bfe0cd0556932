package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
	"github.com/docker-magents/docker-magents/internal/dashboard"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetqueue"
	"github.com/docker-magents/docker-magents/internal/fleetruntime"
	"github.com/docker-magents/docker-magents/internal/fleetruntime/kubernetes"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/fleetusage"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

type dashboardOptions struct {
	port     int
	open     bool
	interval time.Duration
	where    runtimeOptions
}

func dashboardCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts dashboardOptions
	cmd := &cobra.Command{
		Use:   "dashboard [OPTIONS]",
		Short: "Watch the fleet in a browser: each agent's state, what it waits for, its usage",
		Long: `Serve the fleet's dashboard on this machine's loopback until interrupted, and print its
address. The address carries a random token, which the first load trades for a cookie
(HttpOnly, SameSite=Strict) and drops from the address bar; without it, from another
host name (DNS rebinding) or, for anything that changes the fleet, from another page's
origin, the dashboard answers 403. What agents wrote is shown as text, under a
Content-Security-Policy that allows no inline script. The page needs nothing from the
network: everything it loads is embedded in the plugin.

Every open tab is fed by one reader of the fleet's state, which asks the engine once per
--interval while any tab is open.

With --swarm, the page shows the fleet deployed as a Swarm stack (docker magents deploy
swarm): its agents' tasks on this node, their terminals, the gateway's queue and usage.
With --k8s, the fleet deployed to Kubernetes (docker magents deploy k8s): its agents'
pods, their supervisors' health and their terminals through the cluster's exec, and the
gateway's queue and usage. Neither has branches on this machine to diff or merge.`,
		Example: `  docker magents dashboard
  docker magents dashboard --port 8088 --open
  docker magents dashboard --swarm
  docker magents dashboard --k8s --context prod --namespace agents`,
		Args: cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runDashboard(ctx, dockerCli, root, opts)
		}),
	}
	cmd.Flags().IntVar(&opts.port, "port", 0, "Port on 127.0.0.1 (0: any free one)")
	cmd.Flags().BoolVar(&opts.open, "open", false, "Open the dashboard in this machine's browser")
	cmd.Flags().DurationVar(&opts.interval, "interval", time.Second, "How often the fleet's state is read while a tab is open")
	opts.where.addFlags(cmd.Flags())
	return cmd
}

// fleetReport is what the dashboard shows of the fleet.
type fleetReport struct {
	Project string
	// Where the fleet runs: compose (docker magents up), swarm or kubernetes.
	Where  string
	Agents []fleetstatus.AgentStatus
	// The work queue, when the fleet has one, or why it could not be read.
	Queue      []QueueTask `json:",omitempty"`
	HasQueue   bool
	QueueError string `json:",omitempty"`
	// Branches: agents (and tasks) have branches to show and merge.
	Branches bool
	// Egress: the allowlist and the latest refusals, for a fleet behind the egress proxy.
	Egress      *dashboardEgress `json:",omitempty"`
	EgressError string           `json:",omitempty"`
}

// dashboardEgress is what the page shows of the egress proxy's report.
type dashboardEgress struct {
	Allow  []string
	Recent any // the latest refusals: time, agent, method, host
}

// dashboardQueue is what the page does to the fleet's work queue (dashboard.Queue).
type dashboardQueue struct {
	rt fleetruntime.Runtime
	f  *fleet.Fleet
}

func (q dashboardQueue) Add(ctx context.Context, prompt string) (any, error) {
	if len(prompt) > workqueue.MaxPrompt {
		return nil, fmt.Errorf("the task is longer than %d bytes", workqueue.MaxPrompt)
	}
	gw, err := q.rt.Gateway(ctx)
	if err != nil {
		return nil, err
	}
	return fleetqueue.Add(ctx, gw, q.f, []workqueue.NewTask{{Prompt: prompt}})
}

func (q dashboardQueue) Cancel(ctx context.Context, id string) (any, error) {
	gw, err := q.rt.Gateway(ctx)
	if err != nil {
		return nil, err
	}
	return fleetqueue.Cancel(ctx, gw, q.f, id)
}

func (q dashboardQueue) Retry(ctx context.Context, id string) (any, error) {
	gw, err := q.rt.Gateway(ctx)
	if err != nil {
		return nil, err
	}
	return fleetqueue.Retry(ctx, gw, q.f, id)
}

// runtimeTerminal opens an agent's tmux session where the fleet runs, as docker magents
// attach does.
type runtimeTerminal struct{ rt fleetruntime.Runtime }

func (t runtimeTerminal) Attach(ctx context.Context, agent string, readonly bool) (dashboard.TerminalSession, error) {
	return t.rt.Attach(ctx, agent, readonly) // it outlives the request: the page keeps it
}

// dashboardWork is an agent's or a task's branch as the page shows and merges it
// (dashboard.Work): what docker magents diff and merge do, with their rules and refusals.
type dashboardWork struct {
	dockerCli command.Cli
	root      *rootOptions
}

func (w dashboardWork) Diff(ctx context.Context, who string) (string, error) {
	repo, name, err := agentRepo(ctx, w.dockerCli, w.root, who)
	if err != nil {
		return "", err
	}
	return repo.Diff(name, false)
}

func (w dashboardWork) Merge(ctx context.Context, who string) (string, error) {
	repo, name, err := agentRepo(ctx, w.dockerCli, w.root, who)
	if err != nil {
		return "", err
	}
	out, err := repo.Merge(name, workspace.MergeOptions{})
	if err != nil {
		return "", err
	}
	return out + "\nMerged " + workspace.Branch(name) + ".", nil
}

// dashboardSource is a fleet as the dashboard reads it and what the page may do to it,
// wherever it runs.
type dashboardSource struct {
	read    func(context.Context) (fleetReport, error)
	options dashboard.Options
}

// composeSource is the fleet of docker magents up: its containers, read through the
// engine with the egress proxy's report (one exec for the agents' pushed health, the
// egress log, the usage and the queue), and with branches their diffs and merges.
func composeSource(dockerCli command.Cli, root *rootOptions, f *fleet.Fleet, rt fleetruntime.Runtime) dashboardSource {
	api := dockerCli.Client()
	hasQueue := fleetqueue.NoQueue(f) == nil
	var src dashboardSource
	src.options.Terminal = runtimeTerminal{rt: rt}
	if hasQueue {
		src.options.Queue = dashboardQueue{rt: rt, f: f}
	}
	if f.Isolation == workspace.Clone || f.Isolation == workspace.Worktree {
		src.options.Work = dashboardWork{dockerCli: dockerCli, root: root}
	}
	src.read = func(ctx context.Context) (fleetReport, error) {
		status, err := fleetstatus.Read(ctx, api, f, fleetstatus.Options{Queue: hasQueue})
		if err != nil {
			return fleetReport{}, err
		}
		var queue []workqueue.Task
		var queueErr error
		if eg := status.Egress; eg != nil && eg.Queue != nil {
			queue = *eg.Queue
		} else if hasQueue {
			// A proxy whose supervisor predates --queue, or that did not answer.
			if gw, err := rt.Gateway(ctx); err != nil {
				queueErr = err
			} else {
				queue, queueErr = fleetqueue.List(ctx, gw, f)
			}
		}
		rep := fleetReport{Project: f.Project, Where: rt.Where(), Agents: status.Agents, HasQueue: hasQueue, Branches: src.options.Work != nil}
		if hasQueue {
			var usage *modelusage.Report
			if status.Egress != nil {
				usage = status.Egress.Usage // the proxy's report carries the gateway's usage
			}
			rep.setQueue(queue, queueErr, usage)
		}
		if f.Egress == fleet.EgressAllowlist {
			if eg := status.Egress; eg == nil {
				rep.EgressError = status.EgressError.Error()
			} else {
				recent := eg.Recent
				if len(recent) > 50 {
					recent = recent[len(recent)-50:]
				}
				rep.Egress = &dashboardEgress{Allow: eg.Allow, Recent: recent}
			}
		}
		return rep, nil
	}
	return src
}

// gatewaySource is a deployed fleet (a Swarm stack's, a cluster's): its agents as the
// runtime reads them, and its gateway's queue and usage, read alongside. Neither has
// branches on this machine to diff or merge.
func gatewaySource(f *fleet.Fleet, rt fleetruntime.Runtime) dashboardSource {
	src := dashboardSource{options: dashboard.Options{Terminal: runtimeTerminal{rt: rt}, Queue: dashboardQueue{rt: rt, f: f}}}
	src.read = func(ctx context.Context) (fleetReport, error) {
		var queue []workqueue.Task
		var usage *modelusage.Report
		var queueErr error
		gatewayRead := make(chan struct{})
		go func() {
			defer close(gatewayRead)
			gw, err := rt.Gateway(ctx)
			if err != nil {
				queueErr = err
				return
			}
			if queue, queueErr = fleetqueue.List(ctx, gw, f); queueErr == nil {
				usage, _ = fleetusage.Report(ctx, gw, f) // without a model gateway, no costs
			}
		}()
		statuses, err := rt.Agents(ctx)
		<-gatewayRead
		if err != nil {
			return fleetReport{}, err
		}
		for i := range statuses {
			statuses[i].TakeUsage(usage)
		}
		rep := fleetReport{Project: f.Project, Where: rt.Where(), Agents: statuses, HasQueue: true}
		rep.setQueue(queue, queueErr, usage)
		return rep, nil
	}
	return src
}

// setQueue puts the queue's tasks in the report, with what each cost when usage is known,
// or why the queue could not be read.
func (rep *fleetReport) setQueue(queue []workqueue.Task, err error, usage *modelusage.Report) {
	if err != nil {
		rep.QueueError = err.Error()
	}
	rep.Queue = taskRows(queue, usage, time.Now())
}

func runDashboard(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts dashboardOptions) error {
	if opts.port < 0 || opts.port > 65535 {
		return fmt.Errorf("invalid --port %d: give 0 (any free port) to 65535", opts.port)
	}
	if opts.interval < 100*time.Millisecond {
		return fmt.Errorf("invalid --interval %s: give 100ms or more", opts.interval)
	}
	f, rt, err := opts.where.open(dockerCli, root, fleetstatus.Options{})
	if err != nil {
		return err
	}
	if k, ok := rt.(*kubernetes.Runtime); ok {
		k.GatewayWait = time.Second // checked at once; not ready: the page says why
	}
	var src dashboardSource
	if opts.where.deployed() {
		src = gatewaySource(f, rt)
	} else {
		src = composeSource(dockerCli, root, f, rt)
	}
	token, err := dashboard.NewToken()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.port)))
	if err != nil {
		return fmt.Errorf("listening on 127.0.0.1:%d: %w (give another --port, or 0)", opts.port, err)
	}
	hub := dashboard.NewHub(func(ctx context.Context) (any, error) { return src.read(ctx) }, opts.interval)
	do := src.options
	srv := &http.Server{Handler: dashboard.New(ln.Addr(), token, hub, do), ReadHeaderTimeout: 10 * time.Second}
	url := dashboard.URL(ln.Addr(), token)
	fmt.Fprintf(dockerCli.Out(), "Dashboard of %s: %s\n(the address works in one browser; interrupt to stop)\n", f.Project, url)
	if opts.open {
		if err := openBrowser(url); err != nil {
			fmt.Fprintf(dockerCli.Err(), "Could not open a browser (%v): open the address above\n", err)
		}
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openBrowser opens url with the desktop's own opener.
func openBrowser(url string) error {
	name, args := "xdg-open", []string{url}
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler", url}
	}
	return exec.Command(name, args...).Start()
}
