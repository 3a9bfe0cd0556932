package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
