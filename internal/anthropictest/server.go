// Package anthropictest is a test double of Anthropic's Messages API, for tests that run
// the real `claude` binary (pointed at it with ANTHROPIC_BASE_URL): it answers real turns
// in the public streaming format — text, tool calls, errors — as each test scripts them,
// with usage blocks counted from what was asked and answered (about four bytes a token),
// and records every request, including the credential that arrived, and the usage sent.
package anthropictest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one recorded call.
type Request struct {
	Method, Path string
	APIKey       string // x-api-key
	Bearer       string // Authorization: Bearer …
	Header       http.Header
	Body         MessagesRequest
	// Sent is the usage the double answered this request with: nil until its answer is
	// written, and for an error.
	Sent *Usage
}

// MessagesRequest is the part of a Messages API request the double reads.
type MessagesRequest struct {
	Model    string            `json:"model"`
	Stream   bool              `json:"stream"`
	System   json.RawMessage   `json:"system"`
	Messages []json.RawMessage `json:"messages"`
	Tools    []json.RawMessage `json:"tools"`
}

// Mentions reports whether s appears anywhere in the request's system prompt or messages
// (Claude Code puts the user's CLAUDE.md in one or the other).
func (r Request) Mentions(s string) bool {
	if bytes.Contains(r.Body.System, []byte(s)) {
		return true
	}
	for _, m := range r.Body.Messages {
		if bytes.Contains(m, []byte(s)) {
			return true
		}
	}
	return false
}

// HasTools tells the main conversation (which carries Claude Code's tools) from side
// calls such as titles and summaries.
func (r Request) HasTools() bool { return len(r.Body.Tools) > 0 }

// LastUserText is the text of the last user message (its text blocks joined).
func (r Request) LastUserText() string {
	for i := len(r.Body.Messages) - 1; i >= 0; i-- {
		var m struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		}
		if json.Unmarshal(r.Body.Messages[i], &m) != nil || m.Role != "user" {
			continue
		}
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			return s
		}
		var blocks []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		_ = json.Unmarshal(m.Content, &blocks)
		var parts []string
		for _, b := range blocks {
			if b.Type == "text" {
				parts = append(parts, b.Text)
			}
		}
		return strings.Join(parts, "\n")
	}
	return ""
}

// ToolResult is the text of the tool results in the last user message, and whether it
// carries any: the request that follows a tool call Claude ran.
func (r Request) ToolResult() (string, bool) {
	if len(r.Body.Messages) == 0 {
		return "", false
	}
	var m struct {
		Role    string `json:"role"`
		Content []struct {
			Type    string          `json:"type"`
			Content json.RawMessage `json:"content"`
		} `json:"content"`
	}
	if json.Unmarshal(r.Body.Messages[len(r.Body.Messages)-1], &m) != nil || m.Role != "user" {
		return "", false
	}
	var parts []string
	found := false
	for _, b := range m.Content {
		if b.Type != "tool_result" {
			continue
		}
		found = true
		var s string
		if json.Unmarshal(b.Content, &s) == nil {
			parts = append(parts, s)
			continue
		}
		var blocks []struct{ Text string }
		_ = json.Unmarshal(b.Content, &blocks)
		for _, tb := range blocks {
			parts = append(parts, tb.Text)
		}
	}
	return strings.Join(parts, "\n"), found
}

// Reply is what the double answers to one Messages call.
type Reply struct {
	Text    string   // a text block
	ToolUse *ToolUse // then a tool call (stop_reason tool_use)
	Status  int      // an error status (401, 429, 529 …) instead of a message
	Error   string   // its error type, e.g. authentication_error
	Delay   time.Duration
	// Pause: a streamed answer stops this long after message_start (or until the client
	// is gone), as a long generation does.
	Pause time.Duration
	Usage *Usage // the usage to report; nil: counted from the request and the reply
}

// Usage is the usage block of a Messages response, as the API reports it.
type Usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// Tokens is every token of u, whatever its kind (as a meter sums them).
func (u Usage) Tokens() int {
	return u.InputTokens + u.OutputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
}

func (u *Usage) add(v Usage) {
	u.InputTokens += v.InputTokens
	u.OutputTokens += v.OutputTokens
	u.CacheCreationInputTokens += v.CacheCreationInputTokens
	u.CacheReadInputTokens += v.CacheReadInputTokens
}

// tokens estimates the tokens of b as the API counts English text and JSON: about four
// bytes each, at least one.
func tokens(b []byte) int { return max(1, (len(b)+3)/4) }

// InputTokens is what the request's prompt counts: its system prompt, messages and tools.
func (r Request) InputTokens() int {
	n := 0
	if len(r.Body.System) > 0 {
		n += tokens(r.Body.System)
	}
	for _, m := range r.Body.Messages {
		n += tokens(m)
	}
	for _, t := range r.Body.Tools {
		n += tokens(t)
	}
	return max(1, n)
}

// ToolUse is a tool call, such as {"name":"Write","input":{"file_path":…,"content":…}}.
type ToolUse struct {
	Name  string
	Input map[string]any
}

// Responder scripts the answers; it sees every recorded request.
type Responder func(Request) Reply

// Server is a running test double.
type Server struct {
	URL string // http://HOST:PORT, what ANTHROPIC_BASE_URL gets

	srv      *http.Server
	mu       sync.Mutex
	requests []Request
	sent     map[string]Usage // by model: the usage of every message answered
	respond  Responder
	ids      atomic.Int64
}

