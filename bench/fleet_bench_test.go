//go:build e2e

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/internal/anthropictest"
)

// fleetDir is a workspace for a benchmark's fleet, owned by the image's user as a
// developer's checkout is by the developer (up refuses a workspace the agents cannot write).
func fleetDir(b *testing.B) (file string, run func(args ...string) (time.Duration, string)) {
	dir := b.TempDir()
	// The owner must reach it too (git runs as the owner): open the parent go test made.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.Chown(dir, 1000, 1000); err != nil {
		b.Fatal(err)
	}
	file = filepath.Join(dir, "docker-compose.claude.yml")
	run = func(args ...string) (time.Duration, string) {
		b.Helper()
		cmd := exec.Command("docker", args...)
		cmd.Dir = dir
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return time.Since(start), string(out)
	}
	b.Cleanup(func() { _ = exec.Command("docker", "magents", "-f", file, "down", "--volumes").Run() })
	return file, run
}

// apiFleetDir is fleetDir for agents that talk to the Messages API test double api: its
// env file points them there, and key is an API key file for up's --api-key-file.
func apiFleetDir(b *testing.B, api *anthropictest.Server) (file, key string, run func(args ...string) (time.Duration, string)) {
	file, run = fleetDir(b)
	dir := filepath.Dir(file)
	if err := os.WriteFile(filepath.Join(dir, ".env.magents"), []byte("ANTHROPIC_BASE_URL=http://host.docker.internal:"+api.Port()+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	key = filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte("sk-ant-api03-bench"), 0o600); err != nil {
		b.Fatal(err)
	}
	return file, key, run
}

// BenchmarkUp: `docker magents up --agents N` (real Claude Code agents) until every agent
// is healthy, against `docker compose up -d --wait` on the very same file, from no
// containers each time (the images and config volumes are there for both); with the
// default egress (the agents behind the fleet's proxy) and with --egress open.
func BenchmarkUp(b *testing.B) {
	sizes, modes := []int{1, 8, 32}, []string{"allowlist", "open"}
	if smoke {
		sizes, modes = []int{1}, modes[:1] // the benchmark and its report work: one of each is enough
	}
	for _, egress := range modes {
		for _, n := range sizes {
			benchUp(b, n, egress)
		}
	}
}

func benchUp(b *testing.B, n int, egress string) {
	b.Run(fmt.Sprintf("agents=%d/egress=%s", n, egress), func(b *testing.B) {
		file, run := fleetDir(b)
		up := []string{"magents", "-p", "benchup", "up", "--agents", strconv.Itoa(n), "--egress", egress}
		for i := 0; i < b.N; i++ {
			if !smoke { // the smoke checks the benchmark works, not its figure
				run(up...) // first: volumes, worktrees, the credential file
				run("magents", "-f", file, "down")
			}
			magents, _ := run(up...)
			run("magents", "-f", file, "down")
			compose, _ := run("compose", "-f", file, "-p", "benchup", "up", "-d", "--wait")
			run("magents", "-f", file, "down")
			record(b, figure{Name: fmt.Sprintf("up --agents %d (egress %s) to all healthy", n, egress), Unit: "s", Value: magents.Seconds(),
				Peer: "docker compose up -d --wait", PeerValue: compose.Seconds()})
		}
	})
}

// BenchmarkPrompt: from `docker start` of a stopped agent to Claude's prompt in its tmux
// pane (docker exec polls the pane: about 0.1 s resolution); then, with the agent idle,
// the supervisor's resident memory against Claude's own.
func BenchmarkPrompt(b *testing.B) {
	_, run := fleetDir(b)
	run("magents", "-p", "benchprompt", "up", "--agents", "1", "--egress", "open")
	const agent = "benchprompt-agent-1"
	prompt := func(timeout time.Duration) bool {
		for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
			out, _ := exec.Command("docker", "exec", agent, "tmux", "capture-pane", "-p", "-t", "claude").Output()
			if strings.Contains(string(out), "❯") {
				return true
			}
			time.Sleep(50 * time.Millisecond)
		}
		return false
	}
	if !prompt(2 * time.Minute) {
		b.Fatal("Claude's prompt never showed")
	}
	for i := 0; i < b.N; i++ {
		var took []time.Duration
		for range pick(5, 1) {
			run("stop", agent)
			start := time.Now()
			run("start", agent)
			if !prompt(2 * time.Minute) {
				b.Fatal("Claude's prompt did not show after a start")
			}
			took = append(took, time.Since(start))
		}
		record(b, figure{Name: "container start to Claude's prompt", Unit: "s", Value: median(took).Seconds(), Note: fmt.Sprintf("median of %d", len(took))})

		time.Sleep(time.Duration(pick(10, 2)) * time.Second) // idle
		sup, claude := rssKiB(b, agent, "magents-supervisor"), rssKiB(b, agent, "claude")
		record(b, figure{Name: "supervisor idle RSS per agent", Unit: "MB", Value: sup / 1024, Peer: "Claude Code's idle RSS", PeerValue: claude / 1024})
		if avail := memAvailableKiB(); avail > 0 {
			record(b, figure{Name: "agents this machine's free memory holds", Unit: "agents", Value: float64(int(avail / (sup + claude))),
				Note: fmt.Sprintf("%.1f GiB available / (supervisor + Claude) per agent", avail/(1<<20))})
		}
	}
}

