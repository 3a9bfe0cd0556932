//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/internal/manifest"
	"gotest.tools/v3/icmd"
	corev1 "k8s.io/api/core/v1"

	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/internal/anthropictest"
)

// A canary credential reaches Claude in every agent, and nowhere else: not in docker
// inspect, the compose file, the image history, any log, ps or auth status, or any file
// outside .magents/secrets/. auth rotate swaps it without recreating the containers; a
// credential the API refuses turns the agents to auth-rejected.
func TestAuthCanaryNeverLeaks(t *testing.T) {
	everyEngine(t, "what the engine shows of a container: inspect, logs, processes")
	parallelSuite(t)
	nonce := fmt.Sprint(time.Now().UnixNano())
	canary := "sk-ant-api03-CANARY-" + nonce
	rotated := "sk-ant-api03-ROTATED-" + nonce
	refused := "sk-ant-api03-REFUSED-" + nonce
	var reject atomic.Bool
	e := newFleetEnvWith(t, nonce, func(r anthropictest.Request) anthropictest.Reply {
		if reject.Load() && r.APIKey == refused {
			return anthropictest.Reply{Status: 401, Error: "authentication_error"}
		}
		if !r.HasTools() {
			return anthropictest.Reply{Text: "Test title"}
		}
		return anthropictest.Reply{Text: "heard: " + r.LastUserText()}
	})
	e.apiKey = canary
	project := "authe2e"
	mg := func(env []string, args ...string) *icmd.Result {
		res := dockerIn(e.dir, env, append([]string{"magents", "-p", project}, args...)...)
		for _, secret := range []string{canary, rotated, refused} {
			if strings.Contains(res.Combined(), secret) {
				t.Errorf("docker magents %v printed a credential", args)
			}
		}
		return res
	}
	t.Cleanup(func() { mg(nil, "down", "--volumes") })

	mg([]string{"ANTHROPIC_API_KEY=" + canary}, "up", "--agents", "2", "--auth-check").Assert(t, icmd.Success)
	agents := []string{project + "-agent-1", project + "-agent-2"}

	// A prompt typed into each agent reaches the API carrying exactly the canary.
	for _, c := range agents {
		waitPrompt(t, c)
		docker("exec", c, "tmux", "send-keys", "-t", "claude", "ping from "+c, "Enter").Assert(t, icmd.Success)
	}
	waitRequests(t, e.api, func(rs []anthropictest.Request) bool {
		seen := 0
		for _, c := range agents {
			for _, r := range rs {
				if r.HasTools() && strings.Contains(r.LastUserText(), "ping from "+c) && r.APIKey == canary {
					seen++
					break
				}
			}
		}
		return seen == len(agents)
	})
	for _, r := range e.api.Requests() {
		if r.Path == "/v1/messages" && r.APIKey != canary {
			t.Errorf("a request carried another credential (%d bytes)", len(r.APIKey))
		}
	}

	// Where the canary must not be.
	places := map[string]string{}
	for _, c := range agents {
		// Behind the model gateway an agent never holds the credential: not in Claude's
		// environment, not in any file it can read.
		places["the environment of the processes of "+c] = docker("exec", c, "sh", "-c", "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'").Combined()
		places["the files of "+c] = docker("exec", c, "sh", "-c", "grep -rlsF -- \"$0\" /home /run /tmp /workspace /etc /magents 2>/dev/null | sed \"s|^|$0 in |\"; true", canary).Combined()
		places["docker inspect "+c] = docker("inspect", c).Combined()
		places["docker logs "+c] = docker("logs", c).Combined()
		places["health log of "+c] = docker("inspect", "-f", "{{json .State.Health}}", c).Combined()
	}
	proxy := project + "-" + "egress-proxy"
	places["docker inspect "+proxy] = docker("inspect", proxy).Combined()
	places["docker logs "+proxy] = docker("logs", proxy).Combined()
	places["docker history"] = docker("history", "--no-trunc", images.Repository+":latest").Combined()
	places["docker image inspect"] = docker("image", "inspect", images.Repository+":latest").Combined()
	places["ps --format json"] = mg(nil, "ps", "--all", "--format", "json").Combined()
	places["docker magents logs"] = mg(nil, "logs", "agent-1").Combined()
	// In up's environment the source is that environment; elsewhere, what up gave the agents.
	status := mg([]string{"ANTHROPIC_API_KEY=" + canary}, "auth", "status", "--format", "json")
	status.Assert(t, icmd.Success)
	places["auth status"] = status.Combined()
	elsewhere := mg(nil, "auth", "status")
	elsewhere.Assert(t, icmd.Expected{Out: "an earlier 'up'"})
	places["auth status (table)"] = elsewhere.Combined()
	places["doctor"] = mg(nil, "doctor").Combined()
	places["doctor --format json"] = mg(nil, "doctor", "--format", "json").Combined()
	places["doctor (in up's environment)"] = mg([]string{"ANTHROPIC_API_KEY=" + canary}, "doctor", "--format", "json").Combined()
	for name, text := range places {
		if strings.Contains(text, canary) {
			t.Errorf("the canary leaks into %s", name)
		}
	}
	_ = filepath.WalkDir(e.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.IsDir() && d.Name() == "secrets" {
				return filepath.SkipDir
			}
			return nil
		}
		if b, _ := os.ReadFile(path); strings.Contains(string(b), canary) {
			t.Errorf("the canary is in %s, outside .magents/secrets", path)
		}
		return nil
	})

	var st struct {
		Source string
		Kind   string
		Agents []struct {
			Agent   string
			Current bool
			Method  string
		}
	}
	if err := json.Unmarshal([]byte(status.Stdout()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Source != "environment" || st.Kind != "api-key" || len(st.Agents) != 2 || !st.Agents[0].Current || !st.Agents[1].Current {
		t.Errorf("auth status: %s", status.Stdout())
	}

	// auth rotate: the next request carries the new value; the containers stay.
	ids := map[string]string{}
	for _, c := range agents {
		ids[c] = containerID(t, c)
	}
	before := restarts(t, agents[0])
	mg([]string{"ANTHROPIC_API_KEY=" + rotated}, "auth", "rotate", "--from-env").Assert(t, icmd.Success)
	for _, c := range agents {
		if containerID(t, c) != ids[c] {
			t.Errorf("auth rotate recreated %s", c)
		}
	}
	// Claude was restarted by the supervisor; wait for the new one's prompt.
	waitFor(t, 30*time.Second, "auth rotate to restart Claude", func() (bool, string) {
		n := restarts(t, agents[0])
		return n > before, fmt.Sprintf("%d session restarts, %d before the rotation", n, before)
	})
	waitPrompt(t, agents[0])
	docker("exec", agents[0], "tmux", "send-keys", "-t", "claude", "ping after rotate", "Enter").Assert(t, icmd.Success)
	waitRequests(t, e.api, func(rs []anthropictest.Request) bool {
		for _, r := range rs {
			if strings.Contains(r.LastUserText(), "ping after rotate") && r.APIKey == rotated {
				return true
			}
		}
		return false
	})

	// A refused credential: the agents report auth-rejected, and ps shows it.
	reject.Store(true)
	mg([]string{"ANTHROPIC_API_KEY=" + refused}, "auth", "rotate", "--from-env").Assert(t, icmd.Success)
	waitFor(t, 60*time.Second, "ps to show both agents auth-rejected", func() (bool, string) {
		out := mg(nil, "ps", "--format", "json").Stdout()
		ps := jsonLines[struct{ Agent, State string }](t, out)
		return len(ps) == 2 && ps[0].State == "auth-rejected" && ps[1].State == "auth-rejected", out
	})
	if !strings.Contains(mg(nil, "ps").Stdout(), "auth-rejected") {
		t.Error("the ps table does not show auth-rejected")
	}
	refusedStatus := mg(nil, "auth", "status")
	if !strings.Contains(refusedStatus.Stdout(), "REFUSED its credential: the model API refused the credential (HTTP 401/403)") {
		t.Errorf("auth status does not say why:\n%s", refusedStatus.Stdout())
	}
}

// restarts is the supervisor's count of session restarts in the container.
func restarts(t *testing.T, container string) int {
	t.Helper()
	var h struct{ Restarts int }
	_ = json.Unmarshal([]byte(docker("exec", container, "magents-supervisor", "health").Stdout()), &h)
	return h.Restarts
}

// auth deploy: a Kubernetes Secret that decodes strictly into the API's own type, written
// 0600; a swarm secret created on a single-node swarm.
func TestAuthDeploy(t *testing.T) {
	anyEngine(t, "docker-magents' auth deploy")
	dir := t.TempDir()
	cred := "sk-ant-oat01-DEPLOY-" + fmt.Sprint(time.Now().UnixNano())
	env := []string{"CLAUDE_CODE_OAUTH_TOKEN=" + cred, "HOME=" + dir}
	out := filepath.Join(dir, "deploy")
	dockerIn(dir, env, "magents", "-p", "deploye2e", "auth", "deploy", "k8s", "-o", out).Assert(t, icmd.Success)
	path := filepath.Join(out, "claude-auth-secret.yaml")
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", path, st, err)
	}
	b, _ := os.ReadFile(path)
	var secret corev1.Secret
	if err := manifest.UnmarshalStrict(b, &secret); err != nil {
		t.Fatalf("not a Kubernetes Secret: %v", err)
	}
	if secret.Name != "claude-auth-deploye2e" || secret.StringData["CLAUDE_CODE_OAUTH_TOKEN"] != cred {
		t.Errorf("secret %s with keys %v", secret.Name, secret.StringData)
	}

	// Swarm: only with --apply, on a swarm manager.
	dockerIn(dir, env, "magents", "-p", "deploye2e", "auth", "deploy", "swarm").Assert(t, icmd.Expected{Out: "--apply"})
	if strings.TrimSpace(docker("info", "-f", "{{.Swarm.LocalNodeState}}").Stdout()) != "active" {
		docker("swarm", "init", "--advertise-addr", "127.0.0.1").Assert(t, icmd.Success)
		t.Cleanup(func() { docker("swarm", "leave", "--force") })
	}
	t.Cleanup(func() { docker("secret", "rm", "claude-auth-deploye2e") })
	res := dockerIn(dir, env, "magents", "-p", "deploye2e", "auth", "deploy", "swarm", "--apply")
	res.Assert(t, icmd.Success)
	if strings.Contains(res.Combined(), cred) {
		t.Error("auth deploy swarm printed the credential")
	}
	docker("secret", "inspect", "-f", `{{index .Spec.Labels "io.docker-magents.var"}}`, "claude-auth-deploye2e").
		Assert(t, icmd.Expected{Out: "CLAUDE_CODE_OAUTH_TOKEN"})
}

