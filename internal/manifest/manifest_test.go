package manifest

import (
	"strings"
	"testing"
)

type meta struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

type object struct {
	Kind     string `json:"kind"`
	Metadata meta   `json:"metadata"`
	Replicas int32  `json:"replicas"`
}

// YAML reaches the type through its json tags; strict decoding refuses what the type
// lacks, and a YAML int key becomes a JSON string key.
func TestUnmarshal(t *testing.T) {
	doc := []byte("kind: StatefulSet\nmetadata:\n  name: magents\n  labels:\n    1: one\nreplicas: 3\n")
	var o object
	if err := UnmarshalStrict(doc, &o); err != nil {
		t.Fatal(err)
	}
	if o.Kind != "StatefulSet" || o.Metadata.Name != "magents" || o.Replicas != 3 || o.Metadata.Labels["1"] != "one" {
		t.Errorf("decoded %+v", o)
	}
	bad := []byte("kind: x\nmetadata: {name: y}\nreplicaz: 3\n")
	if err := UnmarshalStrict(bad, &o); err == nil || !strings.Contains(err.Error(), "replicaz") {
		t.Errorf("an unknown field: %v", err)
	}
	if err := Unmarshal(bad, &o); err != nil {
		t.Errorf("an unknown field, not strict: %v", err)
	}
	if err := Unmarshal([]byte("kind: [unclosed"), &o); err == nil {
		t.Error("broken YAML decoded")
	}
}
