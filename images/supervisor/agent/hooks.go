package agent

import (
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
	"github.com/docker-magents/docker-magents/images/supervisor/shellquote"
)

// Claude Code runs command hooks from its settings.json at points of its own loop. The
// supervisor installs one that calls `magents-supervisor hook EVENT` for each event below;
// what they report is the agent's state in `health` and so in `docker magents ps`.
//
// hookMarker identifies the hooks the supervisor owns, so a user's own hooks in the same
// settings are kept and ours are replaced, never duplicated.
const hookMarker = "magents-supervisor hook"

// hookEvent is one entry of Claude's "hooks" settings: an event and, for tool events, the
// tools it matches.
type hookEvent struct {
	Name    string
	Matcher string
}

var hookEvents = []hookEvent{
	{Name: "SessionStart"},     // Claude is at its prompt: idle
	{Name: "UserPromptSubmit"}, // a prompt was submitted: working
	{Name: "PreToolUse", Matcher: "AskUserQuestion"},
	{Name: "PostToolUse"},  // a tool ran (after a permission was given): working
	{Name: "Notification"}, // a permission request or a question: waiting
	{Name: "Stop"},         // the turn ended: idle
	{Name: "StopFailure"},  // the turn ended on an API error: idle
}

// writeSettings writes Claude's user settings in the config dir: the agent's own, with
// the fleet's shared settings laid over them (their keys win; rec records which), the
// supervisor's hooks added to whatever hooks result, and the fleet's permission mode
// (MAGENTS_PERMISSION_MODE) when it sets one.
func writeSettings(cfg Config, self string, shared map[string]any, rec *placedRecord) error {
	path := filepath.Join(cfg.ClaudeConfigDir, "settings.json")
	settings, err := readJSONObject(path)
	if err != nil {
		return err
	}
	settings, rec.SettingsKeys = agentconfig.MergeSettings(settings, shared, rec.SettingsKeys)
	setHooks(settings, self)
	if cfg.PermissionMode != "" {
		object(settings, "permissions")["defaultMode"] = cfg.PermissionMode
	}
	return writeJSONObject(path, settings, 0o600)
}

// hookTimeoutSeconds is how long Claude lets a hook of the supervisor's run. A hook takes
// milliseconds; but 32 agents starting at once on 2 CPUs starved some of 10 seconds, and
// an agent whose SessionStart hook was killed stayed "starting" at its prompt for good
// (make bench's dashboard run found it).
const hookTimeoutSeconds = 60

// setHooks replaces the supervisor's hooks in settings (a settings.json object).
func setHooks(settings map[string]any, self string) {
	hooks := object(settings, "hooks")
	for _, ev := range hookEvents {
		groups, _ := hooks[ev.Name].([]any)
		kept := make([]any, 0, len(groups)+1)
		for _, g := range groups {
			if !ownedHookGroup(g) {
				kept = append(kept, g)
			}
		}
		group := map[string]any{"hooks": []any{map[string]any{
			"type":    "command",
			"command": shellquote.Quote(self) + " hook " + ev.Name,
			"timeout": hookTimeoutSeconds,
		}}}
		if ev.Matcher != "" {
			group["matcher"] = ev.Matcher
		}
		hooks[ev.Name] = append(kept, group)
	}
}

func ownedHookGroup(g any) bool {
	m, _ := g.(map[string]any)
	list, _ := m["hooks"].([]any)
	for _, h := range list {
		hm, _ := h.(map[string]any)
		if cmd, _ := hm["command"].(string); strings.Contains(cmd, hookMarker) {
			return true
		}
	}
	return false
}

// hookInput is the part of the JSON that Claude writes to a hook's stdin that we read.
type hookInput struct {
	Event            string `json:"hook_event_name"`
	Source           string `json:"source"`            // SessionStart: startup, resume, clear, compact
	Message          string `json:"message"`           // Notification
	NotificationType string `json:"notification_type"` // Notification: permission_prompt, idle_prompt, …
	ToolName         string `json:"tool_name"`
	// Stop and StopFailure: Claude's last message of the turn; StopFailure: the API error.
	LastAssistantMessage string          `json:"last_assistant_message"`
	Error                json.RawMessage `json:"error"`
	ErrorDetails         string          `json:"error_details"`
}

