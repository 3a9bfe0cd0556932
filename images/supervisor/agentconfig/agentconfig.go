// Package agentconfig is the configuration every agent of a fleet shares besides its
// workspace's own: a user CLAUDE.md, Claude settings, MCP servers and slash commands. The
// plugin reads the files on the host and delivers them (compose configs, or `config
// sync`); the supervisor places them into the agent's Claude config dir. Both check them
// with this package, which uses the standard library only (as the supervisor does).
package agentconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// The files of a set, by their name in it (commands keep their path under commands/).
const (
	ClaudeMD      = "CLAUDE.md"
	Settings      = "settings.json"
	MCP           = "mcp.json"
	CommandsDir   = "commands"
	ManifestName  = "manifest.json"
	SharedDirName = "magents/shared" // under the agent's Claude config dir
)

// Set is a shared configuration: file name → content.
type Set map[string]string

// Manifest lists a set's files with their digests. It is delivered with the files: files
// in the shared dir it does not list are left over from an earlier set.
type Manifest struct {
	// Generation orders sets: when the set was last changed (RFC 3339, UTC). An agent keeps
	// the newer of what compose delivered at its start and what config sync sent since.
	Generation string            `json:"generation"`
	Files      map[string]string `json:"files"` // name → sha256:hex
}

// Newer reports whether m is a later set than other.
func (m Manifest) Newer(other Manifest) bool {
	a, errA := time.Parse(time.RFC3339Nano, m.Generation)
	b, errB := time.Parse(time.RFC3339Nano, other.Generation)
	if errB != nil {
		return errA == nil
	}
	return errA == nil && a.After(b)
}

// File is one file of what reaches an agent.
type File struct{ Name, Content string }

// Delivered is what reaches an agent, wherever it runs: the set's files by name, then
// their manifest of generation (a reader that sees the manifest sees every file).
func (s Set) Delivered(generation string) []File {
	files := make([]File, 0, len(s)+1)
	for _, name := range s.Names() {
		files = append(files, File{name, s[name]})
	}
	m, _ := json.MarshalIndent(s.Manifest(generation), "", "  ") // strings only: cannot fail
	return append(files, File{ManifestName, string(m) + "\n"})
}

// Digest of the whole set: equal sets, equal digests.
func (m Manifest) Digest() string {
	var sb strings.Builder
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sb.WriteString(n + " " + m.Files[n] + "\n")
	}
	return Digest(sb.String())
}

// Manifest of the set, of the given generation.
func (s Set) Manifest(generation string) Manifest {
	m := Manifest{Generation: generation, Files: map[string]string{}}
	for name, content := range s {
		m.Files[name] = Digest(content)
	}
	return m
}

