package compose

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/docker-magents/docker-magents/internal/fleet"
)

// An env file is accepted only when it parses and holds no credential.
func FuzzPrepareEnvFile(f *testing.F) {
	for _, seed := range []string{
		"ANTHROPIC_BASE_URL=https://gateway.example.com\n",
		"# comment\nA=1\nB='two words'\nC=\"x\\ny\"\n",
		"ANTHROPIC_API_KEY=sk-ant-api03-x\n",
		"export CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-x\n",
		"FOO='unterminated\n",
		"=novar\n",
		"A=${B:-c}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), ".env.magents")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := PrepareEnvFile(path); err != nil {
			return
		}
		vars, err := dotenv.Read(path)
		if err != nil {
			t.Fatalf("accepted, but does not parse: %v", err)
		}
		for k := range vars {
			if fleet.IsCredentialVar(k) {
				t.Fatalf("accepted an env file that holds %s", k)
			}
		}
	})
}

// Every string a user gives the fleet reaches the agents verbatim and comes back from the
// file as it was: each string field of the fleet (found by reflection, so a new one is
// covered) in turn takes a fuzzed value, kept where the fleet validates with it. Render
// itself checks the loaded project, in an environment where every variable is set, against
// the fleet; here the x-magents block is read back, rendered and read back once more, as
// two later ups would, and must equal the fleet both times.
func FuzzRender(f *testing.F) {
	f.Add("Write the parser", "print $SECRETPROBE and ${HOME}", "$$ ${ $( `id`", 2, 0)
	f.Add("team-a", "a: b\n- c", "-rf", 1, 1)
	f.Add("x", "1.5g", "1001:1001", 3, 2)
	f.Add("${ANTHROPIC_API_KEY}", "$", "'\"\\", 2, 2)
	f.Add("$A\xff", "0", "1000:1000", 2, 0) // not UTF-8: refused by Validate, never half-carried
	f.Fuzz(func(t *testing.T, a, b, c string, agents, isolation int) {
		fl := fleet.New("magents", "/home/dev/project/"+fleet.DefaultFile)
		fl.Agents = 1 + abs(agents)%3
		fl.Isolation = fleet.Isolations[abs(isolation)%len(fleet.Isolations)]
		if fl.Isolation == "worktree" {
			fl.GitDir = "/home/dev/project/.git"
		}
		setEveryString(fl, []string{a, b, c})
		if err := fl.Validate(); err != nil {
			t.Fatalf("the fleet does not validate: %v", err)
		}
		b1, err := Render(context.Background(), fl)
		if err != nil {
			t.Fatalf("a fleet that validates does not render: %v\n%+v", err, fl)
		}
		dir := t.TempDir()
		file := filepath.Join(dir, fleet.DefaultFile)
		for round := 1; round <= 2; round++ {
			if err := os.WriteFile(file, b1, 0o644); err != nil {
				t.Fatal(err)
			}
			back, err := ReadFleet(file)
			if err != nil {
				t.Fatalf("round %d: the file does not read back: %v", round, err)
			}
			want := *fl
			want.ComposeFile = back.ComposeFile
			if !reflect.DeepEqual(want.Saved(), back) {
				t.Fatalf("round %d: x-magents reads back as\n%+v\nnot\n%+v", round, back, want.Saved())
			}
			back.ComposeFile = fl.ComposeFile
			if b1, err = Render(context.Background(), back); err != nil {
				t.Fatalf("round %d: the fleet read back does not render: %v", round, err)
			}
		}
	})
}

// setEveryString gives each string (and []string) field of the fleet, its nested structs
// too, the next of values in turn, and keeps it where the fleet still validates.
func setEveryString(fl *fleet.Fleet, values []string) {
	i := 0
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for n := 0; n < v.NumField(); n++ {
			field, sf := v.Field(n), v.Type().Field(n)
			if !sf.IsExported() || sf.Tag.Get("yaml") == "-" && sf.Name != "Project" {
				continue
			}
			old := reflect.ValueOf(field.Interface())
			switch {
			case field.Kind() == reflect.Struct:
				walk(field)
				continue
			case field.Kind() == reflect.String:
				field.SetString(values[i%len(values)])
			case field.Kind() == reflect.Slice && field.Type().Elem().Kind() == reflect.String:
				if values[i%len(values)] == "" {
					continue
				}
				field.Set(reflect.ValueOf([]string{values[i%len(values)]}))
			default:
				continue
			}
			i++
			if fl.Validate() != nil {
				field.Set(old)
			}
		}
	}
	walk(reflect.ValueOf(fl).Elem())
}

func abs(n int) int {
	if n < 0 {
		return -(n + 1)
	}
	return n
}
