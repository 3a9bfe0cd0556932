package fleet

import (
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// A saved fleet reads back in every format this version reads: escaped values are
// unescaped only in this format; an old file without egress is open, a new one refused;
// a newer format is refused with what to do.
func TestDecodeSaved(t *testing.T) {
	decode := func(doc string) (*Fleet, bool, error) {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
			t.Fatal(err)
		}
		unescaped := false
		f, err := DecodeSaved(n.Content[0], "x-magents", func(*yaml.Node) { unescaped = true })
		return f, unescaped, err
	}
	v := strconv.Itoa(FormatVersion)
	f, unescaped, err := decode("version: " + v + "\nagents: 2\negress: allowlist\n")
	if err != nil || !unescaped || f.Agents != 2 || f.Egress != EgressAllowlist || f.Version != FormatVersion {
		t.Errorf("this format: %+v, unescaped %v, %v", f, unescaped, err)
	}
	f, unescaped, err = decode("agents: 1\n")
	if err != nil || unescaped || f.Egress != EgressOpen || f.Version != FormatVersion {
		t.Errorf("a file from before formats: %+v, unescaped %v, %v", f, unescaped, err)
	}
	if _, _, err := decode("version: " + v + "\nagents: 1\n"); err == nil || !strings.Contains(err.Error(), "add egress: allowlist") {
		t.Errorf("this format without egress: %v", err)
	}
	if _, _, err := decode("version: " + strconv.Itoa(FormatVersion+1) + "\n"); err == nil || !strings.Contains(err.Error(), "update docker magents") {
		t.Errorf("a newer format: %v", err)
	}
	if _, _, err := decode("- a list\n"); err == nil || !strings.Contains(err.Error(), "not docker magents' settings") {
		t.Errorf("not a mapping: %v", err)
	}
	if s := (&Fleet{Agents: 3}).Saved(); s.Version != FormatVersion || s.Agents != 3 {
		t.Errorf("saved: %+v", s)
	}
}
