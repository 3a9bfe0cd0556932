package agent

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/docker-magents/docker-magents/images/supervisor/logs"
)

// What the agent does shows in `docker logs` (and kubectl logs, awslogs, Cloud Logging):
// one line on the supervisor's stdout per event Claude's hooks report — session start,
// prompt taken, tool used, waiting for what, turn ended — and per restart or refused
// credential. Never a prompt's text, a secret or the terminal stream.

// activityFile is where the hooks (processes of Claude, in the session) append their
// lines for the supervisor to print.
func activityFile(cfg Config) string { return filepath.Join(cfg.RunDir, "activity.log") }

// activityMax bounds the file between the supervisor's reads.
const activityMax = 1 << 20

// activityLine says in a few words what a hook event means; "" for events not worth a line.
func activityLine(in hookInput) string {
	switch in.Event {
	case "SessionStart":
		if in.Source == "" {
			return "session started"
		}
		return "session started (" + in.Source + ")"
	case "UserPromptSubmit":
		return "prompt taken"
	case "PreToolUse":
		if in.ToolName == "AskUserQuestion" {
			return "waiting: Claude asks a question"
		}
		return "using tool " + in.ToolName
	case "Notification":
		if in.NotificationType == "idle_prompt" || in.NotificationType == "auth_success" {
			return ""
		}
		return "waiting: " + in.Message
	case "Stop":
		return "turn ended"
	}
	return ""
}

// appendActivity adds the event's line to the activity file, unless the file is full.
func appendActivity(cfg Config, in hookInput) {
	line := inert(activityLine(in))
	if line == "" {
		return
	}
	if st, err := os.Stat(activityFile(cfg)); err == nil && st.Size() > activityMax {
		return
	}
	f, err := os.OpenFile(activityFile(cfg), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		logs.Printf("hook: %v", err)
		return
	}
	defer f.Close()
	// One write of a short line: appends from hooks running at once do not interleave.
	if _, err := io.WriteString(f, line+"\n"); err != nil {
		logs.Printf("hook: %v", err)
	}
}

// activityOut is the supervisor's stdout, where the container's log collects it.
var activityOut io.Writer = os.Stdout

// activityf prints one activity line on stdout.
func activityf(format string, args ...any) {
	fmt.Fprintf(activityOut, "%s agent: %s\n", time.Now().UTC().Format(time.RFC3339), inert(fmt.Sprintf(format, args...)))
}

// activityRelay prints what the hooks append to the activity file, a look at a time (the
// supervisor's once-a-second loop), and empties the file once it has printed a good part
// of it.
type activityRelay struct {
	cfg    Config
	offset int64
}

func (a *activityRelay) step() {
	path := activityFile(a.cfg)
	if st, err := os.Stat(path); err != nil || st.Size() == a.offset {
		return // nothing new: one system call, not five
	}
	f, err := os.Open(path)
	if err != nil {
		return
	}
	if st, err := f.Stat(); err == nil && st.Size() < a.offset {
		a.offset = 0 // emptied by someone else: start over
	}
	if _, err := f.Seek(a.offset, io.SeekStart); err == nil {
		r := bufio.NewReader(f)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break // a partial line waits for its end
			}
			a.offset += int64(len(line))
			activityf("%s", strings.TrimSuffix(line, "\n"))
		}
	}
	f.Close()
	if a.offset > activityMax/4 {
		if err := os.Truncate(path, 0); err == nil {
			a.offset = 0
		}
	}
}

// inert is s with control characters (terminal escapes) removed, on one line, at most 200
// characters: an agent's words, safe for any log viewer.
func inert(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
