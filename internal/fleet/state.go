package fleet

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/docker-magents/docker-magents/images/supervisor/agenttoken"
	"github.com/docker-magents/docker-magents/internal/atomicfile"
	"github.com/gofrs/flock"
)

// Lock serializes commands that change a project (two `up` at once): it holds an
// exclusive flock on the state dir's lock file until the returned func is called.
func (f *Fleet) Lock() (unlock func(), err error) { return LockFor(f.ComposeFile) }

// LockFor is the lock of the fleet whose compose file is composeFile, to take before
// reading the file: what is read under it stays what is acted on.
func LockFor(composeFile string) (unlock func(), err error) {
	l, err := LockProject(composeFile)
	if err != nil {
		return nil, err
	}
	return l.Unlock, nil
}

// ProjectLock is a project's lock, held (LockProject).
type ProjectLock struct {
	lock *flock.Flock
	dir  string
	made bool // the state dir did not exist before this lock
}

// LockProject takes the lock of the fleet whose compose file is composeFile, making the
// state dir and its mask file when they are missing.
func LockProject(composeFile string) (*ProjectLock, error) {
	dir := filepath.Join(filepath.Dir(composeFile), StateDirName)
	for waited := false; ; {
		_, statErr := os.Lstat(dir)
		made := os.IsNotExist(statErr)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the project state dir: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, maskFileName), nil, 0o444); err != nil && !os.IsPermission(err) {
			return nil, fmt.Errorf("creating the file that masks the fleet's own files: %w", err)
		}
		lock := flock.New(filepath.Join(dir, lockFileName))
		locked, err := lock.TryLock()
		if err != nil {
			return nil, fmt.Errorf("locking the project state dir %s: %w", dir, err)
		}
		if !locked {
			if !waited {
				fmt.Fprintf(os.Stderr, "waiting for another docker magents command on %s to finish…\n", filepath.Base(composeFile))
				waited = true
			}
			if err := lock.Lock(); err != nil {
				return nil, fmt.Errorf("locking the project state dir %s: %w", dir, err)
			}
		}
		// The holder before us may have abandoned the lock (Abandon): its file is gone, and
		// holding it serializes nothing. Lock the one at the path now.
		held, err := lock.Stat()
		if err != nil {
			_ = lock.Close()
			return nil, err
		}
		if cur, err := os.Stat(lock.Path()); err == nil && os.SameFile(held, cur) {
			return &ProjectLock{lock: lock, dir: dir, made: made}, nil
		}
		_ = lock.Close()
	}
}

// Unlock releases the lock.
func (l *ProjectLock) Unlock() { _ = l.lock.Close() }

// Abandon releases the lock of a command that wrote nothing: when the lock made the state
// dir, the dir goes too, as long as it holds only the lock and the mask file (a first up
// refused for its input leaves no trace in the checkout).
func (l *ProjectLock) Abandon() {
	defer l.Unlock()
	if !l.made {
		return
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Name() != lockFileName && e.Name() != maskFileName {
			return
		}
	}
	// Removed while held: a command waiting for it sees its file gone, and locks anew.
	_ = os.Remove(filepath.Join(l.dir, maskFileName))
	_ = os.Remove(filepath.Join(l.dir, lockFileName))
	_ = os.Remove(l.dir)
}

// lockFileName is the project lock's file in the state dir.
const lockFileName = "lock"

