package auth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/docker-magents/docker-magents/internal/atomicfile"
	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
)

// Store keeps a project's credential on the host.
type Store interface {
	// Get returns the stored credential, or nil when there is none.
	Get() (*Credential, error)
	Put(Credential) error
	Erase() error
	// Name says where: "credential helper pass", "file .magents/secrets/stored".
	Name() string
}

// NewStore is the Docker credential store the user already has (credsStore in the docker
// config, the helper `docker login` uses), else a private file in the project's secrets dir.
// When the docker CLI only guessed the helper (it picks pass or secretservice when their
// helper binary is installed, set up or not), a helper that fails to store falls back to
// the file, with a note on stderr.
func NewStore(credsStore string, guessed bool, project, secretsDir string, notes io.Writer) Store {
	file := &fileStore{path: filepath.Join(secretsDir, "stored")}
	if credsStore == "" {
		return file
	}
	if _, err := exec.LookPath("docker-credential-" + credsStore); err != nil {
		return file
	}
	h := &helperStore{helper: credsStore, serverURL: "docker-magents://" + project}
	if guessed {
		return &guessedStore{helper: h, file: file, notes: notes}
	}
	return h
}

// guessedStore uses a helper the docker CLI guessed when it works, else the file.
type guessedStore struct {
	helper *helperStore
	file   *fileStore
	notes  io.Writer
	used   Store
}

func (g *guessedStore) Name() string {
	if g.used != nil {
		return g.used.Name()
	}
	return g.helper.Name()
}

func (g *guessedStore) Get() (*Credential, error) {
	if c, err := g.helper.Get(); err == nil && c != nil {
		g.used = g.helper
		return c, nil
	}
	g.used = g.file
	return g.file.Get()
}

func (g *guessedStore) Put(c Credential) error {
	err := g.helper.Put(c)
	if err == nil {
		g.used = g.helper
		return g.file.Erase()
	}
	if g.notes != nil {
		fmt.Fprintf(g.notes, "note: docker-credential-%s is installed but not usable (%s): keeping the credential in %s instead\n",
			g.helper.helper, firstLine(err.Error()), g.file.path)
	}
	g.used = g.file
	return g.file.Put(c)
}

func (g *guessedStore) Erase() error {
	return errors.Join(g.helper.Erase(), g.file.Erase())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// helperStore speaks the docker-credential-helpers protocol.
type helperStore struct {
	helper    string
	serverURL string
}

func (h *helperStore) program() client.ProgramFunc {
	return client.NewShellProgramFunc("docker-credential-" + h.helper)
}

func (h *helperStore) Name() string { return "credential helper " + h.helper }

func (h *helperStore) Get() (*Credential, error) {
	c, err := client.Get(h.program(), h.serverURL)
	if credentials.IsErrCredentialsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the credential from docker-credential-%s: %w", h.helper, err)
	}
	cred, err := New(c.Username, c.Secret)
	if err != nil {
		return nil, fmt.Errorf("the credential in docker-credential-%s: %w", h.helper, err)
	}
	return &cred, nil
}

func (h *helperStore) Put(c Credential) error {
	err := client.Store(h.program(), &credentials.Credentials{ServerURL: h.serverURL, Username: c.Var, Secret: c.Value})
	if err != nil {
		return fmt.Errorf("storing the credential with docker-credential-%s: %w", h.helper, err)
	}
	return nil
}

func (h *helperStore) Erase() error {
	err := client.Erase(h.program(), h.serverURL)
	if err != nil && !credentials.IsErrCredentialsNotFound(err) {
		return fmt.Errorf("erasing the credential from docker-credential-%s: %w", h.helper, err)
	}
	return nil
}

// fileStore is VAR=value in a 0600 file in a 0700 directory.
type fileStore struct {
	path string
}

func (f *fileStore) Name() string { return "file " + f.path }

func (f *fileStore) Get() (*Credential, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	line, _ := bufio.NewReader(strings.NewReader(string(b))).ReadString('\n')
	k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
	if !ok {
		return nil, fmt.Errorf("%s is not VAR=value: remove it and run 'docker magents auth setup' again", f.path)
	}
	c, err := New(k, v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	return &c, nil
}

func (f *fileStore) Put(c Credential) error {
	return atomicfile.WriteSecret(f.path, []byte(c.Var+"="+c.Value+"\n"), -1, -1)
}

func (f *fileStore) Erase() error {
	if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// WriteEnvFile sets VAR=value in an env file (created 0600, kept 0600), replacing an
// earlier line for any credential variable and keeping every other line.
func WriteEnvFile(path string, c Credential) error {
	var keep []string
	if b, err := os.ReadFile(path); err == nil {
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			k, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "=")
			if isVar(k) || k == legacyVar {
				continue
			}
			keep = append(keep, line)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	keep = append(keep, c.Var+"="+c.Value)
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(strings.Join(keep, "\n") + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
