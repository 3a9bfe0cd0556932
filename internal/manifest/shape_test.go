package manifest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

type quantity struct{ s string }

func (q *quantity) UnmarshalJSON(b []byte) error { q.s = string(b); return nil }

type objectMeta struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

type node struct {
	objectMeta `json:",inline"`
	Kind       string    `json:"kind"`
	Replicas   *int32    `json:"replicas,omitempty"`
	Ratio      float64   `json:"ratio,omitempty"`
	On         bool      `json:"on,omitempty"`
	Size       quantity  `json:"size"`
	Count      int64     `json:"count,string,omitempty"`
	Children   []*node   `json:"children,omitempty"`
	Data       []byte    `json:"data,omitempty"`
	When       time.Time `json:"when"`
	Skipped    string    `json:"-"`
	hidden     string
}

type sdkInput struct {
	TaskRoleArn *string
	Tags        []struct{ Key, Value *string }
}

func TestShapeCheck(t *testing.T) {
	s := ShapesOf(false, map[string]any{"Node": node{}})
	// The description survives its own JSON, as the plugin embeds it.
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Shapes
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for doc, want := range map[string]string{
		`{"name":"a","labels":{"x":"y"},"kind":"K","replicas":3,"ratio":0.5,"on":true,"size":"2Gi","count":"7",` +
			`"children":[{"name":"b","size":1,"children":[{"kind":"leaf"}]}],"data":"aGk=","when":"2026-01-01T00:00:00Z"}`: "",
		`{"name":null,"children":null}`:        "",
		`{"replicaz":3}`:                       "replicaz: unknown field",
		`{"Name":"a"}`:                         "Name: unknown field", // exact names without Fold
		`{"children":[{},{"size":1,"bad":1}]}`: "children[1].bad: unknown field",
		`{"replicas":1.5}`:                     "replicas: an integer, not 1.5",
		`{"replicas":"3"}`:                     `replicas: an integer, not "3"`,
		`{"labels":{"x":1}}`:                   "labels.x: a string, not 1",
		`{"on":"yes"}`:                         `on: true or false, not "yes"`,
		`{"children":{}}`:                      "children: a list, not a mapping",
		`{"Skipped":"x"}`:                      "Skipped: unknown field",
		`{"hidden":"x"}`:                       "hidden: unknown field",
		`[]`:                                   "the document: a mapping, not a list",
		`{"name":"a"} {"name":"b"}`:            "more than one JSON value",
		`{"kind":1,"ratio":"x","on":1,"data":2,"x":1,"y":2}`: "and 1 more",
	} {
		err := back.Check("Node", []byte(doc))
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: refused: %v", doc, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, want an error with %q", doc, err, want)
		}
	}
	if err := back.Check("Pod", []byte(`{}`)); err == nil {
		t.Error("a root with no shape was checked")
	}
}

// With Fold, names match as encoding/json matches them to untagged SDK fields.
func TestShapeCheckFolds(t *testing.T) {
	s := ShapesOf(true, map[string]any{"Input": sdkInput{}})
	if err := s.Check("Input", []byte(`{"taskRoleArn":"arn","tags":[{"key":"k","value":"v"}]}`)); err != nil {
		t.Errorf("lowerCamel names refused: %v", err)
	}
	if err := s.Check("Input", []byte(`{"taskRoleArm":"arn"}`)); err == nil || !strings.Contains(err.Error(), "taskRoleArm: unknown field") {
		t.Errorf("a misspelt name: %v", err)
	}
}