// WriteAgentCredential puts the fleet's credential where it is read, by rename (the next
// Claude start, or the gateway's next request, sees the new file), readable only by the
// agents' user: with the model gateway (ModelGateway for a credential of name), into the
// gateway's secrets dir, with the key that signs the agents' tokens, and no agent holds it;
// else into the agents' secrets dir. Any other credential file, in either, is removed.
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
	if f.Egress == EgressAllowlist && GatewayRelays(name) {
		dir = f.GatewaySecretsDir()
	}
	if err := atomicfile.WriteSecret(filepath.Join(dir, SecretFileName(name)), []byte(value), uid, gid); err != nil {
		return err
	}
	var errs []error
	for _, d := range []string{f.AgentSecretsDir(), f.GatewaySecretsDir()} {
		for _, v := range CredentialVars {
			if path := filepath.Join(d, SecretFileName(v)); d != dir || v != name {
				if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// WriteAgentKey makes the fleet's key once, for an allowlist fleet (whose egress proxy
// signs each agent's token with it): the tokens stay valid across ups and restarts.
func (f *Fleet) WriteAgentKey() error {
	if f.Egress != EgressAllowlist {
		return nil
	}
	return f.writeKey()
}

// WriteClusterTokens makes the fleet's key if it has none and writes, beside it, each
// agent's token under it (tokens/AGENT): what a cluster's deployment gives each agent as a
// secret of its own, and its gateway the key to know them by. It returns the key's file
// and the tokens' files by agent.
func (f *Fleet) WriteClusterTokens() (keyFile string, tokens map[string]string, err error) {
	if err := f.writeKey(); err != nil {
		return "", nil, err
	}
	uid, gid, err := ParseUser(f.User)
	if err != nil {
		return "", nil, err
	}
	keyFile = filepath.Join(f.GatewaySecretsDir(), AgentKeyFile)
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return "", nil, err
	}
	key := bytes.TrimSpace(b) // as the gateway reads it
	dir := filepath.Join(f.GatewaySecretsDir(), "tokens")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	tokens = map[string]string{}
	for _, name := range f.AgentNames() {
		path := filepath.Join(dir, name)
		if err := atomicfile.WriteSecret(path, []byte(agenttoken.Of(key, name)), uid, gid); err != nil {
			return "", nil, err
		}
		tokens[name] = path
	}
	return keyFile, tokens, nil
}

// writeKey makes the fleet's key, once.
func (f *Fleet) writeKey() error {
	uid, gid, err := ParseUser(f.User)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.SecretsDir(), 0o700); err != nil {
		return err
	}
	path := filepath.Join(f.GatewaySecretsDir(), AgentKeyFile)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	return atomicfile.WriteSecret(path, []byte(hex.EncodeToString(key)), uid, gid)
}

// CredentialFile is the file that holds the fleet's credential of variable name, in the
// gateway's secrets dir or the agents'.
func (f *Fleet) CredentialFile(name string) string {
	if path := filepath.Join(f.GatewaySecretsDir(), SecretFileName(name)); fileExists(path) {
		return path
	}
	return filepath.Join(f.AgentSecretsDir(), SecretFileName(name))
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// GitCredentialsFile is the fleet's git credentials in the gateway's secrets dir.
const GitCredentialsFile = "git-credentials"

// WriteGitCredentials copies the fleet's git credentials file (Config.GitCredentials)
// into the gateway's secrets dir, which no agent mounts, after checking each line is a
// URL with a user and a password; without one, it removes an earlier copy. A copy an
// earlier docker-magents left in the agents' secrets dir is removed either way.
func (f *Fleet) WriteGitCredentials() error {
	if err := os.Remove(filepath.Join(f.AgentSecretsDir(), GitCredentialsFile)); err != nil && !os.IsNotExist(err) {
		return err
	}
	path := filepath.Join(f.GatewaySecretsDir(), GitCredentialsFile)
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
	return atomicfile.WriteSecret(path, b, uid, gid)
}

// ClearAgentCredential removes the fleet's credential files, the agents' and the
// gateway's; the fleet's key stays (the agents' tokens go on working).
func (f *Fleet) ClearAgentCredential() error {
	errs := []error{os.RemoveAll(f.AgentSecretsDir())}
	for _, v := range CredentialVars {
		if err := os.Remove(filepath.Join(f.GatewaySecretsDir(), SecretFileName(v))); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// AgentCredential returns the variable of the fleet's credential file, if any.
func (f *Fleet) AgentCredential() string {
	for _, v := range CredentialVars {
		if fileExists(f.CredentialFile(v)) {
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
