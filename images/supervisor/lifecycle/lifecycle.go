// Package lifecycle is a project's lifecycle commands (its devcontainer's onCreateCommand,
// updateContentCommand, postCreateCommand and postStartCommand) as the host reads them and
// an agent's supervisor runs them: the spec's three forms of a command, and how a failure
// is reported. Standard library only.
package lifecycle

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Commands are the lifecycle commands an agent runs before its session's agent starts:
// OnCreate, UpdateContent and PostCreate once per container, PostStart at every start.
type Commands struct {
	OnCreate      *Command `json:"onCreateCommand,omitempty"`
	UpdateContent *Command `json:"updateContentCommand,omitempty"`
	PostCreate    *Command `json:"postCreateCommand,omitempty"`
	PostStart     *Command `json:"postStartCommand,omitempty"`
}

// Failure is a lifecycle command that failed: the supervisor's record, which health and
// doctor report.
type Failure struct {
	Command  string `json:"command"` // its property: postCreateCommand, …
	ExitCode int    `json:"exitCode"`
	Output   string `json:"output"` // its last lines
}

func (f Failure) Error() string {
	return fmt.Sprintf("%s failed (exit %d): %s", f.Command, f.ExitCode, f.Output)
}

// Command is a lifecycle command: a shell command line (string), a program and its
// arguments run without a shell (list), or named commands run in parallel (object, each
// a string or a list).
type Command struct {
	Shell    string
	Args     []string
	Parallel map[string]Command
}

func (c *Command) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &c.Shell); err == nil {
		return nil
	}
	if err := json.Unmarshal(b, &c.Args); err == nil {
		return nil
	}
	var named map[string]json.RawMessage
	if err := json.Unmarshal(b, &named); err != nil {
		return errors.New("a command string, a list of a program and its arguments, or an object of named commands")
	}
	c.Parallel = map[string]Command{}
	for name, raw := range named {
		var one Command
		if err := one.UnmarshalJSON(raw); err != nil || one.Parallel != nil {
			return fmt.Errorf("command %q: a string or a list of a program and its arguments", name)
		}
		c.Parallel[name] = one
	}
	return nil
}

func (c Command) MarshalJSON() ([]byte, error) {
	switch {
	case c.Parallel != nil:
		return json.Marshal(c.Parallel)
	case c.Args != nil:
		return json.Marshal(c.Args)
	}
	return json.Marshal(c.Shell)
}
