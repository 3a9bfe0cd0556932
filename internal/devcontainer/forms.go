package devcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/docker-magents/docker-magents/images/supervisor/lifecycle"
)

// The spec gives several properties more than one form: each type here reads every form
// and writes back the one it read, so a configuration reads back as the file said it.

// StringList is a string or a list of strings (dockerComposeFile, cacheFrom).
type StringList struct {
	Items []string
	one   bool // written as a string
}

func (l *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = StringList{Items: []string{one}, one: true}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("a string or a list of strings")
	}
	*l = StringList{Items: many}
	return nil
}

func (l StringList) MarshalJSON() ([]byte, error) {
	if l.one && len(l.Items) == 1 {
		return json.Marshal(l.Items[0])
	}
	return json.Marshal(l.Items)
}

// IsZero says the file did not set it (for omitempty's sake, which a struct escapes).
func (l StringList) IsZero() bool { return l.Items == nil }

// Port is a port (3000) or a host and port ("db:5432").
type Port struct {
	Number int
	Host   string // "" for a bare number
	text   bool   // written as a string
}

func (p *Port) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &p.Number); err == nil {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("a port number or \"host:port\"")
	}
	p.text = true
	host, port, found := strings.Cut(s, ":")
	if !found {
		host, port = "", s
	}
	var n int
	if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n < 1 || n > 65535 || fmt.Sprint(n) != port {
		return fmt.Errorf("%q is not a port or \"host:port\"", s)
	}
	p.Number, p.Host = n, host
	return nil
}

func (p Port) MarshalJSON() ([]byte, error) {
	if !p.text {
		return json.Marshal(p.Number)
	}
	if p.Host == "" {
		return json.Marshal(fmt.Sprint(p.Number))
	}
	return json.Marshal(fmt.Sprintf("%s:%d", p.Host, p.Number))
}

// String is the port as the file wrote it.
func (p Port) String() string {
	if p.Host == "" {
		return fmt.Sprint(p.Number)
	}
	return fmt.Sprintf("%s:%d", p.Host, p.Number)
}

// PortList is a port or a list of ports (appPort, forwardPorts).
type PortList []Port

func (l *PortList) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] != '[' {
		var p Port
		if err := p.UnmarshalJSON(b); err != nil {
			return err
		}
		*l = PortList{p}
		return nil
	}
	var many []Port
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

// StringMap is an object of strings (containerEnv, build.args).
type StringMap map[string]string

// NullableMap is an object of strings or nulls (remoteEnv: null unsets a variable).
type NullableMap map[string]*string

// RawMap is an object whose values docker-magents passes on or reports, not reads.
type RawMap map[string]json.RawMessage

// RawJSON is a value docker-magents passes on or reports, not reads.
type RawJSON = json.RawMessage

// Features are the dev container features to install, by ID (an OCI reference, a URL or
// "./path"), each with its options: an object, or a version string, or true.
type Features map[string]json.RawMessage

// Options are the feature's options as an object: a version string is {"version": …},
// true (or an empty object) is none.
func (f Features) Options(id string) (map[string]any, error) {
	raw, ok := f[id]
	if !ok {
		return nil, fmt.Errorf("no feature %s", id)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case map[string]any:
		return v, nil
	case string:
		return map[string]any{"version": v}, nil
	case bool:
		if v {
			return map[string]any{}, nil
		}
	}
	return nil, fmt.Errorf("feature %s: its options are an object, a version string or true", id)
}

// Mount is a mount: docker's --mount string ("type=bind,source=…,target=…"), or an object
// of type, source and target.
type Mount struct {
	Type, Source, Target string
	// Text is the string form as written; "" for the object form, kept as written in raw.
	Text string
	raw  json.RawMessage
}

func (m *Mount) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &m.Text); err == nil {
		for _, kv := range strings.Split(m.Text, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch strings.TrimSpace(k) {
			case "type":
				m.Type = v
			case "source", "src":
				m.Source = v
			case "target", "destination", "dst":
				m.Target = v
			}
		}
		return nil
	}
	var o struct{ Type, Source, Target string }
	if err := json.Unmarshal(b, &o); err != nil {
		return errors.New("a mount string or an object of type, source and target")
	}
	m.Type, m.Source, m.Target, m.raw = o.Type, o.Source, o.Target, append(json.RawMessage(nil), b...)
	return nil
}

func (m Mount) MarshalJSON() ([]byte, error) {
	if m.Text != "" {
		return json.Marshal(m.Text)
	}
	if m.raw != nil {
		return m.raw, nil
	}
	return json.Marshal(struct {
		Type   string `json:"type"`
		Source string `json:"source,omitempty"`
		Target string `json:"target"`
	}{m.Type, m.Source, m.Target})
}

// Command is a lifecycle command, in the spec's three forms (the supervisor runs it).
type Command = lifecycle.Command
