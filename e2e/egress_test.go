//go:build e2e

package e2e

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/internal/anthropictest"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// --egress allowlist: agents have no network and reach out only through the fleet's
// egress proxy (their loopback proxy port forwarded to its socket), and only to allowlisted hosts; the real claude binary reaches the
// Messages API test double when its host is allowed and fails cleanly when it is not;
// every refusal shows in egress log and ps.
func TestEgressAllowlist(t *testing.T) {
	everyEngine(t, "the fleet's networks are the engine's: internal networks, DNS")
	parallelSuite(t)
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
		return agent(`exec 3<>/dev/tcp/127.0.0.1/3128 && printf 'GET ` + url + ` HTTP/1.0\r\n\r\n' >&3 && cat <&3`).Combined()
	}
	pane := func() string {
		return docker("exec", "egresse2e-agent-1", "tmux", "capture-pane", "-p", "-t", "claude").Stdout()
	}
	waitFor(t, 30*time.Second, "the allowed server to answer through the proxy", func() (bool, string) {
		out := viaProxy("http://allowed.test:3128/healthz")
		return strings.Contains(out, "200 OK"), out
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
	// No way around it: the agent has no network but loopback, no route out by name or by
	// address.
	if out := strings.TrimSpace(agent("ls /sys/class/net").Stdout()); out != "lo" {
		t.Errorf("the agent's network interfaces: %q", out)
	}
	for _, target := range []string{"allowed.test", allowedIP} {
		if res := agent("exec 3<>/dev/tcp/" + target + "/3128"); res.ExitCode == 0 {
			t.Errorf("an agent reached %s directly", target)
		}
	}

	// Nor by DNS: there is no resolver to ask (a name the proxy resolves stays unknown to
	// the agents, so DNS is no tunnel out).
	if res := docker("exec", "egresse2e-egress-proxy", "getent", "hosts", "deb.debian.org"); res.ExitCode != 0 {
		// Without a name the proxy resolves, the check would prove nothing: that is a failure.
		t.Errorf("the DNS check cannot run: the egress proxy does not resolve deb.debian.org (the engine's DNS must reach this machine's resolver):\n%s", res.Combined())
	} else if res := agent("getent hosts deb.debian.org"); res.ExitCode == 0 {
		t.Errorf("an agent resolved an outside name:\n%s", res.Stdout())
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
	waitFor(t, 30*time.Second, "Claude's answer in the pane", func() (bool, string) {
		p := pane()
		return strings.Contains(p, "pong "+nonce), p
	})
	// docker logs tells what the agent did, in the hooks' words, never the prompt's.
	waitFor(t, 30*time.Second, "the turn in docker logs", func() (bool, string) {
		logs := docker("logs", "egresse2e-agent-1").Combined()
		return strings.Contains(logs, "agent: prompt taken") && strings.Contains(logs, "agent: turn ended"), tail(logs, 40)
	})
	if logs := docker("logs", "egresse2e-agent-1").Combined(); strings.Contains(logs, "ping through the proxy") {
		t.Errorf("docker logs shows the prompt's text:\n%s", logs)
	}

	// The API's host taken off the list: Claude's next turn is refused at the proxy, said in
	// egress log and ps, and nothing reaches the API.
	mg("up", "--allow-model-endpoint=false").Assert(t, icmd.Success)
	before := len(e.api.Requests())
	mg("task", "agent-1", "ping after the change").Assert(t, icmd.Success)
	waitFor(t, 30*time.Second, "a refusal of the API's host in egress log", func() (bool, string) {
		res := mg("egress", "log")
		return strings.Contains(res.Stdout(), api), res.Combined()
	})
	var rep struct{ Counts map[string]int }
	if err := json.Unmarshal([]byte(mg("egress", "log", "--format", "json").Stdout()), &rep); err != nil || rep.Counts["agent-1"] < 3 {
		t.Errorf("egress log counts: %+v %v", rep, err)
	}
	// ps has them from the proxy's own account.
	waitFor(t, 30*time.Second, "the refusals in ps", func() (bool, string) {
		res := mg("ps")
		return strings.Contains(res.Stdout(), "the egress proxy refused"), res.Combined()
	})
	for _, r := range e.api.Requests()[before:] {
		if strings.Contains(r.LastUserText(), "ping after the change") {
			t.Error("a request reached the API although its host is no longer allowed")
		}
	}
	// Claude fails cleanly: it shows the refusal (it takes any 403 for a credential problem
	// and asks for /login), and the supervisor names the real cause instead of auth-rejected.
	waitFor(t, 30*time.Second, "Claude's error on its screen", func() (bool, string) {
		p := pane()
		return strings.Contains(p, "403") || strings.Contains(p, "/login") || strings.Contains(p, "API Error"), p
	})
	// Health asks the proxy at most every 15 s.
	var h struct {
		State    string
		Problems []string
	}
	waitFor(t, 30*time.Second, "the refusals in the agent's health", func() (bool, string) {
		health := docker("exec", "egresse2e-agent-1", "magents-supervisor", "health").Stdout()
		if err := json.Unmarshal([]byte(health), &h); err != nil {
			t.Fatal(err)
		}
		if h.State == "auth-rejected" {
			t.Fatalf("health after the refusal: %+v", h)
		}
		return strings.Contains(strings.Join(h.Problems, ";"), "egress proxy refused"), health
	})
	docker("exec", "egresse2e-agent-1", "tmux", "has-session", "-t", "claude").Assert(t, icmd.Success)
}

// --ipv6: the proxy's network gets IPv6. A server listening on its IPv6 address alone is
// reached through the proxy by name and refused by address; directly it is out of reach
// (the agents have no network at all).
func TestEgressIPv6(t *testing.T) {
	everyEngine(t, "the engine's IPv6 on the fleet's networks")
	parallelSuite(t)
	info := docker("info", "--format", "{{.ExperimentalBuild}} {{.ServerVersion}}")
	info.Assert(t, icmd.Success)
	experimental, version, _ := strings.Cut(strings.TrimSpace(info.Stdout()), " ")
	if experimental != "true" && cliMajor(version) < 27 {
		t.Skipf("Engine %s filters IPv6 only with experimental and ip6tables on in daemon.json (hack/install-engine.sh writes them)", version)
	}
	e := newFleetEnv(t, "ipv6")
	const project = "egress6e2e"
	mg := func(args ...string) *icmd.Result { return e.magents(append([]string{"-p", project}, args...)...) }
	t.Cleanup(func() {
		docker("rm", "-f", project+"-allowed", project+"-denied")
		mg("down", "--volumes")
	})
	mg("up", "--egress", "allowlist", "--ipv6", "--agent-cmd", "bash",
		"--allow", "allowed.test:3128", "--allow", "denied-port.test:80").Assert(t, icmd.Success)
	mg("wait", "--for", "idle", "--timeout", "90s").Assert(t, icmd.Success)

	subnet, err := netip.ParsePrefix((&fleet.Fleet{Project: project}).IPv6Subnet(2))
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	for i, name := range []string{"allowed", "denied"} {
		a := subnet.Addr().As16()
		a[15] = byte(0x10 + i)
		ip := netip.AddrFrom16(a).String()
		addrs[name] = ip
		docker("run", "-d", "--name", project+"-"+name, "--network", project+"_egress", "--ip6", ip,
			"--network-alias", name+".test", "-e", "MAGENTS_PROXY_ADDR=["+ip+"]:3128",
			images.Repository+":latest", "proxy").Assert(t, icmd.Success)
	}
	agent := func(script string) *icmd.Result {
		return docker("exec", project+"-agent-1", "timeout", "10", "bash", "-c", script)
	}
	if out := strings.TrimSpace(agent("ls /sys/class/net").Stdout()); out != "lo" {
		t.Fatalf("the agent has a network besides loopback: %q", out)
	}
	viaProxy := func(url string) string {
		return agent(`exec 3<>/dev/tcp/127.0.0.1/3128 && printf 'GET ` + url + ` HTTP/1.0\r\n\r\n' >&3 && cat <&3`).Combined()
	}
	waitFor(t, 30*time.Second, "the IPv6-only server to answer through the proxy by name", func() (bool, string) {
		out := viaProxy("http://allowed.test:3128/healthz")
		return strings.Contains(out, "200 OK"), out
	})
	for url, why := range map[string]string{
		"http://denied.test:3128/healthz":                "a denied host",
		"http://[" + addrs["allowed"] + "]:3128/healthz": "an allowed host by its IPv6 address",
		"http://[" + addrs["denied"] + "]:3128/healthz":  "a denied host by its IPv6 address",
		"http://denied-port.test:3128/healthz":           "a host allowed on another port",
	} {
		if out := viaProxy(url); !strings.Contains(out, "403") {
			t.Errorf("%s through the proxy was not refused:\n%s", why, out)
		}
	}
	for _, ip := range addrs {
		if res := agent("exec 3<>/dev/tcp/" + ip + "/3128"); res.ExitCode == 0 {
			t.Errorf("an agent reached %s directly over IPv6", ip)
		}
	}
}