// failure says what a StopFailure reported: the error and its details.
func (in hookInput) failure() string {
	var e string
	if json.Unmarshal(in.Error, &e) != nil {
		e = strings.Trim(string(in.Error), `"`)
	}
	return strings.TrimSpace(strings.Join(strings.Fields(cmp.Or(e, "an API error")+" "+in.ErrorDetails), " "))
}

// hookState is what the hooks last reported, kept in the run dir for `health`.
type hookState struct {
	State  agentstate.State `json:"state"`
	Since  time.Time        `json:"since"`
	Event  string           `json:"event"`
	Detail string           `json:"detail,omitempty"` // what Claude waits for, in its words
	// At is when the last event came (Since changes only with the state).
	At time.Time `json:"at,omitzero"`
	// After a turn: Claude's last message (Stop, StopFailure), and the API error that ended
	// it (StopFailure). Kept for the work queue's report; never in health.
	Result  string `json:"result,omitempty"`
	Failure string `json:"failure,omitempty"`
}

// maxResult bounds the last message a hook state keeps.
const maxResult = 64 << 10

func hookStateFile(cfg Config) string { return filepath.Join(cfg.RunDir, "agent-state.json") }

// nextState is the hooks' state machine: the state after event in, given the state before.
func nextState(prev hookState, in hookInput, now time.Time) hookState {
	next := prev
	next.Event, next.At = in.Event, now.UTC()
	switch in.Event {
	case "SessionStart":
		if in.Source == "compact" && prev.State != "" {
			break // a compaction within a turn changes nothing
		}
		next.State, next.Detail = agentstate.Idle, ""
	case "UserPromptSubmit", "PostToolUse":
		next.State, next.Detail = agentstate.Working, ""
	case "PreToolUse":
		if in.ToolName == "AskUserQuestion" {
			next.State, next.Detail = agentstate.Waiting, "Claude asks a question"
		}
	case "Notification":
		switch {
		case in.NotificationType == "idle_prompt" || strings.Contains(strings.ToLower(in.Message), "waiting for your input"):
			// Claude has sat at its prompt for a while: still idle, it asks for nothing.
			if prev.State == "" || prev.State == agentstate.Idle {
				next.State = agentstate.Idle
			}
		case in.NotificationType == "auth_success":
		default:
			next.State, next.Detail = agentstate.Waiting, in.Message
		}
	case "Stop", "StopFailure":
		next.State, next.Detail = agentstate.Idle, ""
		next.Result, next.Failure = in.LastAssistantMessage, ""
		if len(next.Result) > maxResult {
			next.Result = next.Result[:maxResult]
		}
		if in.Event == "StopFailure" {
			next.Failure = in.failure()
		}
	}
	if in.Event != "Stop" && in.Event != "StopFailure" {
		next.Result, next.Failure = "", ""
	}
	if next.State != prev.State || prev.Since.IsZero() {
		next.Since = now.UTC()
	}
	return next
}

// RecordHook is `magents-supervisor hook EVENT`, run by Claude. It never fails Claude's
// turn and prints nothing: what a SessionStart or UserPromptSubmit hook prints becomes
// part of Claude's context.
func RecordHook(cfg Config, args []string, stdin io.Reader) int {
	var in hookInput
	b, _ := io.ReadAll(io.LimitReader(stdin, 1<<20))
	if err := json.Unmarshal(b, &in); err != nil && len(b) > 0 {
		logs.Printf("hook: reading Claude's event: %v", err)
	}
	if in.Event == "" && len(args) > 0 {
		in.Event = args[0]
	}
	if in.Event == "" {
		logs.Printf("hook: no event name (usage: magents-supervisor hook EVENT < event.json)")
		return 0
	}
	appendActivity(cfg, in)
	prev, _ := readHookState(cfg)
	next := nextState(prev, in, time.Now())
	if data, err := json.Marshal(next); err == nil {
		if err := atomicfile.Write(hookStateFile(cfg), data, 0o644); err != nil {
			logs.Printf("hook: %v", err)
		}
	}
	kick(cfg)
	return 0
}

func readHookState(cfg Config) (hookState, bool) {
	var st hookState
	b, err := os.ReadFile(hookStateFile(cfg))
	if err != nil {
		return st, false
	}
	return st, json.Unmarshal(b, &st) == nil && st.State != ""
}

// clearHookState forgets what the hooks of an ended session reported.
func clearHookState(cfg Config) {
	if err := os.Remove(hookStateFile(cfg)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		logs.Printf("clearing the agent's state: %v", err)
	}
}
