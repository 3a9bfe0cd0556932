package workspace

import "strings"

// TrustedFile is a file of the project's repository that is read as instructions on the
// host — by docker magents itself, or by the developer's own tools when they open the
// tree — so that an agent's change to it runs as the developer. A merge takes such a
// change only when the developer names it (merge --allow-change PATH).
type TrustedFile struct {
	Path string // from the repository's root; ending in "/": everything under it
	What string // what reads it, and what it makes happen
}

// TrustedFiles are the files an agent's branch may not change unnoticed. Whatever up
// comes to read from the repository belongs here too.
var TrustedFiles = []TrustedFile{
	{IncludeFile, "up copies the untracked files it names into every agent"},
	{".claude/settings.json", "Claude Code's project settings: hooks and helpers it runs"},
	{".claude/settings.local.json", "Claude Code's local settings: hooks and helpers it runs"},
	{".mcp.json", "MCP servers Claude Code starts in this project"},
	{".envrc", "direnv runs it when a shell enters the tree"},
	{".vscode/tasks.json", "tasks VS Code runs, some when the folder opens"},
	{".vscode/settings.json", "VS Code settings, some naming programs it runs"},
	{".devcontainer/", "the development container editors build and run"},
	{".devcontainer.json", "the development container editors build and run"},
}

// Trusted reports whether the repository path p is a trusted file, compared as the file
// systems developers check out onto compare names (see foldName).
func Trusted(p string) (TrustedFile, bool) {
	folded := foldPath(p)
	for _, f := range TrustedFiles {
		want := foldPath(strings.TrimSuffix(f.Path, "/"))
		if folded == want || strings.HasSuffix(f.Path, "/") && strings.HasPrefix(folded, want+"/") {
			return f, true
		}
	}
	return TrustedFile{}, false
}

// foldPath folds each component of a slash-separated path (foldName).
func foldPath(p string) string {
	parts := strings.Split(p, "/")
	for i, c := range parts {
		parts[i] = foldName(c)
	}
	return strings.Join(parts, "/")
}
