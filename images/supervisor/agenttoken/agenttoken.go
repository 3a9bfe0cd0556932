// Package agenttoken is how an agent is known to its fleet's model gateway and work
// queue's dispatcher: a token that is an HMAC of its name under the fleet's key. Whoever
// holds the key (the gateway; the plugin, which gives cluster agents theirs as secrets)
// makes an agent's token; an agent holds its own alone and learns nothing of the key or of
// another's. It imports the standard library only: the supervisor builds from the image's
// context.
package agenttoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// Prefix starts every token, so one is told from an API key at a glance.
const Prefix = "magents-gw-"

// Of is agent's token under key.
func Of(key []byte, agent string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("docker-magents gateway\x00" + agent))
	return Prefix + hex.EncodeToString(mac.Sum(nil))
}

// Valid reports, in time that does not depend on where the two differ, whether token is
// agent's under key.
func Valid(key []byte, agent, token string) bool {
	return hmac.Equal([]byte(strings.TrimSpace(token)), []byte(Of(key, agent)))
}

// Owner is the agent of names whose token this is, or "" when none: each is checked, in
// constant time, so the answer's time tells nothing of the token.
func Owner(key []byte, names []string, token string) string {
	owner := ""
	for _, name := range names {
		if Valid(key, name, token) && owner == "" {
			owner = name
		}
	}
	return owner
}

// Presented is the token a request carries: Claude sends ANTHROPIC_AUTH_TOKEN as a bearer
// token; an API-key client sends x-api-key.
func Presented(r *http.Request) string {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

// PresentedByGit is the token a git client presents: the password of HTTP basic auth
// (git's credential helper in the agent gives it), else as Presented.
func PresentedByGit(r *http.Request) string {
	if _, pass, ok := r.BasicAuth(); ok {
		return pass
	}
	return Presented(r)
}
