// Package protocol is what crosses between the host and the fleet's supervisors as typed
// values rather than text: a refusal of the gateway's own port (the work queue, the
// account, the budgets) is an Error, answered as JSON with its HTTP status, and handed on
// by the supervisor's command that asked (run through exec) on its standard output with
// exit code ExitRefused — so the host decodes it, and never parses a message. A request
// the egress proxy refused is a Denial, in its report.
// It imports the standard library alone: the supervisor builds from the image's context.
package protocol

import (
	"encoding/json"
	"net/http"
	"time"
)

// Error is a refusal: the HTTP status and what to tell the user.
type Error struct {
	Type    string `json:"type"` // always ErrorType
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// ErrorType marks an Error's JSON.
const ErrorType = "magents_error"

// ExitRefused is the exit code of a supervisor command whose request was refused: its
// standard output is then the Error.
const ExitRefused = 3

func (e *Error) Error() string { return e.Message }

// WriteError answers a request with the refusal.
func WriteError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Error{Type: ErrorType, Status: status, Message: message})
}

// DecodeError reads b as an Error; ok is false when it is not one.
func DecodeError(b []byte) (*Error, bool) {
	var e Error
	if json.Unmarshal(b, &e) != nil || e.Type != ErrorType {
		return nil, false
	}
	return &e, true
}

// Denial is one request the egress proxy refused, as its report (/magents/denied) lists
// it: the host reads the report, and an agent's supervisor its own denials for its health.
type Denial struct {
	Time   time.Time `json:"time"`
	Agent  string    `json:"agent"`
	Client string    `json:"client"` // the agent's address
	Host   string    `json:"host"`
	Method string    `json:"method"`
}
