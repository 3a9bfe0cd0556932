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
		if !smoke {
			coldMagents := magentsBuild(b, "--no-cache")
			coldBake := bakeBuild(b, "--no-cache")
			record(b, figure{Name: "cold build (latest)", Unit: "s", Value: coldMagents.Seconds(), Peer: "docker buildx bake", PeerValue: coldBake.Seconds()})
		}
		// One build each first: the other tool's last build may have left its cache in
		// another state (bake and build pass the CA bundle differently).
		magentsBuild(b)
		bakeBuild(b)
		var warmMagents, warmBake []time.Duration
		for range pick(5, 1) {
			warmMagents = append(warmMagents, magentsBuild(b))
			warmBake = append(warmBake, bakeBuild(b))
		}
		record(b, figure{Name: "warm no-op rebuild (latest)", Unit: "s", Value: median(warmMagents).Seconds(),
			Peer: "docker buildx bake", PeerValue: median(warmBake).Seconds(), Note: fmt.Sprintf("median of %d", len(warmMagents))})
	}
}

// BenchmarkImageSize: each target's size against the sum of its parts: the base image,
// the Claude Code and supervisor binaries, and the Debian packages the target adds.
func BenchmarkImageSize(b *testing.B) {
	base := "debian:bookworm-slim"
	baseSize := imageSize(b, base)
	basePkgs := installedKiB(b, base)
	for i := 0; i < b.N; i++ {
		for _, target := range []string{"latest", "dev", "cloudrun"} {
			img := "magents/claude-agent:" + target
			if exec.Command("docker", "image", "inspect", img).Run() != nil {
				b.Logf("%s is not built: docker magents build --target %s", img, target)
				continue
			}
			out := output(b, "docker", "run", "--rm", "--entrypoint", "sh", img, "-c",
				`stat -Lc %s "$(command -v claude)" "$(command -v magents-supervisor)"`)
			var binaries float64
			for _, f := range strings.Fields(out) {
				n, _ := strconv.ParseFloat(f, 64)
				binaries += n
			}
			pkgs := (installedKiB(b, img) - basePkgs) * 1024
			parts := baseSize + binaries + pkgs
			record(b, figure{Name: "image size (" + target + ")", Unit: "MB", Value: imageSize(b, img) / 1e6,
				Peer: "sum of its parts", PeerValue: parts / 1e6,
				Note: fmt.Sprintf("base %.0f + claude and supervisor %.0f + packages %.0f MB", baseSize/1e6, binaries/1e6, pkgs/1e6)})
		}
	}
}

func imageSize(b *testing.B, img string) float64 {
	n, err := strconv.ParseFloat(output(b, "docker", "image", "inspect", "-f", "{{.Size}}", img), 64)
	if err != nil {
		b.Fatalf("size of %s: %v", img, err)
	}
	return n
}

// installedKiB is the sum of the Installed-Size of the Debian packages in img.
func installedKiB(b *testing.B, img string) float64 {
	out := output(b, "docker", "run", "--rm", "--entrypoint", "dpkg-query", img, "-W", "-f", "${Installed-Size}\n")
	var kib float64
	for _, f := range strings.Fields(out) {
		n, _ := strconv.ParseFloat(f, 64)
		kib += n
	}
	return kib
}

// output runs a command and returns its trimmed stdout; a failure ends the benchmark.
func output(b *testing.B, name string, args ...string) string {
	b.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// pick is n, or small in a smoke run.
func pick(n, small int) int {
	if smoke {
		return small
	}
	return n
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
