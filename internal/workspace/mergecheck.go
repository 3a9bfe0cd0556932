package workspace

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// What an agent's branch may not bring to the host by a merge is judged by its effect on
// the checked-out tree, not by names as text: a symlink is followed through the tree's
// other symlinks as the kernel would follow it, and a name is compared as the file systems
// developers check out onto compare it (macOS and Windows ignore case, macOS ignores some
// code points and normalises Unicode, Windows drops trailing dots and spaces and answers to
// 8.3 short names).

// linkTree is a tree as git would check it out, reduced to what resolving a path needs:
// each symlink's target, by path. A path that is no symlink is a file or a directory, or
// absent; resolution goes through it as through a directory (the kernel would stop at a
// file or an absent one, which leads nowhere either).
type linkTree map[string]string

// maxHops is how many symlinks one resolution follows before the kernel gives up (ELOOP).
const maxHops = 40

// resolve follows p (slash-separated, relative to the tree's root) through the tree's
// symlinks. It returns where p lands, relative to the root, and false when it leaves the
// tree: an absolute target (or a drive letter), or ".." above the root, at any step. A
// loop lands nowhere and is reported as staying inside.
func (t linkTree) resolve(p string) (string, bool) {
	var cur []string       // the directory reached so far
	rest := splitTarget(p) // what is left to walk
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return "", false
			}
			cur = cur[:len(cur)-1]
			continue
		}
		here := strings.Join(append(cur[:len(cur):len(cur)], c), "/")
		target, isLink := t[here]
		if !isLink {
			cur = append(cur, c)
			continue
		}
		if hops++; hops > maxHops {
			return "", true
		}
		if absoluteTarget(target) {
			return "", false
		}
		// Relative to the link's own directory, cur: its components come first.
		rest = append(splitTarget(target), rest...)
	}
	return strings.Join(cur, "/"), true
}

// splitTarget splits a symlink target into its components. A backslash separates them
// too: a Windows checkout reads it so.
func splitTarget(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '\\' })
}

