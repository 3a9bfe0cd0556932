// Package envvar reads the supervisor's settings from its environment the one way every
// role reads them: an unset or empty variable takes its default, and a switch is on for
// 1, true, yes or on.
package envvar

import (
	"os"
	"strings"
)

// Get is key's value, or def when it is unset or empty.
func Get(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// IsTrue says whether a switch's value turns it on.
func IsTrue(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