// Digest is the sha256 of content, as the manifest and `config show` print it.
func Digest(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Names of the set's files, sorted.
func (s Set) Names() []string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ObjectName names a set's file where a platform keeps it by a flat name (a compose
// config, a ConfigMap key): claude-md, settings-json, …; a command's carries a digest of
// its path, so paths that differ only in / . _ stay apart (commands-go-test-md-1a2b3c4d).
func ObjectName(file string) string {
	s := strings.ToLower(strings.NewReplacer("/", "-", ".", "-", "_", "-").Replace(file))
	if strings.HasPrefix(file, CommandsDir+"/") {
		return s + "-" + strings.TrimPrefix(Digest(file), "sha256:")[:8]
	}
	return s
}

// ValidName reports whether name may be a file of a set: one of the fixed names or a
// Markdown command under commands/ (a clean relative path, no dot files).
func ValidName(name string) bool {
	switch name {
	case ClaudeMD, Settings, MCP:
		return true
	}
	rest, ok := strings.CutPrefix(name, CommandsDir+"/")
	if !ok || rest == "" || path.Clean(name) != name || !strings.HasSuffix(name, ".md") {
		return false
	}
	for _, part := range strings.Split(rest, "/") {
		if part == "" || strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}

// Check validates every file of the set: known names, JSON objects that parse (an error
// names the line and column), MCP servers in the .mcp.json shape, and no credential
// written out literally, since the set travels in the compose file.
func (s Set) Check() error {
	var errs []error
	for _, name := range s.Names() {
		if !ValidName(name) {
			errs = append(errs, fmt.Errorf("%s: not a file of the shared config (CLAUDE.md, settings.json, mcp.json, commands/*.md)", name))
			continue
		}
		if name != Settings && name != MCP {
			continue
		}
		obj, err := ParseObject(name, []byte(s[name]))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if name == MCP {
			if _, err := Servers(obj); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		errs = append(errs, literalSecrets(name, obj)...)
	}
	return errors.Join(errs...)
}

// ParseObject parses b as a JSON object; the error of a file that does not parse names
// the line and column.
func ParseObject(name string, b []byte) (map[string]any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := position(b, se.Offset-1)
			return nil, fmt.Errorf("%s: line %d, column %d: %v", name, line, col, err)
		case errors.As(err, &te):
			line, col := position(b, te.Offset-1)
			return nil, fmt.Errorf("%s: line %d, column %d: %v", name, line, col, err)
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			line, col := position(b, int64(len(b)))
			return nil, fmt.Errorf("%s: line %d, column %d: unexpected end of the file", name, line, col)
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if dec.More() {
		next := dec.InputOffset()
		for next < int64(len(b)) && strings.ContainsRune(" \t\r\n", rune(b[next])) {
			next++
		}
		line, col := position(b, next)
		return nil, fmt.Errorf("%s: line %d, column %d: more after the JSON object", name, line, col)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: line 1: not a JSON object", name)
	}
	return obj, nil
}

// position is the 1-based line and column of the byte at index i of b.
func position(b []byte, i int64) (line, col int) {
	i = max(0, min(i, int64(len(b))))
	before := b[:i]
	return bytes.Count(before, []byte("\n")) + 1, int(i) - bytes.LastIndexByte(before, '\n')
}

// Servers is the mcpServers object of an .mcp.json, each a JSON object.
func Servers(mcp map[string]any) (map[string]map[string]any, error) {
	raw, ok := mcp["mcpServers"]
	if !ok {
		return nil, fmt.Errorf(`%s: no "mcpServers" object (the .mcp.json shape: {"mcpServers": {"name": {...}}})`, MCP)
	}
	servers, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf(`%s: "mcpServers" is not an object`, MCP)
	}
	out := map[string]map[string]any{}
	for name, s := range servers {
		m, ok := s.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: server %q is not an object", MCP, name)
		}
		if _, hasCmd := m["command"].(string); !hasCmd {
			if _, hasURL := m["url"].(string); !hasURL {
				return nil, fmt.Errorf("%s: server %q has neither a command nor a url", MCP, name)
			}
		}
		out[name] = m
	}
	return out, nil
}

// secretKey matches the names of variables and headers that carry credentials.
var secretKey = lazyRegexp(`(?i)(token|secret|passw|api[-_]?key|authorization|credential|private[-_]?key|cookie)`)

// reference is a value taken from the agent's environment when Claude reads the file
// (${VAR} or ${VAR:-default}): no credential in the file itself.
var reference = lazyRegexp(`^\s*(Bearer\s+|Basic\s+|token\s+)?\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}\s*$`)

// literalSecrets finds credential-named entries of env and headers objects (at any depth)
// whose value is written out rather than referenced as ${VAR}.
func literalSecrets(file string, obj map[string]any) []error {
	var errs []error
	var walk func(where string, v any)
	walk = func(where string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			if list, ok := v.([]any); ok {
				for i, e := range list {
					walk(fmt.Sprintf("%s[%d]", where, i), e)
				}
			}
			return
		}
		for _, k := range sortedKeys(m) {
			child := where + "." + k
			if where == "" {
				child = k
			}
			if (strings.HasSuffix(where, "env") || strings.HasSuffix(where, "headers")) && secretKey().MatchString(k) {
				if s, ok := m[k].(string); ok && s != "" && !reference().MatchString(s) {
					errs = append(errs, fmt.Errorf("%s: %s holds a credential written out: the file travels in the compose file; write ${%s} instead and give the agents %s as a variable (the value never in the compose file)", file, child, envName(k), envName(k)))
				}
				continue
			}
			if k == "args" {
				if what := literalInArgs(m[k]); what != "" {
					errs = append(errs, fmt.Errorf("%s: %s holds a credential written out (%s): the file travels in the compose file; pass it as ${VAR} and give the agents VAR as a variable", file, child, what))
				}
				continue
			}
			if u, ok := m[k].(string); ok && k == "url" {
				if what := literalInURL(u); what != "" {
					errs = append(errs, fmt.Errorf("%s: %s holds a credential written out (%s): the file travels in the compose file; pass it as ${VAR} and give the agents VAR as a variable", file, child, what))
				}
				continue
			}
			walk(child, m[k])
		}
	}
	walk("", obj)
	return errs
}