// rssKiB is the resident memory of the processes named comm in container.
func rssKiB(b *testing.B, container, comm string) float64 {
	out := output(b, "docker", "exec", container, "ps", "-o", "rss=", "-C", comm)
	var kib float64
	for _, f := range strings.Fields(out) {
		n, _ := strconv.ParseFloat(f, 64)
		kib += n
	}
	if kib == 0 {
		b.Fatalf("no %s process in %s", comm, container)
	}
	return kib
}

// cpuPercent is how busy the machine's CPUs were over d, in percent of one core (from
// /proc/stat: all but idle and iowait).
func cpuPercent(d time.Duration) float64 {
	busy1, total1 := cpuTicks()
	time.Sleep(d)
	busy2, total2 := cpuTicks()
	if total2 <= total1 {
		return 0
	}
	return 100 * float64(busy2-busy1) / float64(total2-total1) * float64(runtime.NumCPU())
}

func cpuTicks() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)[1:]
	for i, f := range fields[:min(len(fields), 8)] { // guest time is counted in user already
		v, _ := strconv.ParseUint(f, 10, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

func memAvailableKiB() float64 { return procKiB("/proc/meminfo", "MemAvailable:") }

// procKiB is the kB figure of the line of a /proc file that starts with key (0 without it).
func procKiB(path, key string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			var kib float64
			fmt.Sscan(v, &kib)
			return kib
		}
	}
	return 0
}

// BenchmarkStartup: the plugin's own start-up against compose's: `docker magents version`
// against `docker compose version` (each through the docker CLI, as users run them), and
// the metadata call the CLI makes to every plugin on `docker --help`.
func BenchmarkStartup(b *testing.B) {
	home, _ := os.UserHomeDir()
	plugin := map[string]string{
		"magents": filepath.Join(home, ".docker", "cli-plugins", "docker-magents"),
		"compose": "/usr/local/lib/docker/cli-plugins/docker-compose",
	}
	n := pick(20, 3)
	timeIt := func(name string, args ...string) time.Duration {
		var took []time.Duration
		for range n {
			start := time.Now()
			if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
				b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
			}
			took = append(took, time.Since(start))
		}
		return median(took)
	}
	for i := 0; i < b.N; i++ {
		// --short on both: each prints its version alone (without it, ours also asks the
		// engine and its BuildKit what they are, which compose's does not).
		m, c := timeIt("docker", "magents", "version", "--short"), timeIt("docker", "compose", "version", "--short")
		record(b, figure{Name: "docker magents version --short", Unit: "ms", Value: ms(m), Peer: "docker compose version --short", PeerValue: ms(c), Note: fmt.Sprintf("median of %d", n)})
		m, c = timeIt("docker", "magents", "--help"), timeIt("docker", "compose", "--help")
		record(b, figure{Name: "docker magents --help", Unit: "ms", Value: ms(m), Peer: "docker compose --help", PeerValue: ms(c), Note: fmt.Sprintf("median of %d", n)})
		m, c = timeIt(plugin["magents"], "docker-cli-plugin-metadata"), timeIt(plugin["compose"], "docker-cli-plugin-metadata")
		record(b, figure{Name: "plugin metadata call", Unit: "ms", Value: ms(m), Peer: "compose's", PeerValue: ms(c), Note: fmt.Sprintf("median of %d", n)})
		record(b, figure{Name: "plugin metadata call, peak RSS", Unit: "MB", Value: peakRSSMB(b, plugin["magents"], "docker-cli-plugin-metadata"),
			Peer: "compose's", PeerValue: peakRSSMB(b, plugin["compose"], "docker-cli-plugin-metadata")})
		record(b, figure{Name: "plugin binary (as installed, stripped)", Unit: "MB", Value: fileMB(b, plugin["magents"]),
			Peer: "docker-compose", PeerValue: fileMB(b, plugin["compose"]), Note: "a unit test fails above 40 MB"})
	}
}

