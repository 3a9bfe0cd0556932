// Package gitcredential is `magents-supervisor git-credential get|store|erase`, git's
// credential helper (credential.helper "!magents-supervisor git-credential") in two
// places: in an agent it answers for the fleet's git relay (gitrelay.URLEnv) with the
// agent's own token; in the gateway, for the remotes, from the fleet's read-only
// credentials file (gitrelay.CredentialsEnv, the git-credentials format,
// https://USER:TOKEN@HOST per line). It ignores store and erase, so nothing is written.
package gitcredential

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/gitrelay"
)

// Run is the helper: args are git's (get, store or erase), stdin its question.
func Run(args []string, stdin io.Reader, stdout io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: magents-supervisor git-credential get|store|erase")
		return 2
	}
	if args[0] != "get" {
		_, _ = io.Copy(io.Discard, stdin)
		return 0
	}
	want := map[string]string{}
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			want[k] = v
		}
	}
	if user, pass, ok := relayCredential(want, os.Getenv); ok {
		fmt.Fprintf(stdout, "username=%s\npassword=%s\n", user, pass)
		return 0
	}
	path := os.Getenv(gitrelay.CredentialsEnv)
	if path == "" {
		return 0
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0 // none: git asks the next helper, or fails as it would without one
	}
	if user, pass, ok := matchCredential(string(b), want); ok {
		fmt.Fprintf(stdout, "username=%s\npassword=%s\n", user, pass)
	}
	return 0
}

// matchCredential finds the first line of a git-credentials file for the protocol and
// host git asks about (and its username, when it gives one).
func matchCredential(file string, want map[string]string) (user, pass string, ok bool) {
	for _, line := range strings.Split(file, "\n") {
		u, err := url.Parse(strings.TrimSpace(line))
		if err != nil || u.User == nil {
			continue
		}
		p, hasPass := u.User.Password()
		if !hasPass || u.Scheme != want["protocol"] || !strings.EqualFold(u.Host, want["host"]) {
			continue
		}
		if w := want["username"]; w != "" && w != u.User.Username() {
			continue
		}
		return u.User.Username(), p, true
	}
	return "", "", false
}

// relayCredential answers git's credential get for the relay's own URL (URLEnv) with the
// agent's token: the only secret an agent's git ever sends.
func relayCredential(want map[string]string, getenv func(string) string) (user, pass string, ok bool) {
	base := getenv(gitrelay.URLEnv)
	if base == "" {
		return "", "", false
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != want["protocol"] || !strings.EqualFold(u.Host, want["host"]) {
		return "", "", false
	}
	for _, k := range []string{agentenv.GatewayTokenFile, agentenv.AgentTokenFile} {
		if f := getenv(k); f != "" {
			b, err := os.ReadFile(f)
			if err == nil && len(strings.TrimSpace(string(b))) > 0 {
				return "agent", strings.TrimSpace(string(b)), true
			}
		}
	}
	return "", "", false
}