// tokenPrefix matches the shapes of well-known credentials, wherever they are written.
var tokenPrefix = lazyRegexp(`(^|[=:\s])(sk-ant-[A-Za-z0-9]|gh[pousr]_[A-Za-z0-9]{8}|github_pat_|xox[abpr]-|AKIA[0-9A-Z]{12}|glpat-)`)

// literalInArgs names the first argument of a command line that writes a credential out:
// a credential-named option with a value (--api-key=V, or --token V), or a token of a
// well-known shape; "" when there is none.
func literalInArgs(v any) string {
	list, _ := v.([]any)
	for i, a := range list {
		s, _ := a.(string)
		if tokenPrefix().MatchString(s) {
			return fmt.Sprintf("argument %d", i+1)
		}
		name, value, hasValue := strings.Cut(s, "=")
		if !strings.HasPrefix(name, "-") || !secretKey().MatchString(name) {
			continue
		}
		if !hasValue && i+1 < len(list) {
			value, _ = list[i+1].(string)
			hasValue = !strings.HasPrefix(value, "-")
		}
		if hasValue && value != "" && !reference().MatchString(value) {
			return "the value of " + name
		}
	}
	return ""
}

// literalInURL names what in a URL is a credential written out: a password in it, or a
// credential-named query parameter's value; "" when there is none.
func literalInURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	if p, ok := u.User.Password(); ok && p != "" && !reference().MatchString(p) {
		return "its password"
	}
	for k, vs := range u.Query() {
		for _, v := range vs {
			if secretKey().MatchString(k) && v != "" && !reference().MatchString(v) {
				return "its " + k + " parameter"
			}
		}
	}
	if tokenPrefix().MatchString(s) {
		return "a token in it"
	}
	return ""
}

func envName(k string) string {
	return strings.ToUpper(notEnvChar().ReplaceAllString(k, "_"))
}

func sortStrings(s []string) { slices.Sort(s) }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Redacted is a copy of obj with the values of env and headers entries replaced by
// "<redacted>" (references to variables are kept: they say where a value comes from).
func Redacted(obj map[string]any) map[string]any {
	var copyOf func(where string, v any) any
	copyOf = func(where string, v any) any {
		switch t := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, e := range t {
				if where == "env" || where == "headers" {
					if s, ok := e.(string); ok && !reference().MatchString(s) {
						out[k] = "<redacted>"
						continue
					}
				}
				out[k] = copyOf(k, e)
			}
			return out
		case []any:
			out := make([]any, len(t))
			for i, e := range t {
				out[i] = copyOf(where, e)
			}
			return out
		}
		return v
	}
	return copyOf("", obj).(map[string]any)
}

// Report is what an agent effectively has of the shared config (`magents-supervisor
// config show`, and per agent in `docker magents config show --format json`). Values of
// env and headers are redacted.
type Report struct {
	Shared     bool              `json:"shared"`
	Generation string            `json:"generation,omitempty"`
	Digest     string            `json:"digest,omitempty"`
	Files      []ReportFile      `json:"files"`
	Servers    []ReportServer    `json:"mcpServers"`
	Settings   []string          `json:"settingsKeys"`
	Git        map[string]string `json:"git,omitempty"`
	Problems   []string          `json:"problems,omitempty"`
}

// ReportFile is one file of the set and where Claude reads it.
type ReportFile struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Digest string `json:"digest"`
}

// ReportServer is one MCP server of the agent's user scope, redacted, with what keeps it
// from starting in this image.
type ReportServer struct {
	Name    string         `json:"name"`
	Server  map[string]any `json:"server"`
	Problem string         `json:"problem,omitempty"`
}

var notEnvChar = lazyRegexp(`[^A-Za-z0-9_]`)

// lazyRegexp compiles on first use: the plugin links this package, and every docker
// command that lists plugins starts it.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