// peakRSSMB is the most memory the command held at once (its rusage's maxrss).
func peakRSSMB(b *testing.B, name string, args ...string) float64 {
	cmd := exec.Command(name, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", name, err, out)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatalf("no rusage for %s", name)
	}
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}

func fileMB(b *testing.B, path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return float64(fi.Size()) / 1e6
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkLoad: 32 agents running bash instead of Claude on this 2-core machine, behind
// the default egress proxy: time to all healthy (against docker compose up -d --wait on the
// same file), supervisor RSS per agent, the engine's memory, the latency of docker magents
// ps with all 32 up, and what the idle fleet costs (Claude's own idle use aside: bash idles
// for free). MAGENTS_BENCH_LOAD_AGENTS sets the count (64 for the scale goal).
func BenchmarkLoad(b *testing.B) {
	n := pick(32, 2)
	if v, err := strconv.Atoi(os.Getenv("MAGENTS_BENCH_LOAD_AGENTS")); err == nil && v > 0 {
		n = v
	}
	file, run := fleetDir(b)
	up := []string{"magents", "-p", "benchload", "up", "--agents", strconv.Itoa(n), "--agent-cmd", "bash", "--memory", "256m"}
	idleFor := time.Duration(pick(30, 2)) * time.Second
	for i := 0; i < b.N; i++ {
		if !smoke { // first: volumes and the credential file, as BenchmarkUp
			run(up...)
			run("magents", "-f", file, "down")
		}
		without := cpuPercent(idleFor) // the machine without the fleet, the same span
		took, _ := run(up...)
		var ps, live []time.Duration
		for range pick(5, 2) {
			d, _ := run("magents", "-f", file, "ps", "--format", "json")
			ps = append(ps, d)
			d, _ = run("magents", "-f", file, "ps", "--live", "--format", "json")
			live = append(live, d)
		}
		time.Sleep(time.Duration(pick(5, 1)) * time.Second) // past the last start-interval checks
		idle := cpuPercent(idleFor)
		var rss float64
		for a := 1; a <= n; a++ {
			rss += rssKiB(b, fmt.Sprintf("benchload-agent-%d", a), "magents-supervisor")
		}
		engine := dockerdRSSKiB()
		run("magents", "-f", file, "down")
		compose, _ := run("compose", "-f", file, "-p", "benchload", "up", "-d", "--wait")
		run("magents", "-f", file, "down")
		record(b, figure{Name: fmt.Sprintf("load: up --agents %d (bash) to all healthy", n), Unit: "s", Value: took.Seconds(),
			Peer: "docker compose up -d --wait", PeerValue: compose.Seconds()})
		record(b, figure{Name: fmt.Sprintf("load: docker magents ps, %d agents", n), Unit: "s", Value: median(ps).Seconds(),
			Note: fmt.Sprintf("median of %d; goal under 1 s", len(ps))})
		record(b, figure{Name: fmt.Sprintf("load: docker magents ps --live, %d agents", n), Unit: "s", Value: median(live).Seconds(),
			Note: fmt.Sprintf("median of %d; a health exec in each agent", len(live))})
		record(b, figure{Name: fmt.Sprintf("load: supervisor RSS per agent, %d agents", n), Unit: "MB", Value: rss / float64(n) / 1024})
		record(b, figure{Name: fmt.Sprintf("load: CPU while %d agents idle (%% of one core)", n), Unit: "%", Value: idle,
			Peer: "the machine without them", PeerValue: without,
			Note: fmt.Sprintf("/proc/stat over %s; health checks, supervisors, the engine", idleFor)})
		if engine > 0 {
			record(b, figure{Name: fmt.Sprintf("load: dockerd RSS, %d agents up", n), Unit: "MB", Value: engine / 1024})
		}
	}
}

// dockerdRSSKiB is the host dockerd's resident memory (0 for a nested or remote engine).
func dockerdRSSKiB() float64 {
	if os.Getenv("DOCKER_HOST") != "" {
		return 0
	}
	pid, err := os.ReadFile("/var/run/docker.pid")
	if err != nil {
		return 0
	}
	return procKiB("/proc/"+strings.TrimSpace(string(pid))+"/status", "VmRSS:")
}
