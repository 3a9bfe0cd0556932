package fleet

import (
	"strings"
	"testing"
)

// Any task file either parses into non-empty, trimmed tasks or is refused; never a panic.
func FuzzParseTasks(f *testing.F) {
	for _, seed := range []string{
		"Write the parser\nTest it\n",
		"- Write the parser\n- Test it\n",
		"[\"a\", \"b\"]",
		"# comment\n\n  task  \n",
		"- [nested]\n",
		"- {a: b}\n",
		"\x00\xff",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tasks, err := ParseTasks(b)
		if err != nil {
			return
		}
		for _, task := range tasks {
			if task == "" || task != strings.TrimSpace(task) {
				t.Fatalf("task %q is empty or untrimmed (from %q)", task, b)
			}
		}
	})
}

// An agent name is accepted only as agent-N or N with N ≥ 1, and names that agent.
func FuzzAgentNumber(f *testing.F) {
	for _, seed := range []string{"agent-1", "1", "agent-0", "agent--1", "agent-01", "agent-9999999999999999999", "agent-", " 1", "agent-1 "} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		n, err := AgentNumber(name)
		if err != nil {
			return
		}
		if n < 1 {
			t.Fatalf("%q accepted as agent %d", name, n)
		}
		if back, err := AgentNumber(AgentName(n)); err != nil || back != n {
			t.Fatalf("%q → %d → %q → %d, %v", name, n, AgentName(n), back, err)
		}
	})
}

// A user is accepted only as numeric UID:GID.
func FuzzParseUser(f *testing.F) {
	for _, seed := range []string{"1000:1000", "0:0", "root", "1000", ":", "-1:-1", "1000:1000:1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		uid, gid, err := ParseUser(s)
		if err == nil && (uid < 0 || gid < 0) {
			t.Fatalf("%q accepted as %d:%d", s, uid, gid)
		}
	})
}
