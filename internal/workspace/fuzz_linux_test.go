package workspace

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The merge's judgement of symlinks against the kernel's: random trees of links, made on
// disk inside a root with directories around it, each link opened by the kernel; merge
// refuses exactly the links the kernel resolves outside the root (or into its .git).
func FuzzLinksResolveAsTheKernelDoes(f *testing.F) {
	// l2 -> . and l1 -> l2/l2/l2/../../../etc (the chain that climbs out).
	f.Add([]byte{1, 0, 10, 0, 5, 5, 5, 1, 1, 1, 8, 10})
	// d/l1 -> .. and l2 -> d/l1/.git (into .git through a link).
	f.Add([]byte{3, 1, 10, 1, 3, 4, 7, 10})
	// l1 -> /etc, d/l2 -> ../l1/.. , l3 -> l3.
	f.Add([]byte{0, 9, 8, 10, 4, 1, 4, 1, 10, 2, 6, 10})
	f.Fuzz(func(t *testing.T, spec []byte) {
		tree := parseLinkSpec(spec)
		if len(tree) == 0 {
			return
		}
		// outside/o1/o2/root: every name a target may use exists as a directory at each
		// level, so most resolutions end somewhere the kernel can open.
		outside := t.TempDir()
		root := filepath.Join(outside, "o1", "o2", "root")
		for _, dir := range []string{outside, filepath.Join(outside, "o1"), filepath.Join(outside, "o1", "o2"), root, filepath.Join(root, "d")} {
			for _, name := range []string{"d", "etc", ".git"} {
				if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
		var paths []string
		for p, target := range tree {
			if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
				return // a name the tree cannot hold twice: not a tree git could check out
			}
			paths = append(paths, p)
		}
		refused := map[string]bool{}
		for _, e := range escapes(linkTree{}, tree, paths) {
			link, _, _ := strings.Cut(e, " -> ")
			refused[link] = true
		}
		for _, p := range paths {
			fd, err := unix.Open(filepath.Join(root, p), unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				continue // a loop, or an end that is not there: leads nowhere
			}
			landed, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
			unix.Close(fd)
			if err != nil {
				t.Fatal(err)
			}
			rel, err := filepath.Rel(root, landed)
			if err != nil {
				t.Fatal(err)
			}
			out := rel == ".." || strings.HasPrefix(rel, "../") || intoGit(filepath.ToSlash(rel))
			if out != refused[p] {
				t.Errorf("%s -> %s: the kernel lands at %s (%s from the root); merge refuses it: %v", p, tree[p], landed, rel, refused[p])
			}
		}
	})
}

// parseLinkSpec reads a tree of links from any bytes: for each link a byte picks its path
// (a few names in the root and in d/), and the bytes after it its target's components,
// until a byte that ends the link; a first component of "/" makes the target absolute.
func parseLinkSpec(spec []byte) linkTree {
	paths := []string{"l1", "l2", "l3", "d/l1", "d/l2", "d/l3"}
	components := []string{".", "..", "..", "d", "l1", "l2", "l3", ".git", "etc", "/"}
	tree := linkTree{}
	for len(spec) > 0 && len(tree) < 8 {
		p := paths[int(spec[0])%len(paths)]
		spec = spec[1:]
		var target []string
		for len(spec) > 0 && len(target) < 12 {
			b := spec[0]
			spec = spec[1:]
			if int(b)%(len(components)+1) == len(components) {
				break
			}
			target = append(target, components[int(b)%(len(components)+1)])
		}
		if len(target) == 0 {
			continue
		}
		t := strings.Join(target, "/")
		if target[0] == "/" {
			t = "/" + strings.Join(target[1:], "/")
		}
		tree[p] = strings.ReplaceAll(t, "//", "/")
	}
	return tree
}
