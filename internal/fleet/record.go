package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker-magents/docker-magents/internal/atomicfile"
)

// Record is what docker magents last wrote to a compose file: the file's digest and the
// settings that decide what the agents can reach. It is kept where no agent can write it
// (under the user's Docker config dir, RecordsDir), never next to the compose file, which
// an agent may share the directory of: a hash there could be rewritten with the file.
type Record struct {
	File       string            `json:"file"`
	SHA256     string            `json:"sha256"`
	Privileged map[string]string `json:"privileged"`
}

// RecordsDir is where the records of the fleets a user runs are kept: the Docker config
// dir's magents/fleets.
func RecordsDir(dockerConfigDir string) string {
	return filepath.Join(dockerConfigDir, "magents", "fleets")
}

// RecordPath is a compose file's record in dir, named by a digest of its absolute path:
// every fleet defaults to project magents, so the project cannot tell them apart.
func RecordPath(dir, composeFile string) string {
	if real, err := filepath.EvalSymlinks(composeFile); err == nil {
		composeFile = real
	}
	sum := sha256.Sum256([]byte(composeFile))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])+".json")
}

// WriteRecord records content as what was written to the fleet's compose file.
func (f *Fleet) WriteRecord(dir string, content []byte) error {
	sum := sha256.Sum256(content)
	b, err := json.MarshalIndent(Record{File: f.ComposeFile, SHA256: hex.EncodeToString(sum[:]), Privileged: f.Privileged()}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keeping the record of %s: %w", f.ComposeFile, err)
	}
	if err := atomicfile.Write(RecordPath(dir, f.ComposeFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("keeping the record of %s: %w", f.ComposeFile, err)
	}
	// Where records were kept before: next to the file, where an agent could rewrite it.
	if err := os.Remove(filepath.Join(f.StateDir(), "compose.sha256")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// ReadRecord is the record of composeFile in dir; nil when there is none.
func ReadRecord(dir, composeFile string) (*Record, error) {
	b, err := os.ReadFile(RecordPath(dir, composeFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("the record of %s (%s) is damaged: %w; remove it, and run docker magents up --force", composeFile, RecordPath(dir, composeFile), err)
	}
	return &r, nil
}

// Unrecorded reports whether the compose file on disk is not what rec says docker magents
// wrote, and why: changed, or with no record on this machine. A missing file is not.
func Unrecorded(rec *Record, composeFile string) (string, error) {
	b, err := os.ReadFile(composeFile)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if rec == nil {
		return "there is no record on this machine of docker magents writing it", nil
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != rec.SHA256 {
		return "it changed since docker magents wrote it", nil
	}
	return "", nil
}

// Privileged are the settings that widen what the agents can reach on this host, by the
// up flag that sets each: the socket, the user, what is mounted and from where, what is
// copied in from the host, the network. A file that changed behind docker magents' back
// is never the source of one of these (see PrivilegeChanges).
func (f *Fleet) Privileged() map[string]string {
	return map[string]string{
		"image":                f.Image,
		"devcontainer":         f.Devcontainer,
		"workspace":            f.Workspace,
		"env-file":             f.EnvFile,
		"user":                 f.User,
		"docker":               strconv.FormatBool(f.Docker),
		"dev":                  strconv.FormatBool(f.Dev),
		"egress":               f.Egress,
		"allow":                strings.Join(f.Allow, ","),
		"allow-model-endpoint": strconv.FormatBool(!f.DenyModelEndpoint),
		"gateway-allow":        strings.Join(f.GatewayAllow, ","),
		"isolation":            f.Isolation,
		"include":              strings.Join(f.Includes, ","),
		"claude-md":            f.Config.ClaudeMD,
		"settings":             f.Config.Settings,
		"mcp":                  f.Config.MCP,
		"commands":             f.Config.Commands,
		"git-credentials":      f.Config.GitCredentials,
	}
}

// PrivilegeChanges lists, as "--flag: was → now", the privileged settings of f that differ
// from trusted and that the command line did not give (given reports a flag given).
func (f *Fleet) PrivilegeChanges(trusted map[string]string, given func(flag string) bool) []string {
	var out []string
	for flag, now := range f.Privileged() {
		if was := trusted[flag]; was != now && !given(flag) {
			out = append(out, fmt.Sprintf("--%s: %q → %q", flag, was, now))
		}
	}
	slices.Sort(out)
	return out
}
