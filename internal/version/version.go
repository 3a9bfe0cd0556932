// Package version holds the build's version, set by the Makefile with -ldflags -X.
package version

var (
	// Version is the release (git describe) the binary was built from.
	Version = "v0.0.0-dev"
	// Revision is the git commit.
	Revision = "unknown"
)
