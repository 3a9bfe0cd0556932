package fleet

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/docker-magents/docker-magents/internal/atomicfile"
	"github.com/gofrs/flock"
)

// Lock serializes commands that change a project (two `up` at once): it holds an
// exclusive flock on the state dir's lock file until the returned func is called.
func (f *Fleet) Lock() (unlock func(), err error) { return LockFor(f.ComposeFile) }

// LockFor is the lock of the fleet whose compose file is composeFile, to take before
// reading the file: what is read under it stays what is acted on.
func LockFor(composeFile string) (unlock func(), err error) {
	dir := filepath.Join(filepath.Dir(composeFile), StateDirName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the project state dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, maskFileName), nil, 0o444); err != nil && !os.IsPermission(err) {
		return nil, fmt.Errorf("creating the file that masks the fleet's own files: %w", err)
	}
	lock := flock.New(filepath.Join(dir, "lock"))
	locked, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking the project state dir %s: %w", dir, err)
	}
	if !locked {
		fmt.Fprintf(os.Stderr, "waiting for another docker magents command on %s to finish…\n", filepath.Base(composeFile))
		if err := lock.Lock(); err != nil {
			return nil, fmt.Errorf("locking the project state dir %s: %w", dir, err)
		}
	}
	return func() { lock.Close() }, nil
}

// WriteAgentCredential puts the credential the agents read into their secrets dir, by
// rename (a running agent sees the new file on its next Claude start), readable only by
// the agents' user, and removes any other credential file there.
func (f *Fleet) WriteAgentCredential(name, value string) error {
	uid, gid, err := ParseUser(f.User)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 && uid != os.Geteuid() {
		return fmt.Errorf("the agents run as uid %d, which could not read a credential written by uid %d: run docker magents up as that user, or give --user %d:%d", uid, os.Geteuid(), os.Geteuid(), os.Getegid())
	}
	if err := os.MkdirAll(f.SecretsDir(), 0o700); err != nil {
		return err
	}
	if err := os.Chmod(f.SecretsDir(), 0o700); err != nil {
		return err
	}
	dir := f.AgentSecretsDir()
	if err := atomicfile.WriteSecret(filepath.Join(dir, SecretFileName(name)), []byte(value), uid, gid); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if e.Name() != SecretFileName(name) && e.Name() != GitCredentialsFile {
			errs = append(errs, os.Remove(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// GitCredentialsFile is the agents' git credentials in their secrets dir.
const GitCredentialsFile = "git-credentials"

// WriteGitCredentials copies the fleet's git credentials file (Config.GitCredentials)
// into the agents' secrets dir, readable by them only, after checking each line is a URL
// with a user and a password; without one, it removes an earlier copy.
func (f *Fleet) WriteGitCredentials() error {
	path := filepath.Join(f.AgentSecretsDir(), GitCredentialsFile)
	if f.Config.GitCredentials == "" {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	src := f.Abs(f.Config.GitCredentials)
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("reading the git credentials: %w", err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		u, err := url.Parse(line)
		hasPass := false
		if err == nil && u.User != nil {
			_, hasPass = u.User.Password()
		}
		if !hasPass || u.Host == "" {
			// The line itself holds a secret: name it by number only.
			return fmt.Errorf("%s line %d: not a URL with a user and a password (the git-credentials format: https://USER:TOKEN@HOST)", src, i+1)
		}
	}
	uid, gid, err := ParseUser(f.User)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.SecretsDir(), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteSecret(filepath.Join(f.AgentSecretsDir(), GitCredentialsFile), b, uid, gid)
}

// ClearAgentCredential removes the agents' credential file.
func (f *Fleet) ClearAgentCredential() error {
	if err := os.RemoveAll(f.AgentSecretsDir()); err != nil {
		return err
	}
	return nil
}

// AgentCredential returns the variable of the credential file the agents have, if any.
func (f *Fleet) AgentCredential() string {
	for _, v := range CredentialVars {
		if _, err := os.Stat(filepath.Join(f.AgentSecretsDir(), SecretFileName(v))); err == nil {
			return v
		}
	}
	return ""
}

// IgnoreStateDir adds the state dir and the env file to .gitignore when the compose
// file's directory is in a git work tree.
func (f *Fleet) IgnoreStateDir() error {
	entries := []string{StateDirName + "/"}
	if env, err := filepath.Rel(f.Dir(), f.Abs(f.EnvFile)); err == nil && !strings.HasPrefix(env, "..") {
		entries = append(entries, filepath.ToSlash(env))
	}
	return IgnoreInGit(f.Dir(), "# docker magents project state and settings", entries...)
}

// IgnoreInGit appends the entries (paths relative to dir) that .gitignore in dir lacks,
// when dir is in a git work tree; elsewhere it does nothing.
func IgnoreInGit(dir, comment string, entries ...string) error {
	cmd := exec.Command("git", "rev-parse", "--is-inside-work-tree")
	cmd.Dir = dir
	if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != "true" {
		return nil
	}
	path := filepath.Join(dir, ".gitignore")
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		l := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), "/"), "/")
		have[l] = true
	}
	var add []string
	for _, e := range entries {
		if !have[strings.TrimSuffix(strings.TrimPrefix(e, "/"), "/")] {
			add = append(add, e)
		}
	}
	if len(add) == 0 {
		return nil
	}
	prefix := ""
	if len(b) > 0 && !strings.HasSuffix(string(b), "\n") {
		prefix = "\n"
	}
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer fh.Close()
	_, err = fh.WriteString(prefix + comment + "\n" + strings.Join(add, "\n") + "\n")
	return err
}
