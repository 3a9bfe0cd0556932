// Package cmdref writes a command reference from a cobra command tree: one Markdown page
// per command — its usage, description, options with their types and defaults, examples
// and subcommands — as docker's, compose's and buildx's references are generated from
// their commands. The pages are the commands' own words; a test keeps them current.
package cmdref

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Pages renders the reference of root and every visible command below it, by file name
// (the command path with "_" between words: magents_queue_add.md). prefix is what the
// user types before root's name ("docker").
func Pages(root *cobra.Command, prefix string) map[string][]byte {
	pages := map[string][]byte{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		pages[FileName(c)] = page(c, prefix)
		for _, sub := range visible(c) {
			walk(sub)
		}
	}
	walk(root)
	return pages
}

// Write writes Pages into dir, removing the pages of commands that are gone.
func Write(root *cobra.Command, prefix, dir string) error {
	pages := Pages(root, prefix)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	for _, p := range old {
		if _, keep := pages[filepath.Base(p)]; !keep {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for name, b := range pages {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// FileName is a command's page: its path without the prefix, words joined by "_".
func FileName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "_") + ".md"
}

func visible(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() && sub.Name() != "help" {
			out = append(out, sub)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

func page(c *cobra.Command, prefix string) []byte {
	var b bytes.Buffer
	path := strings.TrimSpace(prefix + " " + c.CommandPath())
	fmt.Fprintf(&b, "# %s\n\n", path)
	fmt.Fprintf(&b, "<!-- Generated from the command by `make docs`; edit the command, not this page. -->\n\n")
	if c.Short != "" {
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(c.Short))
	}
	// Docker's [OPTIONS] where a command has options; never cobra's own [flags].
	use := strings.TrimSuffix(c.UseLine(), " [flags]")
	fmt.Fprintf(&b, "## Usage\n\n```text\n%s\n```\n\n", strings.TrimSpace(prefix+" "+use))
	if len(c.Aliases) > 0 {
		fmt.Fprintf(&b, "Aliases: `%s`\n\n", strings.Join(c.Aliases, "`, `"))
	}
	if long := strings.TrimSpace(c.Long); long != "" && long != strings.TrimSpace(c.Short) {
		fmt.Fprintf(&b, "## Description\n\n%s\n\n", long)
	}
	if rows := options(c.NonInheritedFlags()); len(rows) > 0 {
		fmt.Fprintf(&b, "## Options\n\n| Option | Type | Default | Description |\n|:--|:--|:--|:--|\n%s\n", strings.Join(rows, "\n"))
		b.WriteString("\n")
	}
	if c.HasParent() {
		if root := c.Root(); root.HasAvailableFlags() {
			fmt.Fprintf(&b, "Options of [`%s`](%s) (`-f`, `-p`) go before the command's name.\n\n", strings.TrimSpace(prefix+" "+root.Name()), FileName(root))
		}
	}
	if ex := strings.TrimRight(c.Example, "\n "); ex != "" {
		fmt.Fprintf(&b, "## Examples\n\n```console\n%s\n```\n\n", strings.Trim(ex, "\n"))
	}
	if subs := visible(c); len(subs) > 0 {
		b.WriteString("## Commands\n\n| Command | Description |\n|:--|:--|\n")
		for _, sub := range subs {
			fmt.Fprintf(&b, "| [`%s`](%s) | %s |\n", strings.TrimSpace(prefix+" "+sub.CommandPath()), FileName(sub), cell(sub.Short))
		}
		b.WriteString("\n")
	}
	if c.HasParent() {
		p := c.Parent()
		fmt.Fprintf(&b, "Parent command: [`%s`](%s)\n", strings.TrimSpace(prefix+" "+p.CommandPath()), FileName(p))
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// options are the table rows of flags: long name (and shorthand), type, default, usage.
func options(flags *pflag.FlagSet) []string {
	var rows []string
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		name := "`--" + f.Name + "`"
		if f.Shorthand != "" {
			name = "`-" + f.Shorthand + "`, " + name
		}
		typ, usage := pflag.UnquoteUsage(f)
		if typ == "" {
			typ = f.Value.Type()
		}
		def := f.DefValue
		switch {
		case def == "" || def == "[]" || (f.Value.Type() == "bool" && def == "false"):
			def = ""
		default:
			def = "`" + def + "`"
		}
		if f.Deprecated != "" {
			usage += " (deprecated: " + f.Deprecated + ")"
		}
		rows = append(rows, fmt.Sprintf("| %s | `%s` | %s | %s |", name, typ, cell(def), cell(usage)))
	})
	return rows
}

// cell is s as one table cell: one line, its pipes escaped.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}
