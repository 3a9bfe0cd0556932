//go:build e2e

package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"gotest.tools/v3/icmd"
)

// deploy swarm --apply on a single-node swarm of the test engine: every agent's task runs
// healthy, attach --swarm reaches Claude in its tmux session, a smaller deploy scales down,
// and docker stack rm keeps the volumes.
func TestDeploySwarm(t *testing.T) {
	e := newFleetEnv(t, "swarm")
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
		deadline := time.Now().Add(30 * time.Second)
		for docker("ps", "-aq", "--filter", "label=com.docker.stack.namespace=swarme2e").Stdout() != "" && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
		}
		for _, v := range []string{"agent-1-config", "agent-1-work", "agent-2-config", "agent-2-work", "agent-3-config", "agent-3-work"} {
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
	if strings.TrimSpace(services) != "swarme2e_agent-1" {
		t.Errorf("after scaling to 1, services: %s", services)
	}
	docker("stack", "rm", "swarme2e").Assert(t, icmd.Success)
	docker("volume", "inspect", "swarme2e_agent-1-config").Assert(t, icmd.Success)
	docker("volume", "inspect", "swarme2e_agent-3-config").Assert(t, icmd.Success)

	// Bad input writes nothing.
	mg("deploy", "swarm", "--agents", "0", "-o", filepath.Join(e.dir, "bad")).Assert(t, icmd.Expected{ExitCode: 1, Err: "invalid number of agents"})
	if _, err := os.Stat(filepath.Join(e.dir, "bad")); err == nil {
		t.Error("a failed deploy wrote its output directory")
	}
}
