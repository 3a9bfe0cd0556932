package devcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// None is what --devcontainer takes to use no devcontainer.
const None = "none"

// Find is the devcontainer.json of the project in dir, as the spec looks for one:
// .devcontainer/devcontainer.json, then .devcontainer.json, then the one
// .devcontainer/NAME/devcontainer.json. which chooses: "" to look, None for none, a NAME
// of .devcontainer/NAME/, or a path (relative to dir). It returns "" when the project has
// none and none was asked for.
func Find(dir, which string) (string, error) {
	switch {
	case which == None:
		return "", nil
	case which != "" && (strings.ContainsRune(which, filepath.Separator) || strings.ContainsRune(which, '/') || strings.HasSuffix(which, ".json")):
		path := which
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if !regular(path) {
			return "", fmt.Errorf("--devcontainer %s: no such file", which)
		}
		return path, nil
	case which != "":
		path := filepath.Join(dir, ".devcontainer", which, "devcontainer.json")
		if !regular(path) {
			names, _ := named(dir)
			return "", fmt.Errorf("--devcontainer %s: there is no .devcontainer/%s/devcontainer.json%s", which, which, choices(names))
		}
		return path, nil
	}
	for _, p := range []string{filepath.Join(dir, ".devcontainer", "devcontainer.json"), filepath.Join(dir, ".devcontainer.json")} {
		if regular(p) {
			return p, nil
		}
	}
	names, err := named(dir)
	if err != nil {
		return "", err
	}
	switch len(names) {
	case 0:
		return "", nil
	case 1:
		return filepath.Join(dir, ".devcontainer", names[0], "devcontainer.json"), nil
	}
	return "", fmt.Errorf("the project has %d devcontainers: give --devcontainer NAME%s, or --devcontainer none", len(names), choices(names))
}

// named are the NAMEs of .devcontainer/NAME/devcontainer.json in dir.
func named(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, ".devcontainer"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && regular(filepath.Join(dir, ".devcontainer", e.Name(), "devcontainer.json")) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

func choices(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " (the project has: " + strings.Join(names, ", ") + ")"
}

// regular reports whether path is a regular file, not followed through a link: the
// project's files are judged like code, and a link could point anywhere on the host.
func regular(path string) bool {
	st, err := os.Lstat(path)
	return err == nil && st.Mode().IsRegular()
}
