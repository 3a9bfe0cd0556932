package fleet

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
)

// A new project is named as compose names one after its directory: held to compose-go's
// own normalization, on names compose users have.
func TestProjectNamesAreComposes(t *testing.T) {
	for _, name := range []string{"magents", "My Project", "__x", "-_-", "Ünïcode-Dir", "a.b.c", "İstanbul", "ǅ", "K", "ﬀ", "", "123", "UPPER_case-9"} {
		if got, want := normalizeProjectName(name), loader.NormalizeProjectName(name); got != want {
			t.Errorf("%q: %q, compose names it %q", name, got, want)
		}
	}
}

func FuzzProjectNamesAreComposes(f *testing.F) {
	f.Add("My Project")
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := normalizeProjectName(name), loader.NormalizeProjectName(name); got != want {
			t.Errorf("%q: %q, compose names it %q", name, got, want)
		}
	})
}
