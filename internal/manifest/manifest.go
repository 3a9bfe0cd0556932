// Package manifest reads YAML documents into API types the way Kubernetes tooling does:
// the YAML becomes JSON, which encoding/json decodes with the types' json tags — strictly,
// refusing unknown fields, when asked (a duplicate key the YAML decoder refuses always). It uses the module's one YAML
// library (go.yaml.in/yaml/v4, compose-go's own); anything may import it.
package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v4"
)

// Unmarshal decodes the YAML document b into v through its JSON form.
func Unmarshal(b []byte, v any) error {
	j, err := ToJSON(b)
	if err != nil {
		return err
	}
	return json.Unmarshal(j, v)
}

// UnmarshalStrict is Unmarshal refusing fields v's type does not have.
func UnmarshalStrict(b []byte, v any) error {
	j, err := ToJSON(b)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value")
	}
	return nil
}

// ToJSON is the YAML document b as JSON. Mapping keys that are not strings (a YAML int or
// bool key) are written as their text, as JSON requires.
func ToJSON(b []byte) ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	return json.Marshal(jsonValue(doc))
}

func jsonValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonValue(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonValue(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = jsonValue(e)
		}
		return v
	}
	return v
}
