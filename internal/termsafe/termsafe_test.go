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
