package images

import "testing"

func TestBuildArgsAndTargets(t *testing.T) {
	t.Setenv("FROM_ENV", "yes")
	args, err := ParseBuildArgs([]string{"A=1", "B=", "FROM_ENV", "UNSET_VAR"})
	if err != nil {
		t.Fatal(err)
	}
	if args["A"] != "1" || args["B"] != "" || args["FROM_ENV"] != "yes" {
		t.Errorf("args %v", args)
	}
	if _, ok := args["UNSET_VAR"]; ok {
		t.Error("an unset KEY was passed on")
	}
	if _, err := ParseBuildArgs([]string{"=x"}); err == nil {
		t.Error("=x accepted")
	}
	if _, err := Resolve(Options{Targets: []string{"latest", "dev"}, Tags: []string{"x:y"}}); err == nil {
		t.Error("--tag with two targets accepted")
	}
	ts, err := Resolve(Options{Targets: []string{"dev"}, BuildArgs: []string{"CLAUDE_CODE_VERSION=9.9.9"}})
	if err != nil || *ts[0].Args["CLAUDE_CODE_VERSION"] != "9.9.9" || ts[0].Tags[0] != "magents/claude-agent:dev" {
		t.Errorf("resolved %+v, %v", ts, err)
	}
}
