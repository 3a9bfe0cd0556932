//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/internal/anthropictest"
)

// --egress allowlist: agents sit on an internal network and reach out only through the
// fleet's egress proxy, and only to allowlisted hosts; the real claude binary reaches the
// Messages API test double when its host is allowed and fails cleanly when it is not;
// every refusal shows in egress log and ps.
func TestEgressAllowlist(t *testing.T) {
	nonce := time.Now().Format("150405.000")
	e := newFleetEnvWith(t, nonce, nil)
	api := hostAddr()
	mg := func(args ...string) *icmd.Result { return e.magents(append([]string{"-p", "egresse2e"}, args...)...) }
	t.Cleanup(func() {
		docker("rm", "-f", "egresse2e-allowed", "egresse2e-denied")
		mg("down", "--volumes")
	})
	// The test API's host needs no --allow: it is the env file's ANTHROPIC_BASE_URL.
	mg("up", "--egress", "allowlist", "--allow", "allowed.test:3128").Assert(t, icmd.Success)
	mg("wait", "--for", "idle", "--timeout", "90s").Assert(t, icmd.Success)

	// Two servers outside, on the egress network: the proxy's own health endpoint serves.
	for _, name := range []string{"allowed", "denied"} {
		docker("run", "-d", "--name", "egresse2e-"+name, "--network", "egresse2e_egress", "--network-alias", name+".test",
			images.Repository+":latest", "proxy").Assert(t, icmd.Success)
	}
	allowedIP := strings.TrimSpace(docker("inspect", "-f", `{{(index .NetworkSettings.Networks "egresse2e_egress").IPAddress}}`, "egresse2e-allowed").Stdout())
	agent := func(script string) *icmd.Result {
		return docker("exec", "egresse2e-agent-1", "timeout", "10", "bash", "-c", script)
	}
	viaProxy := func(url string) string {
		return agent(`exec 3<>/dev/tcp/egress-proxy/3128 && printf 'GET ` + url + ` HTTP/1.0\r\n\r\n' >&3 && cat <&3`).Combined()
	}
	waitFor := func(what string, ok func() bool) {
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not happen", what)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	waitFor("the allowed server answering through the proxy", func() bool {
		return strings.Contains(viaProxy("http://allowed.test:3128/healthz"), "200 OK")
	})
	if out := viaProxy("http://denied.test:3128/healthz"); !strings.Contains(out, "403") || !strings.Contains(out, "not on this fleet's allowlist") {
		t.Errorf("a denied host through the proxy:\n%s", out)
	}
	if out := viaProxy("http://" + allowedIP + ":3128/healthz"); !strings.Contains(out, "403") {
		t.Errorf("an allowed host by IP through the proxy:\n%s", out)
	}
	if out := viaProxy("http://allowed.test:8080/healthz"); !strings.Contains(out, "403") {
		t.Errorf("an allowed host on a port it was not allowed:\n%s", out)
	}
	// No way around it: the agents' network has no route out, by name or by address.
	// (A name fails or times out: the internal network's DNS cannot ask outside either.)
	for _, target := range []string{"allowed.test", allowedIP} {
		if res := agent("exec 3<>/dev/tcp/" + target + "/3128"); res.ExitCode == 0 {
			t.Errorf("an agent reached %s directly", target)
		}
	}

	// The real Claude through the proxy: a turn reaches the test API and its answer shows.
	mg("task", "agent-1", "ping through the proxy").Assert(t, icmd.Success)
	waitRequests(t, e.api, func(rs []anthropictest.Request) bool {
		for _, r := range rs {
			if r.HasTools() && strings.Contains(r.LastUserText(), "ping through the proxy") {
				return true
			}
		}
		return false
	})
	waitFor("Claude's answer in the pane", func() bool {
		return strings.Contains(docker("exec", "egresse2e-agent-1", "tmux", "capture-pane", "-p", "-t", "claude").Stdout(), "pong "+nonce)
	})

	// The API's host taken off the list: Claude's next turn is refused at the proxy, said in
	// egress log and ps, and nothing reaches the API.
	mg("up", "--allow-model-endpoint=false").Assert(t, icmd.Success)
	before := len(e.api.Requests())
	mg("task", "agent-1", "ping after the change").Assert(t, icmd.Success)
	waitFor("a refusal of the API's host in egress log", func() bool {
		return strings.Contains(mg("egress", "log").Stdout(), api)
	})
	var rep struct{ Counts map[string]int }
	if err := json.Unmarshal([]byte(mg("egress", "log", "--format", "json").Stdout()), &rep); err != nil || rep.Counts["agent-1"] < 3 {
		t.Errorf("egress log counts: %+v %v", rep, err)
	}
	if out := mg("ps").Stdout(); !strings.Contains(out, "refused by the egress proxy") {
		t.Errorf("ps does not show the refusals:\n%s", out)
	}
	for _, r := range e.api.Requests()[before:] {
		if strings.Contains(r.LastUserText(), "ping after the change") {
			t.Error("a request reached the API although its host is no longer allowed")
		}
	}
	// Claude fails cleanly: it shows the refusal (it takes any 403 for a credential problem
	// and asks for /login), and the supervisor names the real cause instead of auth-rejected.
	waitFor("Claude's error on its screen", func() bool {
		pane := docker("exec", "egresse2e-agent-1", "tmux", "capture-pane", "-p", "-t", "claude").Stdout()
		return strings.Contains(pane, "403") || strings.Contains(pane, "/login") || strings.Contains(pane, "API Error")
	})
	var h struct {
		State    string
		Problems []string
	}
	if err := json.Unmarshal([]byte(docker("exec", "egresse2e-agent-1", "magents-supervisor", "health").Stdout()), &h); err != nil {
		t.Fatal(err)
	}
	if h.State == "auth-rejected" || !strings.Contains(strings.Join(h.Problems, ";"), "egress proxy refused") {
		t.Errorf("health after the refusal: %+v", h)
	}
	docker("exec", "egresse2e-agent-1", "tmux", "has-session", "-t", "claude").Assert(t, icmd.Success)
}
