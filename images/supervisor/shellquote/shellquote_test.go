package shellquote

import "testing"

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/local/bin/magents-supervisor": "/usr/local/bin/magents-supervisor",
		"/tmp/a b/it's":                     `'/tmp/a b/it'\''s'`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
