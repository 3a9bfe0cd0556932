package gitrelay

import (
	"errors"
	"strings"
	"testing"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"https://git.example.com/org/repo.git":  "https/git.example.com/org/repo",
		"https://bot@Git.Example.com/org/repo/": "https/git.example.com/org/repo",
		"http://10.0.0.1:8080/team.git":         "http/10.0.0.1:8080/team",
		"git@github.com:org/repo.git":           "",
		"ssh://git@host/org/repo":               "",
		"https://host/":                         "",
		"https://host/org/../etc":               "",
		"https://host/org/.git/x":               "",
		"https://host/org/repo?x=1":             "",
	} {
		got, ok := Key(in)
		if got != want || ok != (want != "") {
			t.Errorf("Key(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if u := Upstream("https/git.example.com/org/repo"); u != "https://git.example.com/org/repo" {
		t.Errorf("Upstream: %s", u)
	}
	if u := URL("http://127.0.0.1:3128/", "https/h/o/r"); u != "http://127.0.0.1:3128/git/https/h/o/r" {
		t.Errorf("URL: %s", u)
	}
}

func TestCheck(t *testing.T) {
	const a, b, zero = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222", "0000000000000000000000000000000000000000"
	own, task := AgentBranch("agent-1"), TaskBranch("task-3")
	allowed := []string{own, task}
	ancestor := func(old, new string) (bool, error) { return old == a && new == b, nil }
	for _, c := range []struct {
		name string
		ups  []Update
		want string // "" for allowed
	}{
		{"creates its own branch", []Update{{zero, a, own}}, ""},
		{"fast-forwards its task's", []Update{{a, b, task}}, ""},
		{"main", []Update{{zero, a, "refs/heads/main"}}, "not agent-1's to push"},
		{"another agent's", []Update{{zero, a, AgentBranch("agent-2")}}, "not agent-1's to push"},
		{"a tag", []Update{{zero, a, "refs/tags/v1"}}, "not agent-1's to push"},
		{"one of two refs not its own", []Update{{zero, a, own}, {zero, a, "refs/heads/main"}}, "not agent-1's"},
		{"a delete", []Update{{a, zero, own}}, "never deletes"},
		{"forced", []Update{{b, a, own}}, "not a fast-forward"},
		{"nothing", nil, "nothing to push"},
	} {
		err := Check("agent-1", allowed, c.ups, ancestor)
		if (err == nil) != (c.want == "") || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	broken := func(string, string) (bool, error) { return false, errors.New("bad object") }
	if err := Check("agent-1", allowed, []Update{{a, b, own}}, broken); err == nil || !strings.Contains(err.Error(), "bad object") {
		t.Errorf("an ancestry that cannot be read: %v", err)
	}
	ups, err := ParseUpdates(a + " " + b + " " + own + "\n")
	if err != nil || len(ups) != 1 || ups[0] != (Update{a, b, own}) {
		t.Errorf("ParseUpdates: %v %v", ups, err)
	}
	if _, err := ParseUpdates("junk\n"); err == nil {
		t.Error("ParseUpdates took junk")
	}
}
