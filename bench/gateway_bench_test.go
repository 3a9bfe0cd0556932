//go:build e2e

package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/internal/anthropictest"
)

// gatewayScript sends $2 Messages requests from inside an agent, one connection each, to
// $1 (an origin-form path for the gateway, an absolute URL for the egress proxy), through
// the agent's loopback proxy port, and prints its start and end (ns).
const gatewayScript = `target=$1 n=$2
tok=$(cat /run/magents-egress/agent-token)
body='{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"ping"}]}'
start=$(date +%s%N)
for i in $(seq "$n"); do
  exec 3<>/dev/tcp/127.0.0.1/3128
  printf 'POST %s HTTP/1.1\r\nHost: model\r\nAuthorization: Bearer %s\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: %d\r\nConnection: close\r\n\r\n%s' "$target" "$tok" "${#body}" "$body" >&3
  read -r proto status rest <&3
  cat <&3 >/dev/null
  exec 3<&-
  [ "$status" = 200 ] || { echo "request $i: $proto $status $rest" >&2; exit 1; }
done
echo "$start $(date +%s%N)"`

// BenchmarkGateway: what the model gateway adds to a Messages request, against the way
// agents reached the model before it (through the egress proxy, which forwards the
// request as it is), on the same engine, to the same Messages API test double: one agent
// alone (mean per request), then every agent of the fleet at once (requests per second),
// and the egress proxy's RSS after. MAGENTS_BENCH_GATEWAY_AGENTS sets the count.
func BenchmarkGateway(b *testing.B) {
	n := pick(32, 2)
	if v, err := strconv.Atoi(os.Getenv("MAGENTS_BENCH_GATEWAY_AGENTS")); err == nil && v > 0 {
		n = v
	}
	perAgent := pick(50, 10)
	api, err := anthropictest.Start("0.0.0.0:0", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer api.Close()
	model := "http://host.docker.internal:" + api.Port()
	for i := 0; i < b.N; i++ {
		type result struct {
			one  time.Duration // mean per request, one agent alone
			rate float64       // requests per second, every agent at once
			rss  float64       // the egress proxy's, MB
		}
		measure := func(project, credFlag, credValue, target string) result {
			file, run := fleetDir(b)
			dir := filepath.Dir(file)
			if err := os.WriteFile(filepath.Join(dir, ".env.magents"), []byte("ANTHROPIC_BASE_URL="+model+"\n"), 0o600); err != nil {
				b.Fatal(err)
			}
			cred := filepath.Join(dir, "credential")
			if err := os.WriteFile(cred, []byte(credValue), 0o600); err != nil {
				b.Fatal(err)
			}
			run("magents", "-p", project, "up", "--agents", strconv.Itoa(n), "--agent-cmd", "bash", "--memory", "256m", credFlag, cred)
			defer run("magents", "-f", file, "down")
			spans := func(agents int, count int) [][2]int64 {
				out := make([][2]int64, agents)
				var wg sync.WaitGroup
				errs := make(chan error, agents)
				for a := range agents {
					wg.Go(func() {
						cmd := exec.Command("docker", "exec", fmt.Sprintf("%s-agent-%d", project, a+1), "bash", "-c", gatewayScript, "bench", target, strconv.Itoa(count))
						o, err := cmd.CombinedOutput()
						if err != nil {
							errs <- fmt.Errorf("agent-%d: %v: %s", a+1, err, o)
							return
						}
						f := strings.Fields(string(o))
						if len(f) != 2 {
							errs <- fmt.Errorf("agent-%d printed %q", a+1, o)
							return
						}
						out[a][0], _ = strconv.ParseInt(f[0], 10, 64)
						out[a][1], _ = strconv.ParseInt(f[1], 10, 64)
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				return out
			}
			spans(1, 3) // warm: the proxy's and the engine's first connections
			one := spans(1, perAgent)[0]
			all := spans(n, perAgent)
			first, last := all[0][0], all[0][1]
			for _, s := range all {
				first, last = min(first, s[0]), max(last, s[1])
			}
			return result{
				one:  time.Duration((one[1] - one[0]) / int64(perAgent)),
				rate: float64(n*perAgent) / (float64(last-first) / 1e9),
				rss:  rssKiB(b, project+"-egress-proxy", "magents-supervisor") / 1024,
			}
		}
		gw := measure("benchgw", "--api-key-file", "sk-ant-api03-bench", "/v1/messages")
		proxied := measure("benchgwproxy", "--oauth-token-file", "sk-ant-oat01-bench", model+"/v1/messages")
		const peer = "through the egress proxy (before the gateway)"
		record(b, figure{Name: "gateway: one Messages request, one agent (mean)", Unit: "ms", Value: ms(gw.one),
			Peer: peer, PeerValue: ms(proxied.one), Note: fmt.Sprintf("%d requests from bash in the agent, a connection each", perAgent)})
		record(b, figure{Name: fmt.Sprintf("gateway: Messages requests per second, %d agents at once", n), Unit: "req/s", Value: gw.rate,
			Peer: peer, PeerValue: proxied.rate, Note: fmt.Sprintf("%d each; higher is better", perAgent)})
		record(b, figure{Name: fmt.Sprintf("gateway: egress proxy RSS after the load, %d agents", n), Unit: "MB", Value: gw.rss,
			Peer: "the proxy without the gateway", PeerValue: proxied.rss})
	}
}

// BenchmarkDispatch: how long a queued task takes to reach Claude — from queue add until
// Claude took the prompt (the dispatcher's record of the agent's report) — against typing
// a task into the same idle agent with docker magents task, which returns once Claude took
// it; one real Claude agent behind the gateway, the Messages API test double answering.
func BenchmarkDispatch(b *testing.B) {
	api, err := anthropictest.Start("0.0.0.0:0", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer api.Close()
	file, key, run := apiFleetDir(b, api)
	run("magents", "-p", "benchdispatch", "up", "--api-key-file", key)
	defer run("magents", "-f", file, "down", "--volumes", "--force")
	run("magents", "-f", file, "wait", "--for", "idle", "--timeout", "120s")
	type task struct {
		ID, State string
		Taken     time.Time
	}
	for i := 0; i < b.N; i++ {
		var typed, queued []time.Duration
		for k := range pick(5, 2) {
			took, _ := run("magents", "-f", file, "task", "agent-1", fmt.Sprintf("typed task %d", k))
			typed = append(typed, took)
			run("magents", "-f", file, "wait", "agent-1", "--timeout", "120s")

			start := time.Now()
			_, out := run("magents", "-f", file, "queue", "add", fmt.Sprintf("queued task %d", k))
			id := strings.TrimSuffix(strings.TrimSpace(out), " queued")
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
				_, out := run("magents", "-f", file, "queue", "ls", "--format", "json")
				var got task
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					var t task
					if json.Unmarshal([]byte(line), &t) == nil && t.ID == id {
						got = t
					}
				}
				if got.State == "done" && !got.Taken.IsZero() {
					queued = append(queued, got.Taken.Sub(start))
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("%s was not done: %+v", id, got)
				}
			}
			run("magents", "-f", file, "wait", "agent-1", "--timeout", "120s")
		}
		record(b, figure{Name: "queue: task queued to Claude taking it, one idle agent", Unit: "ms", Value: ms(median(queued)),
			Peer: "docker magents task (typed into the agent)", PeerValue: ms(median(typed)),
			Note: fmt.Sprintf("median of %d; the queued task also starts a fresh conversation and its own branch", len(queued))})
	}
}
