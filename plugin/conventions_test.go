package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// eachCommand calls fn for the root command and every command under it.
func eachCommand(cmd *cobra.Command, fn func(*cobra.Command)) {
	fn(cmd)
	for _, c := range cmd.Commands() {
		eachCommand(c, fn)
	}
}

// Help shows a boolean flag as docker's and compose's do: `--detach`, not
// `--detach[=true|false]` (what pflag v1.1.0 prints; docker/cli and compose pin v1.0.10).
func TestBooleanFlagsReadAsDockers(t *testing.T) {
	eachCommand(newRootCmd(nil), func(cmd *cobra.Command) {
		if usage := cmd.LocalFlags().FlagUsages(); strings.Contains(usage, "[=true|false]") {
			t.Errorf("%s --help:\n%s", cmd.CommandPath(), usage)
		}
	})
}

// What each short flag means in docker compose and the docker CLI: a shorthand of docker
// magents means the same (no up -w, which is compose's --watch; -n is --tail only).
var shortFlagMeanings = map[string][]string{
	"a": {"all"},
	"d": {"detach"},
	"e": {"env"},
	"f": {"file", "follow", "force"},
	"m": {"memory"},
	"n": {"tail"},
	"o": {"output"},
	"p": {"project-name"},
	"q": {"quiet"},
	"r": {"readonly"}, // not in compose; kubectl attach's and docker's --read-only are long only
	"t": {"tag", "timeout", "timestamps"},
	"u": {"user"},
	"v": {"volumes"},
	"w": {"workdir"},
}

func TestShortFlagsMeanWhatTheyMeanInCompose(t *testing.T) {
	eachCommand(newRootCmd(nil), func(cmd *cobra.Command) {
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Shorthand != "" && !slices.Contains(shortFlagMeanings[f.Shorthand], f.Name) {
				t.Errorf("%s -%s is --%s; in compose -%s is %v", cmd.CommandPath(), f.Shorthand, f.Name, f.Shorthand, shortFlagMeanings[f.Shorthand])
			}
		})
	})
}

// complete runs docker's __complete for args in dir, as `docker magents ARGS<TAB>` does,
// and returns the candidates it prints (without cobra's directive line).
func complete(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	t.Chdir(dir)
	cmd := newRootCmd(nil)
	cmd.PersistentPreRunE = nil // the plugin framework's setup of the docker CLI: no engine is asked
	var out strings.Builder
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(append([]string{cobra.ShellCompRequestCmd}, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line != "" && !strings.HasPrefix(line, ":") {
			got = append(got, strings.SplitN(line, "\t", 2)[0])
		}
	}
	return got
}

// Completion names the fleet's agents for every command that takes one, and the values
// of flags that take one of a few.
func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	f := fleet.New("magents", filepath.Join(dir, fleet.DefaultFile))
	f.Agents = 3
	content, err := compose.Render(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.ComposeFile, content, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"attach", ""}, []string{"agent-1", "agent-2", "agent-3"}},
		{[]string{"logs", "-f", "agent-"}, []string{"agent-1", "agent-2", "agent-3"}},
		{[]string{"exec", "agent-2", ""}, nil}, // the command, not an agent
		{[]string{"wait", "agent-1", ""}, []string{"agent-2", "agent-3"}},
		{[]string{"doctor", "agent-3", "agent-1", ""}, []string{"agent-2"}},
		{[]string{"up", "--isolation", ""}, fleet.Isolations},
		{[]string{"up", "--egress", ""}, []string{"allowlist", "open"}},
		{[]string{"build", "--target", ""}, images.TargetNames},
		{[]string{"ps", "--format", ""}, []string{"table", "json"}},
		{[]string{"wait", "--for", ""}, []string{"starting", "working", "waiting", "idle", "done", "failed", "auth-rejected", "budget-exceeded"}},
	} {
		if got := complete(t, dir, tc.args...); !slices.Equal(got, tc.want) && !(tc.want == nil && len(got) == 0) {
			t.Errorf("docker magents %s<TAB>: %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	// Every command whose usage names an AGENT completes agent names.
	eachCommand(newRootCmd(nil), func(cmd *cobra.Command) {
		if strings.Contains(cmd.Use, "AGENT") && cmd.ValidArgsFunction == nil {
			t.Errorf("%s takes an AGENT but does not complete one", cmd.CommandPath())
		}
	})
}
