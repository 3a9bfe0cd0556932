// Command magents-supervisor is the entrypoint of every docker-magents container: each
// agent's (package agent: Claude Code in a detached tmux session named "claude", kept
// running and reported on) and, with `proxy`, the fleet's proxy container's (package
// proxy: the egress proxy, model gateway, git relay and work queue). This package is only
// its commands' dispatch. It imports only the standard library so that a Dockerfile stage
// can build it with nothing but a Go toolchain and no network.
//
//	magents-supervisor            supervise the agent (the default; the image's entrypoint)
//	magents-supervisor health     print the health JSON; exit 1 when unhealthy (HEALTHCHECK)
//	magents-supervisor agent      prepare and exec the agent command (what tmux runs)
//	magents-supervisor CMD ARG…   prepare, then exec CMD (e.g. docker run IMAGE claude --version)
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/docker-magents/docker-magents/images/supervisor/agent"
	"github.com/docker-magents/docker-magents/images/supervisor/gateway"
	"github.com/docker-magents/docker-magents/images/supervisor/gitcredential"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
	"github.com/docker-magents/docker-magents/images/supervisor/proxy"
)

// version is set with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	cfg := agent.ConfigFromEnv()
	args := os.Args[1:]
	if len(args) == 0 {
		os.Exit(supervise(cfg))
	}
	switch args[0] {
	case "run", "supervise":
		os.Exit(supervise(cfg))
	case "health":
		os.Exit(agent.Health(cfg, os.Stdout))
	case "auth":
		os.Exit(agent.AuthInfo(os.Stdout))
	case "restart":
		os.Exit(agent.RequestRestart(cfg))
	case "task":
		os.Exit(agent.GiveTask(cfg, args[1:]))
	case "result":
		os.Exit(agent.PrintResult(cfg))
	case "proxy":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		os.Exit(proxy.Run(ctx))
	case "proxy-denied":
		os.Exit(proxy.Denied(os.Args[2:], os.Stdout))
	case "usage":
		os.Exit(proxy.Ask(http.MethodGet, "/magents/usage", nil, os.Stdout))
	case "budget":
		os.Exit(proxy.Ask(http.MethodPost, "/magents/budget", os.Stdin, os.Stdout))
	case "queue":
		os.Exit(proxy.Queue(args[1:]))
	case "doctor":
		os.Exit(agent.Doctor(cfg, os.Stdout))
	case "config":
		switch {
		case len(args) > 1 && args[1] == "apply":
			os.Exit(agent.ConfigApply(cfg, os.Stdin, os.Stdout))
		case len(args) > 1 && args[1] == "show":
			os.Exit(agent.ConfigShow(cfg, os.Stdout))
		}
		fmt.Fprint(os.Stderr, "usage: magents-supervisor config apply|show\n")
		os.Exit(2)
	case "git-credential":
		os.Exit(gitcredential.Run(args[1:], os.Stdin, os.Stdout))
	case "git-pre-receive":
		os.Exit(gateway.PreReceive(os.Stdin, os.Stderr))
	case "hook":
		os.Exit(agent.RecordHook(cfg, args[1:], os.Stdin))
	case "agent":
		agent.Exec(cfg, args[1:])
	case "version", "--version":
		fmt.Println("magents-supervisor", version)
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		agent.Exec(cfg, args)
	}
}

const usage = `Usage: magents-supervisor [COMMAND]

Commands:
  (none), run   supervise the agent in tmux session "claude" (the image's entrypoint)
  health        print the agent's health as JSON; exit 1 when unhealthy
  auth          print the auth method and the credential's fingerprint (never its value)
  restart       restart Claude now (a new credential is read), keeping the container
  task TEXT     type a task into Claude's prompt once it is ready
  result        print the finished headless run's result (JSON)
  doctor        check the agent from inside (claude, tmux, writable dirs, credential, env) as JSON
  proxy         run the fleet's egress proxy (MAGENTS_EGRESS_ALLOW, MAGENTS_PROXY_ADDR)
  proxy-denied  print the running egress proxy's denials (JSON); --queue: with the work queue
  usage         print the running model gateway's account (JSON)
  budget        set the running model gateway's budgets (JSON on stdin); print its account
  queue ls|add|cancel ID|retry ID
                the running dispatcher's work queue (JSON; add reads a JSON list of tasks on stdin)
  config show   print the fleet's shared config as this agent has it (JSON; env and headers redacted)
  config apply  stage and place a shared config set given as JSON on stdin (docker magents config sync)
  git-credential get|store|erase
                git's credential helper: an agent's token for the fleet's git relay, the gateway's
                credentials for the remotes; writes nothing
  git-pre-receive
                the git relay's pre-receive hook: the push rules, then the push to the remote
  hook EVENT    record a Claude Code hook event (JSON on stdin); Claude runs it
  agent [CMD]   prepare Claude's config dir and credentials, then exec CMD (default $MAGENTS_AGENT_CMD)
  version       print the supervisor's version
  CMD [ARG...]  any other command is run like "agent CMD ARG..."
`

func supervise(cfg agent.Config) int {
	// One P: the supervisor mostly sleeps between looks, and with more, each wake-up also
	// woke idle threads to look for work; with 64 agents that was a share of a core.
	runtime.GOMAXPROCS(1)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	if err := agent.Supervise(ctx, cfg); err != nil {
		logs.Printf("%v", err)
		return 1
	}
	return 0
}
