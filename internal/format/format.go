// Package format writes what a command reports the way docker's own commands do for
// --format: "table" (the command's own columns, the default), "json" (one JSON object per
// line, keyed by field name as a template names it), "table TEMPLATE" (a template per row
// under a header of its fields) or any other Go template, with docker/cli's template
// functions (json, join, upper, lower, title, split, pad, truncate). Any package may
// import it; it imports only the standard library and docker/cli's templates and
// tabwriter.
package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/template"
	"unicode"

	"github.com/docker/cli/cli/command/formatter/tabwriter"
	"github.com/docker/cli/templates"
)

// Usage is the --format flag's help.
const Usage = `Format output: "table" (the default), "json" (one JSON object per line), "table TEMPLATE" (a Go template per row, with a header) or a Go template ("{{.Agent}}\t{{.State}}")`

// Format is a --format value, checked by Parse.
type Format struct {
	raw   string
	tmpl  *template.Template
	table bool // "table TEMPLATE": a header, and columns aligned
}

// Parse checks a --format value; a template that does not parse is an error that says so.
func Parse(s string) (Format, error) {
	f := Format{raw: s}
	switch s {
	case "", "table", "json":
		return f, nil
	}
	text := s
	if after, ok := strings.CutPrefix(s, "table "); ok {
		f.table, text = true, after
	}
	text = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(strings.Trim(text, " "))
	tmpl, err := templates.Parse(text)
	if err != nil {
		return f, fmt.Errorf(`invalid --format %q: %w (give "table", "json" or a Go template such as "{{.Agent}}")`, s, err)
	}
	f.tmpl = tmpl
	return f, nil
}

// IsTable reports whether the command writes its own table.
func (f Format) IsTable() bool { return f.raw == "" || f.raw == "table" }

// IsJSON reports whether the format is "json".
func (f Format) IsJSON() bool { return f.raw == "json" }

// Table writes a listing's default table: tmpl ("table {{.Agent}}\t{{.State}}") over
// rows the command formatted for display, through the same formatter and tabwriter as
// --format "table TEMPLATE", its header each field's name in words unless headers names
// it otherwise. tmpl is the command's own: one that does not parse is a bug.
func Table[T any](w io.Writer, tmpl string, rows []T, headers map[string]string) error {
	f, err := Parse(tmpl)
	if err != nil || !f.table {
		return fmt.Errorf("a default table that is not one (a bug in docker-magents): %q: %v", tmpl, err)
	}
	return write(w, f, rows, headers)
}

// Rows writes rows in the format; table writes the command's own table.
func Rows[T any](w io.Writer, f Format, rows []T, table func(io.Writer) error) error {
	switch {
	case f.IsTable():
		return table(w)
	case f.IsJSON():
		enc := json.NewEncoder(w)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	return write(w, f, rows, nil)
}

// write executes f's template for each row, under a header when it is a table.
func write[T any](w io.Writer, f Format, rows []T, headers map[string]string) error {
	var buf bytes.Buffer
	for _, r := range rows {
		if err := f.tmpl.Execute(&buf, r); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		buf.WriteByte('\n')
	}
	if !f.table {
		_, err := buf.WriteTo(w)
		return err
	}
	// The header last, as docker does: its functions replace the template's for good.
	tw := tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	var zero T
	h := header(reflect.TypeOf(zero))
	for k, v := range headers {
		h[k] = v
	}
	if err := f.tmpl.Funcs(templates.HeaderFunctions).Execute(tw, h); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if _, err := tw.Write([]byte{'\n'}); err != nil {
		return err
	}
	if _, err := buf.WriteTo(tw); err != nil {
		return err
	}
	return tw.Flush()
}

// Value writes one object (a report) in the format.
func Value[T any](w io.Writer, f Format, v T, table func(io.Writer) error) error {
	return Rows(w, f, []T{v}, table)
}

// header maps each field of t (a struct, or a pointer to one) to its column header:
// ContainerState → CONTAINER STATE.
func header(t reflect.Type) map[string]string {
	h := map[string]string{}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return h
	}
	for i := 0; i < t.NumField(); i++ {
		if sf := t.Field(i); sf.IsExported() {
			h[sf.Name] = words(sf.Name)
		}
	}
	return h
}

func words(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
