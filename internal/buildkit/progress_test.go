package buildkit

import "testing"

func TestParseProgress(t *testing.T) {
	if m, err := ParseProgress(""); err != nil || m != "auto" {
		t.Errorf("empty: %q, %v", m, err)
	}
	if m, err := ParseProgress("plain"); err != nil || m != "plain" {
		t.Errorf("plain: %q, %v", m, err)
	}
	if _, err := ParseProgress("fancy"); err == nil {
		t.Error("--progress fancy accepted")
	}
}
