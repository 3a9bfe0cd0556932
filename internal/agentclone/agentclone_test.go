package agentclone

import (
	"bytes"
	"strings"
	"testing"
)

// What the host takes from an agent's clone is bounded: past its limit the writer fails,
// and nothing past the limit is kept.
func TestLimitWriter(t *testing.T) {
	var b bytes.Buffer
	w := &limitWriter{w: &b, limit: 10 << 20}
	if _, err := w.Write(make([]byte, 6<<20)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 4<<20)); err != nil {
		t.Fatalf("up to the limit: %v", err)
	}
	if _, err := w.Write([]byte{0}); err == nil || !strings.Contains(err.Error(), "more than 10 MiB") {
		t.Fatalf("past the limit: %v", err)
	}
	if b.Len() != 10<<20 {
		t.Errorf("kept %d bytes", b.Len())
	}
}
