package format

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

type row struct {
	Agent          string
	ContainerState string
	Problems       []string
}

func TestFormats(t *testing.T) {
	rows := []row{{"agent-1", "running", []string{"a", "b"}}, {"agent-2", "exited", nil}}
	table := func(w io.Writer) error { _, err := io.WriteString(w, "THE COMMAND'S TABLE\n"); return err }
	for _, tc := range []struct{ format, want string }{
		{"", "THE COMMAND'S TABLE\n"},
		{"table", "THE COMMAND'S TABLE\n"},
		{"json", `{"Agent":"agent-1","ContainerState":"running","Problems":["a","b"]}` + "\n" + `{"Agent":"agent-2","ContainerState":"exited","Problems":null}` + "\n"},
		{"{{.Agent}}", "agent-1\nagent-2\n"},
		{`{{.Agent}}\t{{join .Problems ","}}`, "agent-1\ta,b\nagent-2\t\n"},
		{"{{json .Problems}}", "[\"a\",\"b\"]\nnull\n"},
		{"table {{.Agent}}\t{{.ContainerState}}", "AGENT     CONTAINER STATE\nagent-1   running\nagent-2   exited\n"},
		{"table {{upper .Agent}}", "AGENT\nAGENT-1\nAGENT-2\n"},
	} {
		f, err := Parse(tc.format)
		if err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		var buf bytes.Buffer
		if err := Rows(&buf, f, rows, table); err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		if buf.String() != tc.want {
			t.Errorf("%q:\n%q\nwant\n%q", tc.format, buf.String(), tc.want)
		}
	}
	if _, err := Parse("{{.Agent"); err == nil || !strings.Contains(err.Error(), "invalid --format") {
		t.Errorf("a broken template: %v", err)
	}
	f, _ := Parse("{{.Nope}}")
	if err := Rows(io.Discard, f, rows, table); err == nil {
		t.Error("a template naming a field the rows lack ran")
	}
}
