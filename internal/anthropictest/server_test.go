package anthropictest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/messages?beta=true", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestStreamsTextThenToolUseInTheMessagesFormat(t *testing.T) {
	s, err := Start("127.0.0.1:0", func(r Request) Reply {
		return Reply{Text: "on it: " + r.LastUserText(), ToolUse: &ToolUse{Name: "Write", Input: map[string]any{"file_path": "/tmp/x", "content": "hi"}}}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp := post(t, s.URL, `{"model":"m","stream":true,"tools":[{}],"messages":[{"role":"user","content":[{"type":"text","text":"write x"}]}]}`,
		map[string]string{"x-api-key": "sk-ant-api-test"})
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content-type %q", ct)
	}
	var events []string
	var stop string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			events = append(events, name)
		}
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(data, "message_delta") {
			var d struct {
				Delta struct {
					StopReason string `json:"stop_reason"`
				} `json:"delta"`
			}
			_ = json.Unmarshal([]byte(data), &d)
			stop = d.Delta.StopReason
		}
	}
	want := "message_start content_block_start content_block_delta content_block_stop content_block_start content_block_delta content_block_stop message_delta message_stop"
	if got := strings.Join(events, " "); got != want {
		t.Errorf("events:\n%s\nwant\n%s", got, want)
	}
	if stop != "tool_use" {
		t.Errorf("stop_reason %q, want tool_use", stop)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].APIKey != "sk-ant-api-test" || !reqs[0].HasTools() || reqs[0].LastUserText() != "write x" {
		t.Errorf("recorded %+v", reqs)
	}
}

func TestScriptedErrorsAndBearerTokens(t *testing.T) {
	s, err := Start("127.0.0.1:0", func(Request) Reply { return Reply{Status: 401, Error: "authentication_error"} })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp := post(t, s.URL, `{"model":"m","messages":[]}`, map[string]string{"Authorization": "Bearer sk-ant-oat-test"})
	defer resp.Body.Close()
	var body struct {
		Type  string `json:"type"`
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 401 || body.Type != "error" || body.Error.Type != "authentication_error" {
		t.Errorf("got %d %+v", resp.StatusCode, body)
	}
	if r := s.Requests(); len(r) != 1 || r[0].Bearer != "sk-ant-oat-test" {
		t.Errorf("recorded %+v", r)
	}
}

func TestToolResult(t *testing.T) {
	req := func(last string) Request {
		return Request{Body: MessagesRequest{Messages: []json.RawMessage{json.RawMessage(`{"role":"user","content":"go"}`), json.RawMessage(last)}}}
	}
	for _, tc := range []struct {
		last string
		want string
		ok   bool
	}{
		{`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"done"}]}`, "done", true},
		{`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`, "a\nb", true},
		{`{"role":"user","content":[{"type":"text","text":"hello"}]}`, "", false},
		{`{"role":"user","content":"hello"}`, "", false},
		{`{"role":"assistant","content":[{"type":"text","text":"hi"}]}`, "", false},
	} {
		got, ok := req(tc.last).ToolResult()
		if got != tc.want || ok != tc.ok {
			t.Errorf("ToolResult(%s) = %q, %v; want %q, %v", tc.last, got, ok, tc.want, tc.ok)
		}
	}
}

// Every answer carries a usage block counted from the request and the reply, streamed as
// the API streams it (message_start: input and a placeholder output; message_delta: the
// output total), and Sent sums what was reported, by model; a scripted usage is reported
// as given, and an error reports none.
func TestUsageIsCountedAndSummed(t *testing.T) {
	s, err := Start("127.0.0.1:0", func(r Request) Reply {
		switch r.LastUserText() {
		case "fail":
			return Reply{Status: 529, Error: "overloaded_error"}
		case "scripted":
			return Reply{Text: "x", Usage: &Usage{InputTokens: 7, OutputTokens: 3, CacheReadInputTokens: 5}}
		}
		return Reply{Text: strings.Repeat("a", 40)} // 40 bytes of text in its block
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := func(stream bool, text string) string {
		return fmt.Sprintf(`{"model":"m1","stream":%v,"system":"%s","messages":[{"role":"user","content":%q}]}`, stream, strings.Repeat("s", 396), text)
	}
	// Non-streamed: the whole usage in the message.
	resp := post(t, s.URL, body(false, "hello"), nil)
	var msg struct{ Usage Usage }
	if err := json.NewDecoder(resp.Body).Decode(&msg); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	system := tokens([]byte(`"` + strings.Repeat("s", 396) + `"`))
	in := system + tokens([]byte(`{"role":"user","content":"hello"}`))
	out := tokens([]byte(`{"text":"` + strings.Repeat("a", 40) + `","type":"text"}`))
	if msg.Usage.InputTokens != in || msg.Usage.OutputTokens != out {
		t.Errorf("usage %+v, want input %d, output %d", msg.Usage, in, out)
	}
	// Streamed: input in message_start, the output total in message_delta.
	resp = post(t, s.URL, body(true, "hello"), nil)
	var start struct {
		Message struct{ Usage Usage } `json:"message"`
	}
	var delta struct{ Usage Usage }
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		switch {
		case ok && strings.Contains(data, `"type":"message_start"`):
			_ = json.Unmarshal([]byte(data), &start)
		case ok && strings.Contains(data, `"type":"message_delta"`):
			_ = json.Unmarshal([]byte(data), &delta)
		}
	}
	resp.Body.Close()
	if start.Message.Usage.InputTokens != in || start.Message.Usage.OutputTokens != 1 || delta.Usage.OutputTokens != out {
		t.Errorf("streamed usage: start %+v, delta %+v; want input %d, output %d", start.Message.Usage, delta.Usage, in, out)
	}
	post(t, s.URL, body(true, "scripted"), nil).Body.Close()
	post(t, s.URL, body(true, "fail"), nil).Body.Close()
	want := Usage{InputTokens: 2*in + 7, OutputTokens: 2*out + 3, CacheReadInputTokens: 5}
	if got := s.Sent(); got["m1"] != want || len(got) != 1 {
		t.Errorf("Sent() = %+v, want m1: %+v", got, want)
	}
	// Each answered request carries its own share; the failed one none.
	if got := s.SentFor(func(Request) bool { return true }); got != want {
		t.Errorf("SentFor(every request) = %+v, want %+v", got, want)
	}
	scripted := s.SentFor(func(r Request) bool { return r.LastUserText() == "scripted" })
	if want := (Usage{InputTokens: 7, OutputTokens: 3, CacheReadInputTokens: 5}); scripted != want || scripted.Tokens() != 15 {
		t.Errorf("SentFor(scripted) = %+v, want %+v", scripted, want)
	}
	for _, r := range s.Requests() {
		if r.LastUserText() == "fail" && r.Sent != nil {
			t.Errorf("the failed request reports usage %+v", *r.Sent)
		}
	}
}
