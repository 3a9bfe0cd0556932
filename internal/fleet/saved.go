package fleet

import (
	"fmt"

	"go.yaml.in/yaml/v4"
)

// A fleet is saved with the file it renders (compose's x-magents block): Saved is what
// is kept, in this version's format, and DecodeSaved reads it back, of any format this
// version reads. Where it is kept and how its values are escaped there is the
// renderer's.

// Saved is what the fleet keeps of itself: its settings, in this version's format.
func (f *Fleet) Saved() *Fleet {
	s := *f
	s.Version = FormatVersion
	return &s
}

// DecodeSaved reads a saved fleet from its block, named where for errors. unescape
// undoes the renderer's escaping of its string values, which files of this format have
// (FormatVersion); older ones were written as they are.
func DecodeSaved(block *yaml.Node, where string, unescape func(*yaml.Node)) (*Fleet, error) {
	var version struct {
		Version int `yaml:"version"`
	}
	if err := block.Decode(&version); err != nil {
		return nil, fmt.Errorf("%s is not docker magents' settings: %w", where, err)
	}
	switch {
	case version.Version > FormatVersion:
		return nil, fmt.Errorf("%s was written by a newer docker magents (format %d; this one reads up to %d): update docker magents", where, version.Version, FormatVersion)
	case version.Version == FormatVersion:
		unescape(block)
	}
	f := &Fleet{}
	if err := block.Decode(f); err != nil {
		return nil, fmt.Errorf("%s is not docker magents' settings: %w", where, err)
	}
	if f.Egress == "" {
		if f.Version != 0 {
			return nil, fmt.Errorf("%s says no egress: a file docker magents writes always does (was it edited?); add egress: allowlist (or open) to it", where)
		}
		f.Egress = EgressOpen // written before egress control: open, as it was
	}
	f.Version = FormatVersion
	return f, nil
}
