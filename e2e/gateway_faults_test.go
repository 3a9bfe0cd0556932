//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/internal/anthropictest"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// sendFromAgent is a script that sends body to the gateway n times at once from inside an
// agent, as its user with its own token, each answer kept in /tmp/answer.N.
func sendFromAgent(body string, n int) string {
	return `tok=$(cat "$MAGENTS_GATEWAY_TOKEN_FILE")
body='` + body + `'
send() {
  exec 3<>/dev/tcp/127.0.0.1/3128
  printf 'POST /v1/messages HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "$tok" "${#body}" "$body" >&3
  timeout 120 cat <&3 > /tmp/answer.$1
}
rm -f /tmp/answer.*
for i in $(seq 1 ` + fmt.Sprint(n) + `); do send $i & done
wait
`
}

// The gateway killed with kill -9 in the middle of ten streamed answers restarts with all
// ten counted — at their reservation, as no end was seen — so what it counts is never
// less than what the API billed (the double's own tally); and a budget is never passed
// by more than one request's reservation, however many requests are sent at once.
func TestFaultGatewayKilledMidAnswer(t *testing.T) {
	anyEngine(t, "the gateway's journal")
	parallelSuite(t)
	nonce := fmt.Sprint(time.Now().UnixNano())
	marker := "gateway-kill-" + nonce
	var pause atomic.Bool
	pause.Store(true)
	const model, maxTokens = "claude-sonnet-4-5", 1000
	e := newFleetEnvWith(t, nonce, func(r anthropictest.Request) anthropictest.Reply {
		if !r.Mentions(marker) {
			return anthropictest.Reply{Text: "OK"}
		}
		reply := anthropictest.Reply{Text: "a long answer", Usage: &anthropictest.Usage{InputTokens: 50, OutputTokens: maxTokens - 10}}
		if pause.Load() {
			reply.Pause = 90 * time.Second
		}
		return reply
	}).inProject("gwkill")
	t.Cleanup(func() { e.magents("down", "--volumes", "--force") })
	// bash in the session: the requests are this test's alone.
	e.magents("up", "--agent-cmd", "bash").Assert(t, icmd.Success)
	agent, proxy := e.container("agent-1"), e.container(fleet.EgressProxyService)
	body := `{"model":"` + model + `","max_tokens":` + fmt.Sprint(maxTokens) + `,"stream":true,"messages":[{"role":"user","content":"` + marker + `"}]}`
	reservation := modelusage.Worst(model, []byte(body)).CostUSD
	marked := func() int {
		n := 0
		for _, r := range e.api.Requests() {
			if r.Mentions(marker) {
				n++
			}
		}
		return n
	}
	docker("exec", "-d", agent, "bash", "-c", sendFromAgent(body, 10)).Assert(t, icmd.Success)
	waitFor(t, 60*time.Second, "ten answers under way at the double", func() (bool, string) {
		return marked() == 10, fmt.Sprintf("%d of 10", marked())
	})
	// kill -9 of the gateway itself (the child of the container's init), mid-answer.
	docker("exec", proxy, "sh", "-c", `kill -9 $(cat /proc/1/task/1/children)`).Assert(t, icmd.Success)
	waitFor(t, 60*time.Second, "the gateway to be back", func() (bool, string) {
		res := e.magents("usage", "--by", "model", "--format", "json")
		restarts := strings.TrimSpace(docker("inspect", "-f", "{{.RestartCount}}", proxy).Stdout())
		return res.ExitCode == 0 && restarts != "0", restarts + "\n" + res.Combined()
	})
	type row struct {
		Agent, Model string
		Requests     int
		CostUSD      float64
	}
	counted := func() (cost float64, requests int) {
		for _, r := range jsonLines[row](t, e.magents("usage", "--by", "model", "--format", "json").Stdout()) {
			if (r.Agent == "" || r.Agent == "agent-1") && r.Model == model {
				cost, requests = cost+r.CostUSD, requests+r.Requests
			}
		}
		return cost, requests
	}
	billed := func() float64 {
		s := e.api.Sent()[model]
		return modelusage.Priced(model, modelusage.Usage{InputTokens: s.InputTokens, OutputTokens: s.OutputTokens,
			CacheCreationInputTokens: s.CacheCreationInputTokens, CacheReadInputTokens: s.CacheReadInputTokens}).CostUSD
	}
	cost, requests := counted()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("usage:\n%s\nthe gateway's logs:\n%s", e.magents("usage", "--by", "model", "--format", "json").Combined(), docker("logs", "--tail", "60", proxy).Combined())
		}
	})
	if requests < 10 || cost < billed() || cost < 10*reservation-1e-6 {
		t.Errorf("after the kill the gateway counts %d requests, $%.6f; the double billed $%.6f; ten reservations are $%.6f", requests, cost, billed(), 10*reservation)
	}

	// A budget with room for two and a half reservations, ten requests at once, each
	// answered at almost its worst case: the ones that do not fit are refused, and the
	// budget is passed by less than one reservation.
	pause.Store(false)
	budget := cost + 2.5*reservation
	e.magents("budget", "set", "agent-1", "--usd", fmt.Sprintf("%.6f", budget)).Assert(t, icmd.Success)
	before := marked()
	docker("exec", agent, "bash", "-c", sendFromAgent(body, 10)).Assert(t, icmd.Success)
	answers := docker("exec", agent, "sh", "-c", "cat /tmp/answer.*").Stdout()
	after, _ := counted()
	if after > budget+reservation {
		t.Errorf("spent $%.6f against a budget of $%.6f: more than one reservation ($%.6f) over", after, budget, reservation)
	}
	if !strings.Contains(answers, "held by its requests under way") && !strings.Contains(answers, "reached its budget") || marked()-before < 2 {
		t.Errorf("of ten requests at once, %d reached the API; the answers:\n%s", marked()-before, answers)
	}
	if c, _ := counted(); c < billed() {
		t.Errorf("the gateway counts $%.6f, the double billed $%.6f", c, billed())
	}
}

