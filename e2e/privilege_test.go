//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/icmd"
)

// The agents' effective configuration, as docker inspect shows it, is least privilege:
// a non-root numeric user, no capabilities, no-new-privileges, process, memory and CPU
// limits, no Docker socket; with --read-only-rootfs a read-only root where Claude still
// starts.
func TestLeastPrivilege(t *testing.T) {
	everyEngine(t, "the engine applies users, capabilities and read-only roots")
	parallelSuite(t)
	e := newFleetEnv(t, "privilege")
	mg := func(args ...string) *icmd.Result { return e.magents(append([]string{"-p", "prive2e"}, args...)...) }
	t.Cleanup(func() { mg("down", "--volumes") })
	mg("up", "--read-only-rootfs", "--pids", "512", "--cpus", "1.5").Assert(t, icmd.Success)
	mg("wait", "--for", "idle", "--timeout", "90s").Assert(t, icmd.Success) // Claude runs on the read-only root

	var insp []struct {
		Config     struct{ User string }
		HostConfig struct {
			CapAdd, CapDrop, SecurityOpt []string
			Privileged, ReadonlyRootfs   bool
			PidsLimit                    *int64
			Memory, NanoCpus             int64
			Tmpfs                        map[string]string
		}
		Mounts []struct{ Source, Destination string }
	}
	res := docker("inspect", "prive2e-agent-1")
	res.Assert(t, icmd.Success)
	if err := json.Unmarshal([]byte(res.Stdout()), &insp); err != nil || len(insp) != 1 {
		t.Fatalf("docker inspect: %v", err)
	}
	c := insp[0]
	hc := c.HostConfig
	checks := map[string]bool{
		"non-root numeric user":  c.Config.User == fmt.Sprintf("%d:%d", workspaceUID, workspaceUID),
		"cap_drop ALL":           slices.Contains(hc.CapDrop, "ALL") && len(hc.CapAdd) == 0,
		"no-new-privileges":      slices.Contains(hc.SecurityOpt, "no-new-privileges:true"),
		"not privileged":         !hc.Privileged,
		"pids limit 512":         hc.PidsLimit != nil && *hc.PidsLimit == 512,
		"memory limit 4g":        hc.Memory == 4<<30,
		"CPU limit 1.5":          hc.NanoCpus == 1_500_000_000,
		"read-only root":         hc.ReadonlyRootfs,
		"tmpfs for /tmp and run": hasKey(hc.Tmpfs, "/tmp") && hasKey(hc.Tmpfs, "/run/magents"),
	}
	for _, m := range c.Mounts {
		if strings.Contains(m.Source, "docker.sock") || strings.Contains(m.Destination, "docker.sock") {
			checks["no Docker socket"] = false
		}
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: not so in docker inspect: %+v", name, c)
		}
	}
	docker("exec", "prive2e-agent-1", "touch", "/etc/magents-test").Assert(t, icmd.Expected{ExitCode: 1, Err: "Read-only file system"})
	docker("exec", "prive2e-agent-1", "sh", "-c", "touch /workspace/ok /tmp/ok").Assert(t, icmd.Success)
	docker("exec", "prive2e-agent-1", "id", "-u").Assert(t, icmd.Expected{Out: fmt.Sprint(workspaceUID)})
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }
