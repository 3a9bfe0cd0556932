package agenttoken

import (
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	one, two := Of(key, "agent-1"), Of(key, "agent-2")
	if !strings.HasPrefix(one, Prefix) || one == two || one != Of(key, "agent-1") {
		t.Fatalf("tokens: %q %q", one, two)
	}
	if Of([]byte("another fleet's key, as long...."), "agent-1") == one {
		t.Error("another key gives the same token")
	}
	if !Valid(key, "agent-1", one+"\n") || Valid(key, "agent-2", one) || Valid(key, "agent-1", "") {
		t.Error("Valid takes the wrong tokens")
	}
	names := []string{"agent-1", "agent-2", "agent-3"}
	if Owner(key, names, two) != "agent-2" || Owner(key, names, "magents-gw-00") != "" || Owner(key, names[:1], two) != "" {
		t.Error("Owner names the wrong agent")
	}
}
