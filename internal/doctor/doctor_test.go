package doctor

import (
	"strings"
	"testing"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
)

func TestWriteTableGroupsByScopeAndShowsFixesOfProblemsOnly(t *testing.T) {
	r := Report{Checks: []agentstate.Check{
		{Scope: "fleet", Name: "engine", Status: agentstate.CheckOK, Detail: "Docker Engine 28", Fix: "not shown"},
		{Scope: "agent-1", Name: "container", Status: agentstate.CheckFail, Detail: "exited", Fix: "docker magents up"},
		{Scope: "agent-1", Name: "tmux", Status: agentstate.CheckWarn, Detail: "slow"},
	}}
	var b strings.Builder
	r.WriteTable(&b)
	want := "[ok]   engine       Docker Engine 28\n" +
		"\nagent-1\n" +
		"[FAIL] container    exited\n" +
		"                    → docker magents up\n" +
		"[warn] tmux         slow\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