// waitRequests waits until the requests the test API has seen satisfy ok.
func waitRequests(t *testing.T, api *anthropictest.Server, ok func([]anthropictest.Request) bool) {
	t.Helper()
	waitFor(t, 90*time.Second, "the expected request to reach the test API", func() (bool, string) {
		rs := api.Requests()
		return ok(rs), requestsSeen(rs)
	})
}

// requestsSeen says how many requests the test API has seen and what the last one asked.
func requestsSeen(rs []anthropictest.Request) string {
	if len(rs) == 0 {
		return "no requests"
	}
	text := rs[len(rs)-1].LastUserText()
	if len(text) > 500 {
		text = "…" + text[len(text)-500:]
	}
	return fmt.Sprintf("%d requests; the last one's user text: %q", len(rs), text)
}

// waitPrompt waits until Claude's prompt is on the agent's screen.
func waitPrompt(t *testing.T, container string) {
	t.Helper()
	waitFor(t, 60*time.Second, container+" to show Claude's prompt", func() (bool, string) {
		pane := docker("exec", container, "tmux", "capture-pane", "-p", "-t", "claude").Stdout()
		return strings.Contains(pane, "❯"), pane
	})
}

// auth setup from stdin, status, export; bad input stores nothing.
func TestAuthSetupStatusExport(t *testing.T) {
	anyEngine(t, "docker-magents' auth commands")
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	env := []string{"HOME=" + dir} // no host login, no credential in the environment
	for _, v := range []string{"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_AUTH_TOKEN"} {
		env = append(env, v+"=")
	}
	mg := func(stdin string, args ...string) *icmd.Result {
		cmd := icmd.Command("docker", append([]string{"magents", "-p", "setupe2e"}, args...)...)
		cmd.Dir, cmd.Env, cmd.Stdin = dir, append(os.Environ(), env...), strings.NewReader(stdin)
		return icmd.RunCmd(cmd)
	}
	for input, want := range map[string]string{
		"":                       "no credential on stdin",
		"sk-ant-api03 spaced":    "contains spaces",
		"sk-ant-api03-a\nline-2": "spans several lines",
	} {
		res := mg(input, "auth", "setup", "--api-key")
		res.Assert(t, icmd.Expected{ExitCode: 1, Err: want})
	}
	mg("", "auth", "setup", "--file", filepath.Join(dir, "missing")).Assert(t, icmd.Expected{ExitCode: 1, Err: "no such file"})
	mg("", "auth", "status").Assert(t, icmd.Expected{Out: "no credential"})

	key := "sk-ant-api03-SETUP-" + fmt.Sprint(time.Now().UnixNano())
	res := mg(key+"\n", "auth", "setup", "--api-key")
	res.Assert(t, icmd.Success)
	if strings.Contains(res.Combined(), key) {
		t.Error("auth setup printed the key")
	}
	status := mg("", "auth", "status", "--format", "json")
	status.Assert(t, icmd.Success)
	var st struct{ Source string }
	if err := json.Unmarshal([]byte(status.Stdout()), &st); err != nil || st.Source != "stored" || strings.Contains(status.Combined(), key) {
		t.Errorf("auth status after setup:\n%s", status.Stdout())
	}
	stored := filepath.Join(dir, ".magents", "secrets", "stored")
	if st, err := os.Stat(stored); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("stored credential file: %v %v", st, err)
	}

	// export: 0600, ignored by git, and a warning once git tracks it.
	mg("", "auth", "export").Assert(t, icmd.Expected{Err: "docker inspect"})
	envFile := filepath.Join(dir, ".env")
	if b, err := os.ReadFile(envFile); err != nil || string(b) != "ANTHROPIC_API_KEY="+key+"\n" {
		t.Errorf(".env: %q %v", b, err)
	}
	if st, _ := os.Stat(envFile); st.Mode().Perm() != 0o600 {
		t.Errorf(".env mode %o", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".gitignore")); !strings.Contains(string(b), ".env") {
		t.Errorf(".gitignore lacks .env:\n%s", b)
	}
	add := exec.Command("git", "add", "-f", ".env")
	add.Dir = dir
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("git add: %v %s", err, out)
	}
	mg("", "auth", "export").Assert(t, icmd.Expected{Err: "tracked by git"})
}
