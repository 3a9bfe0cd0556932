// Package agentimage is the agent image a fleet runs when its project has a devcontainer:
// the project's base (its image, or its Dockerfile built first) with the agent's layer on
// top (Claude Code, the supervisor, tmux, git, tini, the agent's user). Its tag is a
// digest of everything that goes into it, so an unchanged project never rebuilds and a
// changed one does on the next up.
package agentimage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/internal/devcontainer"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// TagPrefix begins the tag of every devcontainer agent image.
const TagPrefix = images.Repository + ":devcontainer-"

// Plan is how a fleet's agent image is built from its project's devcontainer.
type Plan struct {
	File   string // the devcontainer.json, absolute
	Config *devcontainer.Config
	Tag    string
	// Base is the project's own Dockerfile build, made first and tagged for the agent's
	// layer to start FROM; nil when the devcontainer names an image.
	Base *Base
	// BaseImage is what the agent's layer starts FROM: the devcontainer's image, or Base's tag.
	BaseImage string
}

// Base is a devcontainer's Dockerfile build.
type Base struct {
	Context    string // absolute
	Dockerfile string // absolute
	Args       map[string]string
	Target     string
	Tag        string
}

// For is the plan of fleet f's agent image, or nil when f uses no devcontainer.
func For(f *fleet.Fleet) (*Plan, error) {
	if f.Devcontainer == "" || f.Devcontainer == devcontainer.None {
		return nil, nil
	}
	// The file itself too: a directory on its way may be a link out of the project.
	real, err := within(f.Abs(f.Workspace), f.Abs(f.Devcontainer))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Devcontainer, err)
	}
	file := real[0]
	c, err := devcontainer.Load(file)
	if err != nil {
		return nil, err
	}
	// The file's variables as the agents see the project: no developer environment (the
	// file is the repository's), the workspace where the agents have it.
	c, _, err = c.Substitute(devcontainer.Vars{
		LocalWorkspaceFolder:     f.Abs(f.Workspace),
		ContainerWorkspaceFolder: fleet.WorkspaceDir,
	})
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(file)
	h := sha256.New()
	// What the agent's layer is made of: this docker-magents' Dockerfile and context.
	if err := hashFS(h, images.Context(), "images/", nil); err != nil {
		return nil, err
	}
	p := &Plan{File: file, Config: c}
	switch c.Kind() {
	case devcontainer.KindCompose:
		return nil, fmt.Errorf("%s: a devcontainer made of compose files (dockerComposeFile) cannot be the agents' image yet: give the project an image- or Dockerfile-based devcontainer with --devcontainer NAME|PATH, or --devcontainer none", f.Devcontainer)
	case devcontainer.KindDockerfile:
		b := &Base{
			Context:    filepath.Join(dir, c.BuildContext()),
			Dockerfile: filepath.Join(dir, c.Dockerfile()),
			Target:     "",
		}
		if c.Build != nil {
			b.Args, b.Target = c.Build.Args, c.Build.Target
		}
		real, err := within(f.Abs(f.Workspace), b.Context, b.Dockerfile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Devcontainer, err)
		}
		b.Context, b.Dockerfile = real[0], real[1]
		bh := sha256.New()
		fmt.Fprintf(bh, "target %q\n", b.Target)
		args, _ := json.Marshal(b.Args)
		bh.Write(args)
		df, err := os.ReadFile(b.Dockerfile)
		if err != nil {
			return nil, fmt.Errorf("%s: its Dockerfile: %w", f.Devcontainer, err)
		}
		bh.Write(df)
		ignore, err := dockerignore(b.Context)
		if err != nil {
			return nil, err
		}
		if err := hashFS(bh, os.DirFS(b.Context), "context/", ignore); err != nil {
			return nil, fmt.Errorf("%s: reading its build context: %w", f.Devcontainer, err)
		}
		b.Tag = "magents/devcontainer-base:" + hex.EncodeToString(bh.Sum(nil))[:12]
		p.Base, p.BaseImage = b, b.Tag
		h.Write([]byte(b.Tag))
	default:
		p.BaseImage = c.Image
		fmt.Fprintf(h, "image %q\n", c.Image)
	}
	p.Tag = TagPrefix + hex.EncodeToString(h.Sum(nil))[:12]
	return p, nil
}

// Target is the agent's layer as a build target of the image: latest's, on the plan's
// base, tagged with the plan's tag.
func (p *Plan) Target(uid, gid string) (*images.Target, error) {
	t, err := images.NewTarget("latest")
	if err != nil {
		return nil, err
	}
	set := func(k, v string) { t.Args[k] = &v }
	set("BASE_IMAGE", p.BaseImage)
	if uid != "" {
		set("MAGENTS_UID", uid)
		set("MAGENTS_GID", gid)
	}
	t.Tags = []string{p.Tag}
	return t, nil
}

// within resolves paths as the kernel will when they are read (links followed) and
// refuses any that leads outside the project: the file is the repository's, which an
// agent's branch can change, and a path (or a link) out of it could read anything of the
// host into the agents' image. It returns the resolved paths, which are what is read.
func within(project string, paths ...string) ([]string, error) {
	root, err := filepath.EvalSymlinks(project)
	if err != nil {
		return nil, err
	}
	resolved := make([]string, len(paths))
	for i, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil, fmt.Errorf("its build reads %s: %w", p, err)
		}
		rel, err := filepath.Rel(root, real)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("its build reads %s, which is %s, outside the project %s: keep the Dockerfile and its context in the project", p, real, project)
		}
		resolved[i] = real
	}
	return resolved, nil
}

// dockerignore is the context's .dockerignore, as BuildKit will apply it.
func dockerignore(dir string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return patternmatcher.New(patterns)
}

// hashFS writes every regular file's path, mode and content of fsys into h, in order, but
// those ignore matches and .git.
func hashFS(h io.Writer, fsys fs.FS, prefix string, ignore *patternmatcher.PatternMatcher) error {
	var paths []string
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == ".git" {
			return fs.SkipDir
		}
		if d.Type().IsRegular() {
			if ignore != nil {
				// A directory is walked even when ignored: a later "!" pattern may take a
				// file of it back, as BuildKit does.
				if skip, _ := ignore.MatchesOrParentMatches(path); skip {
					return nil
				}
			}
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(paths)
	for _, p := range paths {
		st, err := fs.Stat(fsys, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s%s %o %d\n", prefix, p, st.Mode().Perm(), st.Size())
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