// absoluteTarget: a target that names a place from a root rather than from the link.
func absoluteTarget(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, `\`) ||
		len(s) >= 2 && s[1] == ':' && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
}

// intoGit reports whether a path inside the tree lies in a directory named .git (however
// spelt): through it an agent's link would reach the repository's config and hooks.
func intoGit(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if foldName(c) == ".git" {
			return true
		}
	}
	return false
}

// escapes lists the symlinks of merged that lead out of the tree or into a .git directory
// and did not already in base (a link the developer's own branch has is theirs), each as
// "path -> target", in merged's order of paths.
func escapes(base, merged linkTree, paths []string) []string {
	bad := func(t linkTree, p string) bool {
		landed, inside := t.resolve(p)
		return !inside || intoGit(landed)
	}
	var out []string
	for _, p := range paths {
		target, ok := merged[p]
		if !ok || !bad(merged, p) {
			continue
		}
		if old, had := base[p]; had && old == target && bad(base, p) {
			continue
		}
		out = append(out, p+" -> "+target)
	}
	return out
}

// foldName is a path component as a case-insensitive, normalising file system compares
// it: without the code points HFS+ ignores, in NFC, case-folded, without the trailing dots
// and spaces Windows drops.
func foldName(c string) string {
	c = strings.Map(func(r rune) rune {
		if hfsIgnored(r) {
			return -1
		}
		return r
	}, c)
	c = strings.ToLower(norm.NFC.String(c))
	return strings.TrimRight(c, ". ")
}

// hfsIgnored: the code points HFS+ leaves out of a name when it compares (git's
// is_hfs_dotgit lists the same).
func hfsIgnored(r rune) bool {
	return r >= 0x200c && r <= 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x206a && r <= 0x206f || r == 0xfeff
}

// gitControlled lists the changed paths that name a file git itself reads from the tree
// to decide what to run or fetch — .gitattributes (filter, diff and merge drivers),
// .gitmodules (submodules' URLs and update commands), anything in a .git directory —
// however the name is spelt: .GitAttributes, .gitmodules., GITMOD~1 on NTFS.
func gitControlled(changed []string) []string {
	var out []string
	for _, p := range changed {
		parts := strings.Split(p, "/")
		name := foldName(parts[len(parts)-1])
		switch {
		case name == ".gitattributes" || name == ".gitmodules" || ntfsShortName(name, "gitatt") || ntfsShortName(name, "gitmod"):
			out = append(out, p)
		case intoGit(path.Dir(p)) || name == ".git" || ntfsShortName(name, "git"):
			out = append(out, p)
		}
	}
	return out
}

// ntfsShortName reports whether name is an 8.3 short name NTFS could answer to for a
// dot-file starting with prefix: PREFIX~N (".gitattributes" is GITATT~1).
func ntfsShortName(name, prefix string) bool {
	rest, ok := strings.CutPrefix(name, prefix+"~")
	return ok && rest != "" && strings.IndexFunc(rest, func(r rune) bool { return !unicode.IsDigit(r) }) < 0
}

// trustedChanges lists the changed paths that are files the fleet or the developer's own
// tools read as instructions (TrustedFiles), each with what it is.
func trustedChanges(changed []string) []string {
	var out []string
	for _, p := range changed {
		if f, ok := Trusted(p); ok {
			out = append(out, p+" ("+f.What+")")
		}
	}
	return out
}

// treeChange is one entry of git diff --raw between the merge base and a branch.
type treeChange struct {
	path, mode, sha string // the new mode and blob; mode "000000" for a deletion
}

// branchChanges lists what agent's branch changed since it left the current branch.
func (r *Repo) branchChanges(agent string) ([]treeChange, error) {
	out, err := r.git(r.Root, "diff", "--raw", "--no-renames", "--no-ext-diff", "--no-abbrev", "-z", "HEAD..."+Branch(agent))
	if err != nil {
		return nil, err
	}
	// -z --raw: ":oldmode newmode oldsha newsha status\x00path\x00" per entry.
	fields := strings.Split(out, "\x00")
	var changes []treeChange
	for i := 0; i+1 < len(fields); i += 2 {
		meta := strings.Fields(strings.TrimPrefix(fields[i], ":"))
		if len(meta) < 5 {
			continue
		}
		changes = append(changes, treeChange{path: fields[i+1], mode: meta[1], sha: meta[3]})
	}
	return changes, nil
}

// headLinks is every symlink of the checked-out commit, with its target.
func (r *Repo) headLinks() (linkTree, []string, error) {
	out, err := r.git(r.Root, "ls-tree", "-r", "-z", "--full-tree", "HEAD")
	if err != nil {
		return nil, nil, err
	}
	var paths, shas []string
	// "<mode> SP <type> SP <object> TAB <path>\x00" per entry.
	for _, e := range strings.Split(out, "\x00") {
		meta, p, ok := strings.Cut(e, "\t")
		if f := strings.Fields(meta); ok && len(f) == 3 && f[0] == "120000" {
			paths = append(paths, p)
			shas = append(shas, f[2])
		}
	}
	targets, err := r.blobs(shas)
	if err != nil {
		return nil, nil, err
	}
	t := linkTree{}
	for i, p := range paths {
		t[p] = targets[i]
	}
	return t, paths, nil
}

// blobs reads the blobs named by shas (symlink targets: small) with one git cat-file.
func (r *Repo) blobs(shas []string) ([]string, error) {
	if len(shas) == 0 {
		return nil, nil
	}
	cmd := r.command(r.Root, "cat-file", "--batch")
	cmd.Stdin = strings.NewReader(strings.Join(shas, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	br := bufio.NewReader(bytes.NewReader(out))
	targets := make([]string, 0, len(shas))
	for range shas {
		header, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("git cat-file: %w", err)
		}
		var sha, typ string
		var size int64
		if _, err := fmt.Sscanf(header, "%s %s %d", &sha, &typ, &size); err != nil || size > 1<<20 {
			return nil, fmt.Errorf("git cat-file: unexpected answer %q", strings.TrimSpace(header))
		}
		b := make([]byte, size+1) // the blob and its newline
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, fmt.Errorf("git cat-file: %w", err)
		}
		targets = append(targets, string(b[:size]))
	}
	return targets, nil
}

// mergeRefusals says what merging agent's branch would bring that the host must not take
// without the developer's word, each reason a phrase for "BRANCH …": symlinks that would
// lead out of the tree or into .git (never), files git reads to run or fetch something
// (merged by hand only), and files the fleet or the developer's tools trust — unless
// allowed names each of those.
func (r *Repo) mergeRefusals(agent string, allowed []string) ([]string, error) {
	changes, err := r.branchChanges(agent)
	if err != nil {
		return nil, err
	}
	base, basePaths, err := r.headLinks()
	if err != nil {
		return nil, err
	}
	// The merged tree's links: the current branch's with the agent's changes on top — what
	// a merge without conflicts checks out (a conflict aborts it).
	merged := linkTree{}
	for p, t := range base {
		merged[p] = t
	}
	var changed, newLinks, newShas []string
	for _, c := range changes {
		changed = append(changed, c.path)
		delete(merged, c.path)
		if c.mode == "120000" {
			newLinks = append(newLinks, c.path)
			newShas = append(newShas, c.sha)
		}
	}
	targets, err := r.blobs(newShas)
	if err != nil {
		return nil, err
	}
	for i, p := range newLinks {
		merged[p] = targets[i]
	}
	paths := append(basePaths[:len(basePaths):len(basePaths)], newLinks...)
	var refused []string
	if links := escapes(base, merged, dedupe(paths)); len(links) > 0 {
		refused = append(refused, "adds symlinks that lead out of the repository or into .git ("+strings.Join(links, ", ")+"; merge by hand if you mean it)")
	}
	if names := gitControlled(changed); len(names) > 0 {
		refused = append(refused, "changes "+strings.Join(names, ", ")+", which could make git run a filter or merge driver, or fetch a submodule, on the host (merge by hand if you mean it)")
	}
	var trusted []string
	for _, c := range trustedChanges(changed) {
		if !allowedChange(c, allowed) {
			trusted = append(trusted, c)
		}
	}
	if len(trusted) > 0 {
		refused = append(refused, "changes files read as instructions on the host: "+strings.Join(trusted, ", ")+
			" (pass --allow-change PATH for each you have read and accept)")
	}
	return refused, nil
}

// allowedChange: the trusted change c ("PATH (what)") is one the developer named, by its
// path or by a directory above it.
func allowedChange(c string, allowed []string) bool {
	p, _, _ := strings.Cut(c, " (")
	for _, a := range allowed {
		a = path.Clean(strings.TrimPrefix(a, "./"))
		if a == p || strings.HasPrefix(p, a+"/") {
			return true
		}
	}
	return false
}

func dedupe(paths []string) []string {
	seen := make(map[string]bool, len(paths))
	out := paths[:0:0]
	for _, p := range paths {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
