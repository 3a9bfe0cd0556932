//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/docker-magents/docker-magents/internal/anthropictest"
	"gotest.tools/v3/icmd"
)

// deploy swarm --apply on a single-node swarm of the test engine: every agent's task runs
// healthy, attach --swarm reaches Claude in its tmux session, a smaller deploy scales down,
// and docker stack rm keeps the volumes.
func TestDeploySwarm(t *testing.T) {
	everyEngine(t, "Swarm mode is the engine's")
	nonce := fmt.Sprint(time.Now().UnixNano())
	e := newFleetEnvWith(t, nonce, func(r anthropictest.Request) anthropictest.Reply {
		if r.HasTools() && r.Mentions("swarm item #1#") {
			return anthropictest.Reply{Text: "swarm result " + nonce}
		}
		if !r.HasTools() {
			return anthropictest.Reply{Text: "Test title"}
		}
		return anthropictest.Reply{Text: "The Messages API test double heard you."}
	})
	if strings.TrimSpace(docker("info", "--format", "{{.Swarm.LocalNodeState}}").Stdout()) != "active" {
		docker("swarm", "init", "--advertise-addr", "127.0.0.1").Assert(t, icmd.Success)
		t.Cleanup(func() { docker("swarm", "leave", "--force") })
	}
	mg := func(args ...string) *icmd.Result { return e.magents(append([]string{"-p", "swarme2e"}, args...)...) }
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stack ps:\n%s", docker("stack", "ps", "--no-trunc", "swarme2e").Combined())
		}
		docker("stack", "rm", "swarme2e")
		// Not a waitFor: cleaning up, the test waits at most this long for the stack's
		// containers to go, so that their volumes can, and fails on neither.
		deadline := time.Now().Add(30 * time.Second)
		for docker("ps", "-aq", "--filter", "label=com.docker.stack.namespace=swarme2e").Stdout() != "" && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
		}
		for _, v := range []string{"agent-1-config", "agent-1-work", "agent-2-config", "agent-2-work", "agent-3-config", "agent-3-work", "gateway-state"} {
			docker("volume", "rm", "swarme2e_"+v)
		}
	})

	// The fleet up saved, with a shared CLAUDE.md: the stack carries it as a Swarm config.
	rule := "SWARMRULE" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", "")
	claudeMD := filepath.Join(t.TempDir(), "CLAUDE.md")
	if err := os.WriteFile(claudeMD, []byte(rule+": the team's rules.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mg("up", "--no-build", "--agents", "1", "--egress", "open", "--claude-md", claudeMD).Assert(t, icmd.Success)
	mg("down").Assert(t, icmd.Success)
	// Its agent ran as the workspace's owner: the stack's, which run as the image's user,
	// could not read its config volume, and are refused it.
	mg("deploy", "swarm", "--apply", "--agents", "3").Assert(t, icmd.Expected{ExitCode: 1, Err: "swarme2e_agent-1-config, made by docker magents up for agents that run as 1001:1001"})
	mg("down", "--volumes").Assert(t, icmd.Success)

	// The rendered file is what docker stack deploy reads; -o writes it.
	out := filepath.Join(e.dir, "deploy")
	mg("deploy", "swarm", "--agents", "3", "-o", out).Assert(t, icmd.Success)
	stack := readFile(filepath.Join(out, "docker-stack.claude.yml"))
	if strings.Contains(stack, e.apiKey) || strings.Contains(stack, "container_name") || !strings.Contains(stack, `version: "3.9"`) {
		t.Fatalf("stack file:\n%s", stack)
	}
	docker("stack", "config", "-c", filepath.Join(out, "docker-stack.claude.yml")).Assert(t, icmd.Success)

	mg("deploy", "swarm", "--apply", "--agents", "3").Assert(t, icmd.Expected{Err: "3 agent(s) running and healthy"})
	for _, agent := range []string{"agent-1", "agent-2", "agent-3"} {
		res := docker("service", "inspect", "-f", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}", "swarme2e_"+agent)
		res.Assert(t, icmd.Success)
		if !strings.Contains(res.Stdout(), `"AGENT_ID=`+strings.TrimPrefix(agent, "agent-")+`"`) {
			t.Errorf("%s env: %s", agent, res.Stdout())
		}
		if strings.Contains(res.Stdout(), e.apiKey) {
			t.Errorf("the credential shows in docker service inspect %s", agent)
		}
	}

	// The fleet's gateway holds the API key; each agent has a token of its own in its place,
	// in its environment, its files and its processes.
	if res := docker("service", "inspect", "-f", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}", "swarme2e_gateway"); strings.Contains(res.Stdout(), e.apiKey) ||
		!strings.Contains(res.Stdout(), "ANTHROPIC_API_KEY_FILE=") {
		t.Errorf("the gateway's env: %s", res.Combined())
	}
	for _, agent := range []string{"agent-1", "agent-2", "agent-3"} {
		c := strings.TrimSpace(docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=swarme2e_"+agent).Stdout())
		seen := docker("exec", c, "sh", "-c", "cat /proc/[0-9]*/environ /run/secrets/* 2>/dev/null; true").Stdout()
		if strings.Contains(seen, e.apiKey) || !strings.Contains(seen, "magents-gw-") {
			t.Errorf("%s holds the API key, or no token of its own", agent)
		}
	}
	// A queued task goes to an idle agent, which reaches the dispatcher over the stack's
	// network, and ends with Claude's answer; the gateway counted it for the task.
	mg("queue", "add", "Write down swarm item #1#.").Assert(t, icmd.Expected{Out: "task-1 queued"})
	type queued struct{ ID, State, Result, AssignedTo, Error string }
	var list []queued
	waitFor(t, 3*time.Minute, "the stack's queue to run task-1", func() (bool, string) {
		out := mg("queue", "ls", "--format", "json").Stdout()
		list = jsonLines[queued](t, out)
		if len(list) == 1 && list[0].State == "done" {
			return true, out
		}
		return false, out + "\nthe gateway's last logs:\n" + docker("service", "logs", "--tail", "40", "swarme2e_gateway").Combined()
	})
	if !strings.Contains(list[0].Result, "swarm result "+nonce) || list[0].AssignedTo == "" {
		t.Errorf("task-1: %+v", list[0])
	}
	type usageRow struct {
		Task     string
		Requests int
	}
	rows := jsonLines[usageRow](t, mg("usage", "--by", "task", "--format", "json").Stdout())
	if len(rows) == 0 || rows[0].Task != "task-1" || rows[0].Requests == 0 {
		t.Errorf("usage --by task: %+v", rows)
	}
	// The stack in the dashboard: each agent's task with its supervisor's state, what the
	// gateway counted, the gateway's queue, and an agent's terminal through its task.
	dash := startDashboard(t, e.dir, nil, "swarme2e", "--swarm")
	rep := dash.waitFleet(t, time.Minute, func(r dashboardReport) bool {
		idle, tokens := 0, 0
		for _, a := range r.Report.Agents {
			if a.State == "idle" {
				idle++
			}
			tokens += a.Tokens
		}
		return idle == 3 && tokens > 0 && len(r.Report.Queue) == 1 && r.Report.Queue[0].State == "done"
	}, func() string {
		var b strings.Builder
		for _, agent := range []string{"agent-1", "agent-2", "agent-3"} {
			c := strings.TrimSpace(docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=swarme2e_"+agent).Stdout())
			fmt.Fprintf(&b, "%s: %s\n%s\n", agent, docker("exec", c, "/usr/local/bin/magents-supervisor", "health").Stdout(),
				docker("exec", c, "tmux", "capture-pane", "-p", "-t", "claude").Stdout())
		}
		return b.String()
	})
	if rep.Report.Where != "swarm" || !rep.Report.HasQueue || rep.Report.Branches || rep.Error != "" {
		t.Errorf("the stack's dashboard: %+v", rep)
	}
	dash.terminal(t, "agent-1", "", "❯", time.Minute) // Claude's prompt
	// ps and wait read the stack's agents as the dashboard does.
	mg("wait", "--swarm", "--for", "idle", "--timeout", "60s").Assert(t, icmd.Expected{Out: "agent-3	idle"})
	if ps := mg("ps", "--swarm", "--format", "{{.Agent}}={{.State}}").Stdout(); ps != "agent-1=idle\nagent-2=idle\nagent-3=idle\n" {
		t.Errorf("ps --swarm:\n%s", ps)
	}
	// logs reads the agent's service and its session, as for compose.
	mg("logs", "--swarm", "--tail", "all", "agent-2").Assert(t, icmd.Expected{Err: "session claude started"}) // the supervisor's errors
	if out := mg("logs", "--swarm", "agent-2").Stdout(); !strings.Contains(out, "── agent-2: session claude") || !strings.Contains(out, "Claude Code") {
		t.Errorf("logs --swarm shows no session:\n%s", out)
	}

	// Upstream, the double saw the real key, never an agent's token.
	relayed := 0
	for _, r := range e.api.Requests() {
		if strings.HasPrefix(r.Bearer, "magents-gw-") || strings.HasPrefix(r.APIKey, "magents-gw-") {
			t.Errorf("an agent's token reached the API: %s %s", r.Method, r.Path)
		}
		if r.APIKey == e.apiKey && r.Body.Model != "" {
			relayed++
		}
	}
	if relayed == 0 {
		t.Error("no request reached the double with the fleet's API key")
	}

	// Each task's supervisor placed the shared CLAUDE.md from its Swarm config.
	task := strings.TrimSpace(docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name=swarme2e_agent-2").Stdout())
	docker("exec", task, "grep", "-qF", rule, "/home/magents/.claude/CLAUDE.md").Assert(t, icmd.Success)

	cmd := exec.Command("docker", "magents", "-p", "swarme2e", "attach", "--swarm", "agent-1")
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "ANTHROPIC_API_KEY="+e.apiKey)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 150})
	if err != nil {
		t.Fatal(err)
	}
	screen := &syncBuffer{}
	go func() { _, _ = io.Copy(screen, tty) }()
	waitOutput(t, screen, "Claude Code v"+claudeVersion, 60*time.Second)
	_, _ = tty.Write([]byte{0x02, 'd'}) // C-b d: detach, the agent keeps running
	_ = cmd.Wait()
	tty.Close()

	mg("deploy", "swarm", "--apply", "--agents", "1").Assert(t, icmd.Expected{Err: "1 agent(s) running and healthy"})
	services := docker("stack", "services", "--format", "{{.Name}}", "swarme2e").Stdout()
	if strings.Join(strings.Fields(services), " ") != "swarme2e_agent-1 swarme2e_gateway" {
		t.Errorf("after scaling to 1, services: %s", services)
	}
	docker("stack", "rm", "swarme2e").Assert(t, icmd.Success)
	docker("volume", "inspect", "swarme2e_agent-1-config").Assert(t, icmd.Success)
	docker("volume", "inspect", "swarme2e_agent-3-config").Assert(t, icmd.Success)
	docker("volume", "inspect", "swarme2e_gateway-state").Assert(t, icmd.Success)

	// Bad input writes nothing.
	mg("deploy", "swarm", "--agents", "0", "-o", filepath.Join(e.dir, "bad")).Assert(t, icmd.Expected{ExitCode: 1, Err: "invalid number of agents"})
	if _, err := os.Stat(filepath.Join(e.dir, "bad")); err == nil {
		t.Error("a failed deploy wrote its output directory")
	}
}
