package termsafe

import (
	"strings"
	"testing"
	"unicode"
)

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, tabs\tand\nnewlines":   "plain text, tabs\tand\nnewlines",
		"needs \x1b[31mred\x1b[0m approval": "needs red approval",
		"title \x1b]0;pwned\x07 here":       "title  here",
		"title \x1b]2;pwned\x1b\\ here":     "title  here",
		"clear\x1b[2J\x1b[H screen":         "clear screen",
		"dcs \x1bPq#0;2;0;0;0\x1b\\ end":    "dcs  end",
		"charset \x1b(0x\x1b(B":             "charset x",
		"c1 csi \u009b31m red":              "c1 csi  red",
		"bell\a backspace\b cr\r del\x7f":   "bell backspace cr del",
		"bidi \u202egnp.exe\u202c":          "bidi gnp.exe",
		"utf-8 stays: café, 日本, ❯":          "utf-8 stays: café, 日本, ❯",
		"invalid \xff byte":                 "invalid \ufffd byte",
		"cut short \x1b[":                   "cut short ",
		"cut short \x1b]0;no terminator":    "cut short ",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

// Whatever comes in, nothing that drives a terminal comes out.
func FuzzString(f *testing.F) {
	f.Add("\x1b[31mred\x1b]0;t\x07\u009b2J\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if strings.ContainsFunc(out, func(r rune) bool {
			return r != '\t' && r != '\n' && (unicode.IsControl(r) || isBidiControl(r))
		}) {
			t.Fatalf("String(%q) = %q keeps a control character", s, out)
		}
		if String(out) != out {
			t.Fatalf("String is not idempotent on %q", s)
		}
	})
}

func TestValue(t *testing.T) {
	type state string
	type check struct {
		Name   string
		Status state
		Tags   []string
		Nested *struct{ Detail string }
		n      string
	}
	c := []check{{Name: "a\x1b[2Jb", Status: "ok\a", Tags: []string{"\x1b]0;t\x07x"}, Nested: &struct{ Detail string }{"d\u009b1m"}, n: "\x1b"}}
	Value(&c)
	if c[0].Name != "ab" || c[0].Status != "ok" || c[0].Tags[0] != "x" || c[0].Nested.Detail != "d" || c[0].n != "\x1b" {
		t.Errorf("Value left %+v %+v", c[0], *c[0].Nested)
	}
}

// Maps and interfaces are cleaned too, keys included: an MCP server's command from an
// agent's .claude.json is a map[string]any several levels down.
func TestValueMapsAndInterfaces(t *testing.T) {
	type server struct {
		Name   string
		Server map[string]any
		Git    map[string]string
	}
	s := server{
		Name: "x",
		Server: map[string]any{
			"command": "npx\x1b]52;c;ZXZpbA==\x07",
			"args":    []any{"a\x1b[8m", map[string]any{"url\x1b[1A": "http://h\x1b[2K"}},
			"port":    3,
		},
		Git: map[string]string{"user.name\x1b[2J": "dev\a"},
	}
	Value(&s)
	args := s.Server["args"].([]any)
	nested := args[1].(map[string]any)
	if s.Server["command"] != "npx" || args[0] != "a" || nested["url"] != "http://h" || len(nested) != 1 || s.Server["port"] != 3 {
		t.Errorf("Value left %#v", s.Server)
	}
	if s.Git["user.name"] != "dev" || len(s.Git) != 1 {
		t.Errorf("Value left %#v", s.Git)
	}
}

// Visible shows every control character and drops none; the Writer does the same on a
// stream whose characters are split between writes.
func TestVisible(t *testing.T) {
	for in, want := range map[string]string{
		"plain\ttext\n":                  "plain\ttext\n",
		"+hidden\x1b[1A\x1b[2K":          "+hidden^[[1A^[[2K",
		"\x1b[8mconcealed\x1b[0m":        "^[[8mconcealed^[[0m",
		"bell\a del\x7f cr\r":            "bell^G del^? cr^M",
		"c1 \u009b31m bidi \u202eevil":   "c1 <U+009B>31m bidi <U+202E>evil",
		"bad \xff utf-8, good é":         "bad \uFFFD utf-8, good é",
		"osc 52 \x1b]52;c;ZXZpbA==\x07.": "osc 52 ^[]52;c;ZXZpbA==^G.",
	} {
		if got := Visible(in); got != want {
			t.Errorf("Visible(%q) = %q, want %q", in, got, want)
		}
	}
	var out strings.Builder
	w := NewWriter(&out)
	for _, chunk := range [][]byte{[]byte("é is \xc3"), []byte("\xa9, \x1b"), []byte("[2K\xe2\x80"), []byte("\xae end\xc3")} {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := "é is é, ^[[2K<U+202E> end\uFFFD"; out.String() != want {
		t.Errorf("Writer wrote %q, want %q", out.String(), want)
	}
}
