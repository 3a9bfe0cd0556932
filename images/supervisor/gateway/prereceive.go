package gateway

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/docker-magents/docker-magents/images/supervisor/gitrelay"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
	"github.com/docker-magents/docker-magents/images/supervisor/shellquote"
)

// PreReceive is `magents-supervisor git-pre-receive`, the relay mirrors' pre-receive
// hook: git runs it with the pushed objects in quarantine, checked, and the updates on
// stdin; it applies the push rules for REMOTE_USER (the agent) and pushes the updates on
// to the remote with the fleet's credential. Its exit refuses the push.
func PreReceive(stdin io.Reader, stderr io.Writer) int {
	in, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
	if err != nil {
		fmt.Fprintln(stderr, "docker-magents git relay:", err)
		return 1
	}
	ups, err := gitrelay.ParseUpdates(string(in))
	if err != nil {
		fmt.Fprintln(stderr, "docker-magents git relay:", err)
		return 1
	}
	agent := os.Getenv("REMOTE_USER")
	allowed := strings.Fields(os.Getenv(gitrelay.AllowedEnv))
	isAncestor := func(old, new string) (bool, error) {
		err := exec.Command("git", "merge-base", "--is-ancestor", old, new).Run()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return false, nil
		}
		return err == nil, err
	}
	if err := gitrelay.Check(agent, allowed, ups, isAncestor); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	upstream := os.Getenv(gitrelay.UpstreamEnv)
	args := []string{"-c", "credential.helper=", "-c", "credential.helper=!" + shellquote.Quote(os.Getenv(gitrelay.HelperEnv)) + " git-credential",
		"push", "--quiet", "--no-verify", upstream}
	for _, u := range ups {
		args = append(args, u.New+":"+u.Ref)
	}
	cmd := exec.Command("git", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		fmt.Fprintf(stderr, "docker-magents git relay: %s refused the push: %s\n", upstream, strings.TrimSpace(string(out)))
		return 1
	}
	logs.Printf("git relay: %s pushed %s to %s", agent, ups[0].Ref, upstream)
	return 0
}
