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
	mobyclient "github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
	"github.com/docker-magents/docker-magents/internal/dashboard"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
	"github.com/docker-magents/docker-magents/internal/fleetqueue"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/fleetusage"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

type dashboardOptions struct {
	port     int
	open     bool
	interval time.Duration
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
--interval while any tab is open.`,
		Example: `  docker magents dashboard
  docker magents dashboard --port 8088 --open`,
		Args: cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runDashboard(ctx, dockerCli, root, opts)
		}),
	}
	cmd.Flags().IntVar(&opts.port, "port", 0, "Port on 127.0.0.1 (0: any free one)")
	cmd.Flags().BoolVar(&opts.open, "open", false, "Open the dashboard in this machine's browser")
	cmd.Flags().DurationVar(&opts.interval, "interval", time.Second, "How often the fleet's state is read while a tab is open")
	return cmd
}

// fleetReport is what the dashboard shows of the fleet.
type fleetReport struct {
	Project string
	Agents  []fleetstatus.AgentStatus
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
	dockerCli command.Cli
	f         *fleet.Fleet
}

func (q dashboardQueue) Add(ctx context.Context, prompt string) (any, error) {
	if len(prompt) > workqueue.MaxPrompt {
		return nil, fmt.Errorf("the task is longer than %d bytes", workqueue.MaxPrompt)
	}
	added, err := fleetqueue.Add(ctx, fleetgateway.Find(ctx, q.dockerCli.Client(), q.f), q.f, []workqueue.NewTask{{Prompt: prompt}})
	return added, err
}

func (q dashboardQueue) Cancel(ctx context.Context, id string) (any, error) {
	return fleetqueue.Cancel(ctx, fleetgateway.Find(ctx, q.dockerCli.Client(), q.f), q.f, id)
}

func (q dashboardQueue) Retry(ctx context.Context, id string) (any, error) {
	return fleetqueue.Retry(ctx, fleetgateway.Find(ctx, q.dockerCli.Client(), q.f), q.f, id)
}

// dashboardTerminal opens an agent's tmux session through the engine's exec API, as
// docker magents attach does through docker exec: tmux attach-session -t claude, read-only
// (-r) when asked.
type dashboardTerminal struct {
	api mobyclient.APIClient
	f   *fleet.Fleet
}

func (t dashboardTerminal) Attach(ctx context.Context, agent string, readonly bool) (dashboard.TerminalSession, error) {
	n, err := fleet.AgentNumber(agent)
	if err != nil {
		return nil, err
	}
	cmd := []string{"tmux", "attach-session", "-t", "claude"}
	if readonly {
		cmd = append(cmd, "-r")
	}
	exec, err := t.api.ExecCreate(ctx, t.f.ContainerName(fleet.AgentName(n)), mobyclient.ExecCreateOptions{
		Cmd: cmd, TTY: true, AttachStdin: true, AttachStdout: true, AttachStderr: true, Env: []string{"TERM=xterm-256color"},
	})
	if err != nil {
		return nil, err
	}
	// Not the request's context: the session lives as long as the page keeps it.
	att, err := t.api.ExecAttach(context.WithoutCancel(ctx), exec.ID, mobyclient.ExecAttachOptions{TTY: true})
	if err != nil {
		return nil, err
	}
	return &execSession{api: t.api, id: exec.ID, att: att}, nil
}

// execSession is an exec's terminal: its output, its input, its size.
type execSession struct {
	api mobyclient.APIClient
	id  string
	att mobyclient.ExecAttachResult
}

func (s *execSession) Read(p []byte) (int, error)  { return s.att.Reader.Read(p) }
func (s *execSession) Write(p []byte) (int, error) { return s.att.Conn.Write(p) }
func (s *execSession) Close() error                { s.att.Close(); return nil }

func (s *execSession) Resize(ctx context.Context, cols, rows uint) error {
	_, err := s.api.ExecResize(ctx, s.id, mobyclient.ExecResizeOptions{Width: cols, Height: rows})
	return err
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
	out, err := repo.Merge(name, "")
	if err != nil {
		return "", err
	}
	return out + "\nMerged " + workspace.Branch(name) + ".", nil
}

func runDashboard(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts dashboardOptions) error {
	if opts.port < 0 || opts.port > 65535 {
		return fmt.Errorf("invalid --port %d: give 0 (any free port) to 65535", opts.port)
	}
	if opts.interval < 100*time.Millisecond {
		return fmt.Errorf("invalid --interval %s: give 100ms or more", opts.interval)
	}
	f, err := root.loadFleet()
	if err != nil {
		return err
	}
	token, err := dashboard.NewToken()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.port)))
	if err != nil {
		return fmt.Errorf("listening on 127.0.0.1:%d: %w (give another --port, or 0)", opts.port, err)
	}
	hasQueue := fleetqueue.NoQueue(f) == nil
	var do dashboard.Options
	if hasQueue {
		do.Queue = dashboardQueue{dockerCli: dockerCli, f: f}
	}
	if f.Isolation == workspace.Clone || f.Isolation == workspace.Worktree {
		do.Work = dashboardWork{dockerCli: dockerCli, root: root}
	}
	do.Terminal = dashboardTerminal{api: dockerCli.Client(), f: f}
	hub := dashboard.NewHub(func(ctx context.Context) (any, error) {
		// One read of the engine and the egress proxy for the agents and the egress log,
		// and alongside it one of the queue.
		var queue []workqueue.Task
		var queueErr error
		queueRead := make(chan struct{})
		go func() {
			defer close(queueRead)
			if hasQueue {
				queue, queueErr = fleetqueue.List(ctx, fleetgateway.Find(ctx, dockerCli.Client(), f), f)
			}
		}()
		status, err := fleetstatus.Read(ctx, dockerCli.Client(), f, fleetstatus.Options{})
		<-queueRead
		if err != nil {
			return nil, err
		}
		rep := fleetReport{Project: f.Project, Agents: status.Agents, HasQueue: hasQueue, Branches: do.Work != nil}
		if hasQueue {
			if queueErr != nil {
				rep.QueueError = queueErr.Error()
			}
			// What each task cost: the proxy's report carries the gateway's usage; a
			// stack's gateway is asked.
			var usage *modelusage.Report
			if status.Egress != nil {
				usage = status.Egress.Usage
			} else {
				usage, _ = fleetusage.Report(ctx, fleetgateway.Find(ctx, dockerCli.Client(), f), f)
			}
			rep.Queue = taskRows(queue, usage, time.Now())
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
	}, opts.interval)
	srv := &http.Server{Handler: dashboard.New(ln.Addr(), token, hub, do), ReadHeaderTimeout: 10 * time.Second}
	url := dashboard.URL(ln.Addr(), token)
	fmt.Fprintf(dockerCli.Out(), "Dashboard of %s: %s\n(interrupt to stop)\n", f.Project, url)
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
