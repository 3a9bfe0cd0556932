package workspace

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/docker-magents/docker-magents/internal/fileowner"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// Owner is the workspace owner's UID:GID, which the agents run as, or the image's user
// when the owner is root: nothing in an agent runs as root.
func Owner(st os.FileInfo) string {
	if uid, gid, ok := fileowner.Of(st); ok && uid != 0 {
		return fmt.Sprintf("%d:%d", uid, gid)
	}
	return fleet.DefaultUser
}

// HostGitConfig is `git config --get KEY` on this host ("" without git or the key).
func HostGitConfig(key string) string {
	out, err := exec.Command("git", "config", "--get", key).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// GroupOf is the GID that owns path on this host ("" when it cannot be read): the group
// an agent joins to use the engine's socket.
func GroupOf(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return ""
	}
	if _, gid, ok := fileowner.Of(st); ok {
		return strconv.Itoa(gid)
	}
	return ""
}
