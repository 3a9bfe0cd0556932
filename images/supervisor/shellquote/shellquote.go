// Package shellquote quotes a word for /bin/sh: the supervisor's own path in the commands
// it hands to others to run (Claude's hooks, git's credential helper and the relay's
// pre-receive hook), which run it through a shell.
package shellquote

import "strings"

// Quote is s as one shell word: as it is when it holds nothing a shell reads specially,
// else in single quotes.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
