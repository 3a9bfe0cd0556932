package agenttoken

import (
	"net/http"
	"net/http/httptest"
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

func TestPresented(t *testing.T) {
	for _, c := range []struct {
		header, value string
		basic         bool
		want, byGit   string
	}{
		{"Authorization", "Bearer magents-gw-1 ", false, "magents-gw-1", "magents-gw-1"},
		{"X-Api-Key", "magents-gw-2", false, "magents-gw-2", "magents-gw-2"},
		{"", "", true, "", "magents-gw-3"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if c.header != "" {
			r.Header.Set(c.header, c.value)
		}
		if c.basic {
			r.SetBasicAuth("agent", "magents-gw-3")
		}
		if got, byGit := Presented(r), PresentedByGit(r); got != c.want || byGit != c.byGit {
			t.Errorf("%s %q: Presented %q, PresentedByGit %q; want %q, %q", c.header, c.value, got, byGit, c.want, c.byGit)
		}
	}
}