// SentFor is the usage the double reported for the requests match selects, summed: the
// tally a meter in front of it should have counted for them.
func (s *Server) SentFor(match func(Request) bool) Usage {
	var sum Usage
	for _, r := range s.Requests() {
		if r.Sent != nil && match(r) {
			sum.add(*r.Sent)
		}
	}
	return sum
}

// Sent is the usage the double reported, by model, summed over every message it
// answered (errors report none): what a meter in front of it should count.
func (s *Server) Sent() map[string]Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Usage, len(s.sent))
	for k, v := range s.sent {
		out[k] = v
	}
	return out
}

// Start serves on addr ("127.0.0.1:0"; "0.0.0.0:0" to be reachable from containers).
func Start(addr string, respond Responder) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{respond: respond}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/hello", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("POST /v1/messages/count_tokens", func(w http.ResponseWriter, r *http.Request) {
		req, _ := s.record(r)
		writeJSON(w, http.StatusOK, map[string]any{"input_tokens": req.InputTokens()})
	})
	mux.HandleFunc("POST /v1/messages", s.messages)
	// The free request a supervisor's credential check makes; scripted like a message.
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		req, _ := s.record(r)
		if s.respond != nil {
			if reply := s.respond(req); reply.Status >= 400 {
				writeError(w, reply.Status, reply.Error, "scripted error from the Messages API test double")
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": []any{map[string]any{"type": "model", "id": "claude-test-double"}}, "has_more": false})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		writeError(w, http.StatusNotFound, "not_found_error", "the test double does not serve "+r.URL.Path)
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	s.URL = "http://" + ln.Addr().String()
	return s, nil
}

// Port is the port the double listens on.
func (s *Server) Port() string {
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	return port
}

func (s *Server) Close() error { return s.srv.Close() }

// Requests returns what was recorded so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// record keeps the request and returns it with its index in s.requests.
func (s *Server) record(r *http.Request) (Request, int) {
	req := Request{Method: r.Method, Path: r.URL.Path, APIKey: r.Header.Get("x-api-key"), Header: r.Header.Clone()}
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		req.Bearer = b
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	_ = json.Unmarshal(body, &req.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	return req, len(s.requests) - 1
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	req, i := s.record(r)
	reply := Reply{Text: "OK"}
	if s.respond != nil {
		reply = s.respond(req)
	}
	if reply.Delay > 0 {
		time.Sleep(reply.Delay)
	}
	if reply.Status >= 400 {
		writeError(w, reply.Status, reply.Error, "scripted error from the Messages API test double")
		return
	}
	id := fmt.Sprintf("msg_test_%d", s.ids.Add(1))
	var blocks []map[string]any
	if reply.Text != "" {
		blocks = append(blocks, map[string]any{"type": "text", "text": reply.Text})
	}
	stop := "end_turn"
	if reply.ToolUse != nil {
		blocks = append(blocks, map[string]any{
			"type": "tool_use", "id": fmt.Sprintf("toolu_test_%d", s.ids.Add(1)),
			"name": reply.ToolUse.Name, "input": reply.ToolUse.Input,
		})
		stop = "tool_use"
	}
	usage := Usage{InputTokens: req.InputTokens()}
	for _, b := range blocks {
		out, _ := json.Marshal(b)
		usage.OutputTokens += tokens(out)
	}
	if reply.Usage != nil {
		usage = *reply.Usage
	}
	s.mu.Lock()
	if s.sent == nil {
		s.sent = map[string]Usage{}
	}
	total := s.sent[req.Body.Model]
	total.add(usage)
	s.sent[req.Body.Model] = total
	s.requests[i].Sent = &usage
	s.mu.Unlock()
	if !req.Body.Stream {
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "type": "message", "role": "assistant", "model": req.Body.Model,
			"content": blocks, "stop_reason": stop, "stop_sequence": nil, "usage": usage,
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	event := func(name string, data map[string]any) {
		data["type"] = name
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	event("message_start", map[string]any{"message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": req.Body.Model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": Usage{
			InputTokens: usage.InputTokens, OutputTokens: 1,
			CacheCreationInputTokens: usage.CacheCreationInputTokens, CacheReadInputTokens: usage.CacheReadInputTokens,
		},
	}})
	if reply.Pause > 0 {
		select {
		case <-time.After(reply.Pause):
		case <-r.Context().Done():
			return
		}
	}
	for i, b := range blocks {
		switch b["type"] {
		case "text":
			event("content_block_start", map[string]any{"index": i, "content_block": map[string]any{"type": "text", "text": ""}})
			event("content_block_delta", map[string]any{"index": i, "delta": map[string]any{"type": "text_delta", "text": b["text"]}})
		case "tool_use":
			input, _ := json.Marshal(b["input"])
			event("content_block_start", map[string]any{"index": i, "content_block": map[string]any{
				"type": "tool_use", "id": b["id"], "name": b["name"], "input": map[string]any{},
			}})
			event("content_block_delta", map[string]any{"index": i, "delta": map[string]any{"type": "input_json_delta", "partial_json": string(input)}})
		}
		event("content_block_stop", map[string]any{"index": i})
	}
	// As the API does: message_start's output count is a placeholder, message_delta's the
	// turn's total (not an increment).
	event("message_delta", map[string]any{"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]any{"output_tokens": usage.OutputTokens}})
	event("message_stop", map[string]any{})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	if typ == "" {
		typ = "api_error"
	}
	writeJSON(w, status, map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
}
