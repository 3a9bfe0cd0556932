//go:build e2e

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
