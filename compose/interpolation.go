package compose

import (
	"bytes"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Compose and docker stack deploy interpolate every string value of the file they load:
// $VAR and ${VAR} become the value of VAR in the environment of whoever runs them, and a
// malformed ${ fails the load. Nothing docker magents writes is a template: a task that
// says "print $ANTHROPIC_API_KEY" must reach the agent as those words, not as the key.
// So every $ in every string value of a written file is doubled ($$ reads back as $),
// and ReadFleet halves them again in files of this format (fleet.FormatVersion).

// literalYAML returns the YAML document b with every $ of its string values doubled.
// Mapping keys are not interpolated, and are left as they are.
func literalYAML(b []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	mapStrings(&doc, func(s string) string { return strings.ReplaceAll(s, "$", "$$") })
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// unescapeNode reads back what literalYAML wrote: $$ is $ again.
func unescapeNode(n *yaml.Node) {
	mapStrings(n, func(s string) string { return strings.ReplaceAll(s, "$$", "$") })
}

// mapStrings applies fn to every string scalar of n that is a value (not a mapping key).
func mapStrings(n *yaml.Node, fn func(string) string) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			mapStrings(c, fn)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			mapStrings(n.Content[i], fn)
		}
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" {
			n.Value = fn(n.Value)
		}
	}
}
