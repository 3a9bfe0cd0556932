package cmdref

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestPages(t *testing.T) {
	root := &cobra.Command{Use: "tool", Short: "A tool"}
	root.Flags().StringP("file", "f", "x.yml", "The file")
	sub := &cobra.Command{Use: "run [OPTIONS] NAME", Short: "Run it", Long: "Run it, at length.", Example: "  docker tool run a", Run: func(*cobra.Command, []string) {}}
	sub.Flags().Bool("fast", false, "Go fast | or not")
	sub.Flags().Int("n", 3, "How many")
	sub.Flags().String("secret", "", "hidden")
	_ = sub.Flags().MarkHidden("secret")
	hidden := &cobra.Command{Use: "internal", Hidden: true, Run: func(*cobra.Command, []string) {}}
	root.AddCommand(sub, hidden)
	pages := Pages(root, "docker")
	if len(pages) != 2 || pages["tool_internal.md"] != nil {
		t.Fatalf("pages: %v", len(pages))
	}
	run := string(pages["tool_run.md"])
	for _, want := range []string{
		"# docker tool run\n", "docker tool run [OPTIONS] NAME\n", "Run it, at length.", "| `--fast` | `bool` |  | Go fast \\| or not |",
		"| `--n` | `int` | `3` | How many |", "```console\n  docker tool run a\n```", "Parent command: [`docker tool`](tool.md)",
	} {
		if !strings.Contains(run, want) {
			t.Errorf("tool_run.md lacks %q:\n%s", want, run)
		}
	}
	if strings.Contains(run, "secret") || strings.Contains(run, "[flags]") {
		t.Errorf("tool_run.md shows a hidden flag or cobra's [flags]:\n%s", run)
	}
	if top := string(pages["tool.md"]); !strings.Contains(top, "| [`docker tool run`](tool_run.md) | Run it |") || !strings.Contains(top, "`-f`, `--file`") {
		t.Errorf("tool.md:\n%s", top)
	}
}
