package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// maxBinaryBytes is the most the stripped plugin may weigh (docker-compose weighs 29 MB):
// every docker user with the plugin installed keeps it on disk and loads it on
// `docker --help`. make bench shows the figure next to compose's.
const maxBinaryBytes = 40_000_000

// The plugin, built as make build builds it, stays within its size.
func TestBinarySize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin: not in -short")
	}
	bin := filepath.Join(t.TempDir(), "docker-magents")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("docker-magents: %.1f MB stripped", float64(fi.Size())/1e6)
	if fi.Size() > maxBinaryBytes {
		t.Errorf("the stripped plugin weighs %.1f MB, above its %.0f MB: see what grew with go tool nm -size -sort size (on an unstripped build) and keep API packages out of the plugin (internal/manifest's shapes, the dynamic client)",
			float64(fi.Size())/1e6, float64(maxBinaryBytes)/1e6)
	}
}
