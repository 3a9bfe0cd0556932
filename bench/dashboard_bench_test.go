//go:build e2e

package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/docker-magents/docker-magents/internal/anthropictest"
)

// BenchmarkDashboard: the dashboard of a fleet of real Claude agents (32; 2 in smoke),
// behind the gateway, the Messages API test double answering, in Debian's chromium:
//   - first load: from opening the printed address in a new tab until the page shows the
//     fleet (its own performance mark, every agent's row with its state), against one
//     `docker magents ps` (the same table on the command line);
//   - a state change: from `docker magents task` returning (Claude took the prompt, the
//     agent is at work) until the page shows the agent working, against
//     `docker magents wait AGENT --for working` run at the same point;
//   - memory: the `docker magents dashboard` processes' RSS (the docker CLI and the plugin)
//     with a tab open on the fleet, against `docker stats` on the same agents, Docker's own
//     live view of containers.
func BenchmarkDashboard(b *testing.B) {
	n := pick(32, 2)
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		b.Fatal("no chromium: hack/install-engine.sh installs Debian's")
	}
	// At work long enough to be seen by a docker magents ps that takes seconds with 32
	// agents on 2 CPUs.
	work := pick(15, 3)
	api, err := anthropictest.Start("0.0.0.0:0", func(r anthropictest.Request) anthropictest.Reply {
		if r.HasTools() && r.Mentions("dashboard bench task") {
			return anthropictest.Reply{Text: "done", Delay: time.Duration(work) * time.Second}
		}
		return anthropictest.Reply{Text: "Bench title"}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer api.Close()
	file, key, run := apiFleetDir(b, api)
	run("magents", "-p", "benchdash", "up", "--agents", strconv.Itoa(n), "--api-key-file", key, "--memory", "1g")
	defer run("magents", "-f", file, "down", "--volumes", "--force")
	run("magents", "-f", file, "wait", "--for", "idle", "--timeout", "900s")

	dash := exec.Command("docker", "magents", "-f", file, "dashboard")
	dash.Dir = filepath.Dir(file)
	stdout, err := dash.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := dash.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = dash.Process.Kill(); _ = dash.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("docker magents dashboard printed %q: %v", line, err)
	}
	addr := regexp.MustCompile(`http://127\.0\.0\.1:\d+/\?token=[0-9a-f]{64}`).FindString(line)
	if addr == "" {
		b.Fatalf("docker magents dashboard printed %q", line)
	}

	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1400, 900))...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil { // the browser itself, before anything is timed
		b.Fatalf("starting chromium: %v", err)
	}
	last := fmt.Sprintf(`tr[data-agent="agent-%d"] td.state`, n)
	agentState := func(agent, state string) chromedp.CSS {
		return chromedp.CSS(fmt.Sprintf(`tr[data-agent=%q] td.state-%s`, agent, state))
	}
	for i := 0; i < b.N; i++ {
		rounds := pick(5, 2)

		// First load, each in a new tab (no page cached, the fleet's state read anew when
		// no other tab is open).
		var loads, pss []time.Duration
		for range rounds {
			tab, cancelTab := chromedp.NewContext(bctx)
			tctx, cancelTimeout := context.WithTimeout(tab, 2*time.Minute)
			if err := chromedp.Do(tctx); err != nil { // the tab, blank, before anything is timed
				b.Fatal(err)
			}
			err := chromedp.Do(tctx, chromedp.Navigate(addr), chromedp.WaitVisible(chromedp.CSS(last)))
			// On the page's own clock: from the navigation's start (the address with the
			// token, its redirect included) to the page's first showing of the fleet.
			shown, merr := chromedp.Run(tctx, chromedp.Evaluate[float64](`performance.getEntriesByName("fleet-shown")[0].startTime`))
			cancelTimeout()
			cancelTab()
			if err != nil || merr != nil {
				b.Fatalf("loading the dashboard of %d agents: %v %v", n, err, merr)
			}
			loads = append(loads, time.Duration(shown*float64(time.Millisecond)))
			took, _ := run("magents", "-f", file, "ps")
			pss = append(pss, took)
		}
		record(b, figure{Name: fmt.Sprintf("dashboard: first load, %d agents shown", n), Unit: "ms", Value: ms(median(loads)),
			Peer: "docker magents ps", PeerValue: ms(median(pss)), Note: fmt.Sprintf("median of %d, a new tab each", rounds)})

		// A state change, with one tab open: an agent at work.
		tab, cancelTab := chromedp.NewContext(bctx)
		tctx, cancelTimeout := context.WithTimeout(tab, 10*time.Minute)
		if err := chromedp.Do(tctx, chromedp.Navigate(addr), chromedp.WaitVisible(chromedp.CSS(last))); err != nil {
			b.Fatal(err)
		}
		var toPage, toPs []time.Duration
		for k := range rounds {
			agent := fmt.Sprintf("agent-%d", k%n+1)
			run("magents", "-f", file, "task", agent, fmt.Sprintf("dashboard bench task %d (page)", k))
			start := time.Now()
			if err := chromedp.Do(tctx, chromedp.WaitVisible(agentState(agent, "working"))); err != nil {
				b.Fatalf("the page did not show %s at work: %v", agent, err)
			}
			toPage = append(toPage, time.Since(start))
			run("magents", "-f", file, "wait", agent, "--timeout", "120s")

			run("magents", "-f", file, "task", agent, fmt.Sprintf("dashboard bench task %d (wait)", k))
			took, _ := run("magents", "-f", file, "wait", agent, "--for", "working", "--timeout", "120s")
			toPs = append(toPs, took)
			run("magents", "-f", file, "wait", agent, "--timeout", "120s")
		}
		record(b, figure{Name: fmt.Sprintf("dashboard: an agent's state change reaching the page, %d agents", n), Unit: "ms", Value: ms(median(toPage)),
			Peer: "docker magents wait AGENT --for working", PeerValue: ms(median(toPs)),
			Note: fmt.Sprintf("median of %d; the dashboard reads the fleet every --interval (1s)", rounds)})

		// Memory, with the tab still open: the dashboard's processes, then docker stats on
		// the same agents for as long.
		settle := time.Duration(pick(10, 2)) * time.Second
		time.Sleep(settle)
		dashRSS := treeRSSKiB(b, dash.Process.Pid)
		cancelTimeout()
		cancelTab()
		args := []string{"stats"}
		for a := 1; a <= n; a++ {
			args = append(args, fmt.Sprintf("benchdash-agent-%d", a))
		}
		stats := exec.Command("docker", args...)
		var statsOut bytes.Buffer
		stats.Stdout, stats.Stderr = &statsOut, &statsOut
		if err := stats.Start(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(settle)
		if subtreeRSSKiB(stats.Process.Pid) == 0 {
			_ = stats.Wait()
			b.Fatalf("docker stats ended: %v\n%s", stats.ProcessState, tailOf(statsOut.String(), 2000))
		}
		statsRSS := treeRSSKiB(b, stats.Process.Pid)
		_ = stats.Process.Kill()
		_ = stats.Wait()
		record(b, figure{Name: fmt.Sprintf("dashboard: RSS with a tab open, %d agents", n), Unit: "MB", Value: dashRSS / 1024,
			Peer: "docker stats on the same agents", PeerValue: statsRSS / 1024, Note: "the docker CLI and the plugin's process together"})
	}
}

// treeRSSKiB is the resident memory of the process pid and its children, from /proc.
func treeRSSKiB(b *testing.B, pid int) float64 {
	kib := subtreeRSSKiB(pid)
	if kib == 0 {
		b.Fatalf("no resident memory for process %d", pid)
	}
	return kib
}

// subtreeRSSKiB is treeRSSKiB without the failing: a child that ended meanwhile (the
// plugin's own short-lived ones) counts nothing.
func subtreeRSSKiB(pid int) float64 {
	kib := procKiB(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
	children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, c := range strings.Fields(string(children)) {
		if child, err := strconv.Atoi(c); err == nil {
			kib += subtreeRSSKiB(child)
		}
	}
	return kib
}

// tailOf is the last n bytes of s.
func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
