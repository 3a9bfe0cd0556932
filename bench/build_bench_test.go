//go:build e2e

// Package bench measures docker-magents against its peer tools in the same run, on the
// real engine: `make bench` (it installs the plugin first).
package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var repoRoot = func() string { wd, _ := os.Getwd(); return filepath.Dir(wd) }()

func caCert() string {
	for _, c := range []string{os.Getenv("CA_CERT"), os.Getenv("SSL_CERT_FILE")} {
		if _, err := os.Stat(c); c != "" && err == nil {
			return c
		}
	}
	return ""
}

// magentsBuild and bakeBuild build the same target with each tool.
func magentsBuild(b *testing.B, extra ...string) time.Duration {
	args := []string{"magents", "build", "--target", "latest", "--progress", "quiet"}
	if c := caCert(); c != "" {
		args = append(args, "--ca-cert", c)
	}
	return timed(b, nil, append(args, extra...)...)
}

func bakeBuild(b *testing.B, extra ...string) time.Duration {
	args := append([]string{"buildx", "bake", "--progress", "quiet"}, extra...)
	if c := caCert(); c != "" {
		// bake asks before it reads a file outside the working directory.
		args = append(args, "--allow", "fs.read="+c)
	}
	return timed(b, []string{"CA_CERT=" + caCert()}, append(args, "latest")...)
}

func timed(b *testing.B, env []string, args ...string) time.Duration {
	b.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return time.Since(start)
}

// BenchmarkBuild: a cold build (--no-cache) and the median of warm no-op rebuilds of the
// latest target, docker magents build against docker buildx bake, on the same engine.
func BenchmarkBuild(b *testing.B) {
	for i := 0; i < b.N; i++ {
		coldMagents := magentsBuild(b, "--no-cache")
		coldBake := bakeBuild(b, "--no-cache")
		var warmMagents, warmBake []time.Duration
		for range 5 {
			warmMagents = append(warmMagents, magentsBuild(b))
			warmBake = append(warmBake, bakeBuild(b))
		}
		wm, wb := median(warmMagents), median(warmBake)
		b.ReportMetric(coldMagents.Seconds(), "cold-magents-s")
		b.ReportMetric(coldBake.Seconds(), "cold-bake-s")
		b.ReportMetric(wm.Seconds(), "warm-magents-s")
		b.ReportMetric(wb.Seconds(), "warm-bake-s")
		b.ReportMetric(wm.Seconds()/wb.Seconds(), "warm-magents/bake")
	}
	for _, target := range []string{"latest", "dev", "cloudrun"} {
		out, err := exec.Command("docker", "image", "inspect", "-f", "{{.Size}}", "magents/claude-agent:"+target).Output()
		if err != nil {
			continue // not built: `docker magents build --target ` + target
		}
		size, _ := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		b.ReportMetric(size/1e6, target+"-MB")
	}
}

// BenchmarkSupervisorIdleRSS: the supervisor's resident memory in an idle agent.
func BenchmarkSupervisorIdleRSS(b *testing.B) {
	for i := 0; i < b.N; i++ {
		out, err := exec.Command("docker", "run", "-d", "magents/claude-agent:latest").Output()
		if err != nil {
			b.Fatalf("docker run: %v", err)
		}
		id := strings.TrimSpace(string(out))
		time.Sleep(10 * time.Second)
		rss, err := exec.Command("docker", "exec", id, "ps", "-o", "rss=", "-C", "magents-supervisor").Output()
		_ = exec.Command("docker", "rm", "-f", id).Run()
		if err != nil {
			b.Fatalf("ps in the agent: %v", err)
		}
		kb, err := strconv.Atoi(strings.Fields(string(rss))[0])
		if err != nil {
			b.Fatalf("parsing %q: %v", rss, err)
		}
		b.ReportMetric(float64(kb)/1024, "supervisor-RSS-MB")
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
