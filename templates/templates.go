// Package templates holds the files docker-magents renders for other targets (Kubernetes
// manifests, ECS definitions). They are embedded in the plugin; a directory of the same
// layout given with --templates overrides them file by file.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"text/template"
)

//go:embed k8s/*.tmpl ecs/*.tmpl cloudrun/*.tmpl
var embedded embed.FS

// Render executes the template at name ("k8s/claude-auth-secret.yaml.tmpl") with data,
// taking it from overrideDir when that holds one.
func Render(overrideDir, name string, data any) ([]byte, error) {
	src, err := read(overrideDir, name)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		// quote makes a YAML/JSON double-quoted string of any value.
		"quote": strconv.Quote,
	}).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return b.Bytes(), nil
}

func read(overrideDir, name string) ([]byte, error) {
	if overrideDir != "" {
		b, err := os.ReadFile(filepath.Join(overrideDir, filepath.FromSlash(name)))
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return embedded.ReadFile(name)
}
