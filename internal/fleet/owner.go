package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker-magents/docker-magents/internal/atomicfile"
)

// DefaultProjectFor is the project of a new fleet whose compose file is in dir: the
// directory's name as compose names a project after it (lowercase letters, digits, "-"
// and "_"), or DefaultProject when nothing of the name is left.
func DefaultProjectFor(dir string) string {
	if p := normalizeProjectName(filepath.Base(dir)); p != "" {
		return p
	}
	return DefaultProject
}

// normalizeProjectName is compose's normalization of a project name (compose-go's
// loader.NormalizeProjectName, which the tests hold it to), kept here so that the model,
// and what reads a fleet's status, carries no compose loader.
func normalizeProjectName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	return strings.TrimLeft(b.String(), "_-")
}

// Owner records which fleet a project's volumes belong to: the compose file whose up
// made them. It is kept under the Docker config dir, out of every agent's reach, and not
// as a label on the volumes (compose takes a changed label for a changed volume, and
// offers to recreate it — its data lost).
type Owner struct {
	ComposeFile string `json:"compose_file"`
}

// OwnerPath is where project's owner is recorded in the Docker config dir.
func OwnerPath(dockerConfigDir, project string) string {
	return filepath.Join(dockerConfigDir, "magents", "projects", project+".json")
}

// ReadOwner is project's recorded owner, nil when none is.
func ReadOwner(dockerConfigDir, project string) (*Owner, error) {
	b, err := os.ReadFile(OwnerPath(dockerConfigDir, project))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var o Owner
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("%s: %w", OwnerPath(dockerConfigDir, project), err)
	}
	return &o, nil
}

// WriteOwner records f as its project's owner.
func (f *Fleet) WriteOwner(dockerConfigDir string) error {
	path := OwnerPath(dockerConfigDir, f.Project)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(Owner{ComposeFile: f.ComposeFile}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// RemoveOwner forgets f's ownership of its project (its volumes are gone).
func (f *Fleet) RemoveOwner(dockerConfigDir string) error {
	o, err := ReadOwner(dockerConfigDir, f.Project)
	if err != nil || o == nil || o.ComposeFile != f.ComposeFile {
		return err
	}
	if err := os.Remove(OwnerPath(dockerConfigDir, f.Project)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// OwnerMismatch is the refusal of an up whose project's volumes belong to another fleet.
func (f *Fleet) OwnerMismatch(o *Owner, volumes []string) error {
	return fmt.Errorf("project %s's volumes (%d: %s …) belong to the fleet of %s, not to this one (%s): its agents would start on that checkout's clones and config. "+
		"Give this fleet a project of its own (docker magents -p NAME up), or remove that fleet's volumes first (docker magents -f %s down --volumes); nothing was written",
		f.Project, len(volumes), volumes[0], o.ComposeFile, f.ComposeFile, o.ComposeFile)
}
