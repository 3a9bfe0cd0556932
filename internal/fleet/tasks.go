package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"
)

// ParseTasks reads a tasks file: a YAML list of strings, or one task per line (blank lines
// and # comments skipped).
func ParseTasks(b []byte) ([]string, error) {
	trimmed := bytes.TrimSpace(b)
	if bytes.HasPrefix(trimmed, []byte("-")) || bytes.HasPrefix(trimmed, []byte("[")) {
		var list []string
		if err := yaml.Unmarshal(trimmed, &list); err != nil {
			return nil, fmt.Errorf("the tasks file looks like a YAML list but does not parse: %w", err)
		}
		return checkTasks(list)
	}
	var list []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			list = append(list, line)
		}
	}
	return checkTasks(list)
}

// checkTasks trims each task (what is typed into Claude's prompt has no stray spaces) and
// refuses empty ones.
func checkTasks(list []string) ([]string, error) {
	for i, t := range list {
		if list[i] = strings.TrimSpace(t); list[i] == "" {
			return nil, fmt.Errorf("task %d is empty", i+1)
		}
	}
	if len(list) == 0 {
		return nil, errors.New("the tasks file holds no task")
	}
	return list, nil
}

// TaskFor is agent n's task (agents are numbered from 1), or "".
func (f *Fleet) TaskFor(n int) string {
	if n >= 1 && n <= len(f.Tasks) {
		return f.Tasks[n-1]
	}
	return ""
}
