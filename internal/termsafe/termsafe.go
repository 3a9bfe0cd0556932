// Package termsafe makes text that came from an agent inert on the host's terminal. What
// an agent writes (a notification, a health problem, a result, a host name it asked the
// proxy for) is untrusted: printed as it is, an escape sequence could retitle the window,
// rewrite what the screen shows, or on some terminals answer with keystrokes.
package termsafe

import (
	"reflect"
	"strings"
	"unicode/utf8"
)

// String returns s without terminal control: escape sequences (CSI, OSC, DCS and the
// other ESC forms) are removed whole, other C0 and C1 control characters and DEL are
// dropped (tabs and newlines stay), as are the bidirectional overrides that make text
// read other than it is; invalid UTF-8 becomes U+FFFD.
func String(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
		case r == 0x1b:
			i += escapeLen(s[i:])
			continue
		case r == 0x9b || r == 0x9d || r == 0x90 || r == 0x9e || r == 0x9f: // C1 CSI, OSC, DCS, PM, APC
			i += size + stringLen(s[i+size:], r == 0x9b)
			continue
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidiControl(r):
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' || c >= 0x7f {
			return false
		}
	}
	return true
}

// escapeLen is the length of the escape sequence at the start of s (which starts with ESC).
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch s[1] {
	case '[': // CSI: parameters and intermediates, then one final byte
		return 2 + stringLen(s[2:], true)
	case ']', 'P', '^', '_', 'X': // OSC, DCS, PM, APC, SOS: up to BEL or ST
		return 2 + stringLen(s[2:], false)
	default: // ESC and one character (with intermediates: ESC ( B …)
		n := 1
		for n < len(s) && s[n] >= 0x20 && s[n] <= 0x2f {
			n++
		}
		if n < len(s) {
			n++
		}
		return n
	}
}

// stringLen is how far the body of a control sequence runs in s: for a CSI, through its
// final byte (0x40–0x7e); for a string (OSC, DCS …), through BEL or ST (ESC \ or 0x9c).
func stringLen(s string, csi bool) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if csi {
			if c >= 0x40 && c <= 0x7e {
				return i + 1
			}
			if c < 0x20 || c > 0x3f && c < 0x40 {
				return i
			}
			continue
		}
		switch {
		case c == 0x07:
			return i + 1
		case c == 0x1b && i+1 < len(s) && s[i+1] == '\\':
			return i + 2
		case c == 0xc2 && i+1 < len(s) && s[i+1] == 0x9c:
			return i + 2
		}
	}
	return len(s)
}

func isBidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

// Value makes every string that v points to inert, in place: the fields of structs (and
// of the structs, slices, maps, interfaces and pointers in them, map keys included),
// named string types included. It is how a report read from an agent (its health,
// checks, result, the MCP servers of its .claude.json) becomes safe to print, whatever
// fields the report grows.
func Value(v any) {
	walk(reflect.ValueOf(v))
}

func walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walk(v.Elem())
		}
	case reflect.Interface:
		if !v.IsNil() && v.CanSet() {
			v.Set(cleaned(v.Elem()))
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				walk(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i))
		}
	case reflect.Map:
		// Entries are not addressable: each is replaced by a cleaned copy.
		for _, k := range v.MapKeys() {
			nk, nv := cleaned(k), cleaned(v.MapIndex(k))
			if nk.Interface() != k.Interface() {
				v.SetMapIndex(k, reflect.Value{})
			}
			v.SetMapIndex(nk, nv)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(String(v.String()))
		}
	}
}

// cleaned is a copy of v, of v's type, with every string in it made inert: for values
// that cannot be changed where they are (map entries, what an interface holds).
func cleaned(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		return reflect.ValueOf(String(v.String())).Convert(v.Type())
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(cleaned(v.Elem()))
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(cleaned(v.Index(i)))
		}
		return out
	case reflect.Map, reflect.Struct, reflect.Array, reflect.Pointer:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		walk(out)
		return out
	}
	return v
}
