// Package gitrelay is the contract of the fleet's git relay, for the renderers that point
// the agents' git at it and the gateway that serves it: agents hold no git credential,
// their git reaches the fleet's remotes through the gateway (known by the agent's token),
// which fetches with the fleet's credential and pushes only what the rules below allow.
// It imports the standard library alone: the supervisor builds from the image's context.
package gitrelay

import (
	"fmt"
	"net/url"
	"strings"
)

const (
	// PathPrefix starts the relay's paths: PathPrefix + Key(remote) + git's own suffix
	// (/info/refs, /git-upload-pack, /git-receive-pack).
	PathPrefix = "/git/"
	// RemotesEnv is the gateway's: the remotes it serves, by commas.
	RemotesEnv = "MAGENTS_GIT_REMOTES"
	// StateEnv is the gateway's: the directory of its mirrors, on its state volume.
	StateEnv = "MAGENTS_GIT_RELAY_STATE"
	// CredentialsEnv is the gateway's: the fleet's git-credentials file.
	CredentialsEnv = "MAGENTS_GIT_CREDENTIALS"
	// URLEnv is the agent's: the relay's base URL, which its credential helper answers
	// for with the agent's token.
	URLEnv = "MAGENTS_GIT_RELAY"
	// The relay's hook's, given by the gateway through git http-backend: the refs the
	// agent may push, the remote, and the supervisor's path (its credential helper).
	AllowedEnv  = "MAGENTS_GIT_ALLOWED"
	UpstreamEnv = "MAGENTS_GIT_UPSTREAM"
	HelperEnv   = "MAGENTS_GIT_HELPER"
	// StateDir is the mirrors' directory beside the gateway's state (hidden: the proxy
	// serves no hidden directory as an agent's).
	StateDir = ".git-relay"
)

// Key is the relay's name for a remote: scheme/host/path, without user, query, trailing
// slash or .git. ok is false for what git's smart HTTP does not serve or a path that
// could name another directory (empty, ".", ".." or hidden segments).
func Key(remote string) (key string, ok bool) {
	u, err := url.Parse(strings.TrimSpace(remote))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	p := strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	if p == "" {
		return "", false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") || strings.ContainsAny(seg, "\\\x00") {
			return "", false
		}
	}
	host := strings.ToLower(u.Host)
	if strings.ContainsAny(host, "/\\") || strings.HasPrefix(host, ".") {
		return "", false
	}
	return u.Scheme + "/" + host + "/" + p, true
}

// Upstream is the remote a key names, as the gateway reaches it.
func Upstream(key string) string {
	scheme, rest, _ := strings.Cut(key, "/")
	return scheme + "://" + rest
}

// URL is what the agents' git uses in remote's place (url.URL.insteadOf), base being the
// gateway as the agent reaches it.
func URL(base, key string) string {
	return strings.TrimSuffix(base, "/") + PathPrefix + key
}

// AgentBranch is the branch an agent owns on the fleet's remotes.
func AgentBranch(agent string) string { return "refs/heads/magents/" + agent }

// TaskBranch is the branch of a queued task, its agent's while it works on it.
func TaskBranch(id string) string { return "refs/heads/magents/" + id }

// ZeroID is git's name for no object: an update from it creates a ref, to it deletes one.
func ZeroID(id string) bool { return strings.Trim(id, "0") == "" }

// Update is one ref update of a push, as git's pre-receive hook reads it.
type Update struct{ Old, New, Ref string }

// ParseUpdates reads the pre-receive hook's input: "OLD NEW REF" per line.
func ParseUpdates(in string) ([]Update, error) {
	var ups []Update
	for _, line := range strings.Split(strings.TrimSpace(in), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("not a ref update: %q", line)
		}
		ups = append(ups, Update{Old: f[0], New: f[1], Ref: f[2]})
	}
	return ups, nil
}

// Check applies the push rules to an agent's updates: only a ref of allowed (its own
// branch, or its task's), never a delete, never a non-fast-forward (isAncestor answers
// whether old is an ancestor of new). The error says which rule, for git to show the agent.
func Check(agent string, allowed []string, ups []Update, isAncestor func(old, new string) (bool, error)) error {
	if len(ups) == 0 {
		return fmt.Errorf("docker-magents git relay: nothing to push")
	}
	for _, u := range ups {
		if !contains(allowed, u.Ref) {
			return fmt.Errorf("docker-magents git relay: %s is not %s's to push: an agent pushes only %s", u.Ref, agent, strings.Join(allowed, " or "))
		}
		if ZeroID(u.New) {
			return fmt.Errorf("docker-magents git relay: %s: an agent never deletes a branch", u.Ref)
		}
		if ZeroID(u.Old) {
			continue
		}
		ff, err := isAncestor(u.Old, u.New)
		if err != nil {
			return fmt.Errorf("docker-magents git relay: %s: %v", u.Ref, err)
		}
		if !ff {
			return fmt.Errorf("docker-magents git relay: %s: not a fast-forward of the remote's branch; an agent never rewrites what it pushed (fetch, merge, push again)", u.Ref)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
