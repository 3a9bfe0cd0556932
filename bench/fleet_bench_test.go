//go:build e2e

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkUp: `docker magents up --agents N` until every agent is healthy, against
// `docker compose up -d --wait` on the very same file, from no containers each time.
func BenchmarkUp(b *testing.B) {
	dir := b.TempDir()
	// Owned by the image's user, as a developer's checkout is by the developer: up refuses
	// a workspace the agents cannot write.
	if err := os.Chown(dir, 1000, 1000); err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(dir, "docker-compose.claude.yml")
	run := func(args ...string) time.Duration {
		cmd := exec.Command("docker", args...)
		cmd.Dir = dir
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("docker %v: %v\n%s", args, err, out)
		}
		return time.Since(start)
	}
	b.Cleanup(func() { _ = exec.Command("docker", "magents", "-f", file, "down", "--volumes").Run() })
	for _, n := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				run("magents", "-p", "benchfleet", "up", "--agents", fmt.Sprint(n))
				run("magents", "-f", file, "down")
				magents := run("magents", "-p", "benchfleet", "up", "--agents", fmt.Sprint(n))
				run("magents", "-f", file, "down")
				compose := run("compose", "-f", file, "-p", "benchfleet", "up", "-d", "--wait")
				run("magents", "-f", file, "down")
				b.ReportMetric(magents.Seconds(), "magents-up-s")
				b.ReportMetric(compose.Seconds(), "compose-up-s")
				b.ReportMetric(magents.Seconds()/compose.Seconds(), "magents/compose")
			}
		})
	}
}

// BenchmarkStartup: the plugin's own start-up, next to compose's: `docker X --help`, and
// the metadata call docker makes on every `docker --help`.
func BenchmarkStartup(b *testing.B) {
	home, _ := os.UserHomeDir()
	plugins := map[string]string{
		"magents": filepath.Join(home, ".docker", "cli-plugins", "docker-magents"),
		"compose": "/usr/local/lib/docker/cli-plugins/docker-compose",
	}
	for _, name := range []string{"magents", "compose"} {
		b.Run(name+"/help", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if out, err := exec.Command("docker", name, "--help").CombinedOutput(); err != nil {
					b.Fatalf("%v %s", err, out)
				}
			}
		})
		b.Run(name+"/metadata", func(b *testing.B) {
			if _, err := os.Stat(plugins[name]); err != nil {
				b.Skipf("%s is not installed at %s", name, plugins[name])
			}
			for i := 0; i < b.N; i++ {
				if out, err := exec.Command(plugins[name], "docker-cli-plugin-metadata").CombinedOutput(); err != nil {
					b.Fatalf("%v %s", err, out)
				}
			}
		})
	}
}

// BenchmarkLoad: 32 agents running bash instead of Claude on this 2-core machine: time to
// all healthy (against docker compose up -d --wait on the same file), supervisor RSS per
// agent, the engine's memory, and the latency of docker magents ps with all 32 up.
func BenchmarkLoad(b *testing.B) {
	const n = 32
	dir := b.TempDir()
	if err := os.Chown(dir, 1000, 1000); err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(dir, "docker-compose.claude.yml")
	run := func(args ...string) (time.Duration, []byte) {
		cmd := exec.Command("docker", args...)
		cmd.Dir = dir
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("docker %v: %v\n%s", args, err, out)
		}
		return time.Since(start), out
	}
	b.Cleanup(func() { _ = exec.Command("docker", "magents", "-f", file, "down", "--volumes").Run() })
	for i := 0; i < b.N; i++ {
		up, _ := run("magents", "-p", "benchload", "up", "--agents", fmt.Sprint(n), "--agent-cmd", "bash", "--memory", "256m", "--egress", "open")
		var ps []time.Duration
		for range 5 {
			d, _ := run("magents", "-f", file, "ps", "--format", "json")
			ps = append(ps, d)
		}
		slices.Sort(ps)
		var rss int
		for a := 1; a <= n; a++ {
			_, out := run("exec", fmt.Sprintf("benchload-agent-%d", a), "ps", "-o", "rss=", "-C", "magents-supervisor")
			for _, f := range strings.Fields(string(out)) {
				kb, _ := strconv.Atoi(f)
				rss += kb
			}
		}
		engine := 0.0
		if pid, err := exec.Command("pidof", "dockerd").Output(); err == nil && os.Getenv("DOCKER_HOST") == "" {
			if status, err := os.ReadFile("/proc/" + strings.Fields(string(pid))[0] + "/status"); err == nil {
				for _, line := range strings.Split(string(status), "\n") {
					if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
						kb, _ := strconv.Atoi(strings.Fields(v)[0])
						engine = float64(kb) / 1024
					}
				}
			}
		}
		run("magents", "-f", file, "down")
		compose, _ := run("compose", "-f", file, "-p", "benchload", "up", "-d", "--wait")
		run("magents", "-f", file, "down")
		b.ReportMetric(up.Seconds(), "magents-up-s")
		b.ReportMetric(compose.Seconds(), "compose-up-s")
		b.ReportMetric(up.Seconds()/compose.Seconds(), "magents/compose")
		b.ReportMetric(ps[len(ps)/2].Seconds(), "ps-median-s")
		b.ReportMetric(float64(rss)/float64(n)/1024, "supervisor-rss-MB/agent")
		if engine > 0 {
			b.ReportMetric(engine, "dockerd-rss-MB")
		}
	}
}