// Five agents send 32 MiB bodies slowly, three at a time each, while a sixth works
// normally: the sixth's requests are answered, the gateway's resident memory stays under
// its container's limit, and nothing restarts.
func TestFaultGatewayUnderSlowBodies(t *testing.T) {
	anyEngine(t, "the gateway's limits")
	parallelSuite(t)
	nonce := fmt.Sprint(time.Now().UnixNano())
	e := newFleetEnvWith(t, nonce, nil).inProject("gwslow")
	t.Cleanup(func() { e.magents("down", "--volumes", "--force") })
	e.magents("up", "--agents", "6", "--agent-cmd", "bash").Assert(t, icmd.Success)
	proxy := e.container(fleet.EgressProxyService)
	slow := `tok=$(cat "$MAGENTS_GATEWAY_TOKEN_FILE")
hold() {
  exec 3<>/dev/tcp/127.0.0.1/3128
  printf 'POST /v1/messages HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 33554432\r\n\r\n{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"' "$tok" >&3
  for i in $(seq 1 20); do head -c 262144 /dev/zero | tr '\0' x >&3 || break; sleep 2; done
}
for n in 1 2 3; do hold & done
wait
`
	for i := 1; i <= 5; i++ {
		docker("exec", "-d", e.container(fmt.Sprintf("agent-%d", i)), "bash", "-c", slow).Assert(t, icmd.Success)
	}
	rss := func() int {
		// The supervisor's own process: its name in /proc, its resident set.
		out := docker("exec", proxy, "sh", "-c", `for s in /proc/[0-9]*/status; do awk '/^Name:/{n=$2} /^VmRSS:/{print n, $2}' $s; done`).Stdout()
		kb := 0
		for _, line := range strings.Split(out, "\n") {
			var name string
			var v int
			if _, err := fmt.Sscanf(line, "%s %d", &name, &v); err == nil && strings.HasPrefix(name, "magents-sup") {
				kb = max(kb, v)
			}
		}
		return kb
	}
	most := 0
	body := `{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"normal work ` + nonce + `"}]}`
	for round := range 6 {
		most = max(most, rss())
		res := docker("exec", e.container("agent-6"), "bash", "-c", sendFromAgent(body, 1)+"cat /tmp/answer.1")
		if !strings.HasPrefix(res.Stdout(), "HTTP/1.1 200") || !strings.Contains(res.Stdout(), "message_stop") {
			t.Errorf("round %d: agent-6's request under the abuse:\n%s", round, res.Combined())
		}
		most = max(most, rss())
		time.Sleep(4 * time.Second)
	}
	t.Logf("the gateway's largest resident set: %d KiB", most)
	if most == 0 || most*1024 >= 120<<20 {
		t.Errorf("the gateway's resident set reached %d KiB (its container has %d MiB)", most, 128)
	}
	if state := strings.TrimSpace(docker("inspect", "-f", "{{.RestartCount}} {{.State.OOMKilled}}", proxy).Stdout()); state != "0 false" {
		t.Errorf("the gateway's restarts and OOM kill: %s", state)
	}
}
