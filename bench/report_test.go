//go:build e2e

// Package bench measures docker-magents against its peer tools in the same run, on the
// real engine: `make bench` (it installs the plugin first). Each benchmark records its
// figures, each next to its peer's where it has one; the run ends with one report, a
// markdown table on stdout and the same as JSON and markdown under bench/results/.
// MAGENTS_BENCH_SMOKE=1 runs each benchmark at its smallest (CI checks that it works).
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// figure is one line of the report: a measured value of docker-magents, and, when it has
// one, the same measured of its peer in the same run, and their ratio.
type figure struct {
	Name      string  `json:"name"`
	Unit      string  `json:"unit"`
	Value     float64 `json:"value"`
	Peer      string  `json:"peer,omitempty"`
	PeerValue float64 `json:"peerValue,omitempty"`
	Ratio     float64 `json:"ratio,omitempty"` // Value / PeerValue
	Note      string  `json:"note,omitempty"`
}

type report struct {
	Time    time.Time `json:"time"`
	Smoke   bool      `json:"smoke"`
	Engine  string    `json:"engine"`
	CPUs    int       `json:"cpus"`
	MemGiB  float64   `json:"memGiB"`
	Figures []figure  `json:"figures"`
}

var (
	mu      sync.Mutex
	figures []figure
)

// smoke is MAGENTS_BENCH_SMOKE=1: the smallest run of each benchmark.
var smoke = os.Getenv("MAGENTS_BENCH_SMOKE") == "1"

// record adds a figure with its peer (peer "" for an absolute one).
func record(b *testing.B, f figure) {
	b.Helper()
	if f.Peer != "" && f.PeerValue > 0 {
		f.Ratio = f.Value / f.PeerValue
	}
	if math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
		b.Fatalf("%s measured as %v", f.Name, f.Value)
	}
	b.ReportMetric(f.Value, strings.ReplaceAll(f.Name, " ", "-")+"-"+f.Unit)
	mu.Lock()
	figures = append(figures, f)
	mu.Unlock()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if len(figures) > 0 {
		if err := writeReport(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench: writing the report:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func writeReport(w io.Writer) error {
	r := report{Time: time.Now().UTC(), Smoke: smoke, CPUs: runtime.NumCPU(), MemGiB: memTotalGiB(), Figures: figures}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})").Output(); err == nil {
		r.Engine = strings.TrimSpace(string(out))
	}
	md := markdown(r)
	fmt.Fprint(w, "\n"+md)
	dir := filepath.Join(repoRoot, "bench", "results")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stamp := r.Time.Format("20060102T150405Z")
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench-"+stamp+".json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench-"+stamp+".md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nreport: %s\n", filepath.Join(dir, "bench-"+stamp+".{json,md}"))
	return nil
}

func markdown(r report) string {
	var sb strings.Builder
	mode := ""
	if r.Smoke {
		mode = " — smoke run (smallest sizes; not figures to compare)"
	}
	fmt.Fprintf(&sb, "## docker-magents bench, %s%s\n\nEngine %s, %d CPUs, %.0f GiB.\n\n", r.Time.Format(time.RFC3339), mode, r.Engine, r.CPUs, r.MemGiB)
	sb.WriteString("| figure | docker-magents | peer | peer's | ratio |\n| --- | ---: | --- | ---: | ---: |\n")
	for _, f := range r.Figures {
		peer, pv, ratio := "—", "", ""
		if f.Peer != "" {
			peer, pv = f.Peer, num(f.PeerValue, f.Unit)
			if f.Ratio > 0 {
				ratio = fmt.Sprintf("%.2f×", f.Ratio)
			}
		}
		name := f.Name
		if f.Note != "" {
			name += " (" + f.Note + ")"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s |\n", name, num(f.Value, f.Unit), peer, pv, ratio)
	}
	return sb.String()
}

func num(v float64, unit string) string {
	switch {
	case unit == "agents":
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 1:
		return fmt.Sprintf("%.2f %s", v, unit)
	}
	return fmt.Sprintf("%.3f %s", v, unit)
}

func memTotalGiB() float64 { return procKiB("/proc/meminfo", "MemTotal:") / (1 << 20) }
