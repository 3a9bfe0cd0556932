//go:build e2e

package e2e

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Every suite's first statement says which engines it needs (everyEngine or anyEngine,
// with why), so that a suite that needs no particular engine does not cost one pass per
// engine, and one that does is never left to a single engine by omission.
func TestEverySuiteSaysWhichEnginesItNeeds(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	suites := 0
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Name.Name == "TestMain" || fn.Name.Name == "TestEverySuiteSaysWhichEnginesItNeeds" {
				continue
			}
			suites++
			if marker := firstCall(fn); marker != "everyEngine" && marker != "anyEngine" {
				t.Errorf("%s: %s starts with %q: begin it with everyEngine(t, why) or anyEngine(t, why)", fset.Position(fn.Pos()), fn.Name.Name, marker)
			}
		}
	}
	if suites == 0 {
		t.Fatal("no suites found: the check read no test files")
	}
}

// firstCall is the name of the function the body's first statement calls, if it is a call.
func firstCall(fn *ast.FuncDecl) string {
	if fn.Body == nil || len(fn.Body.List) == 0 {
		return ""
	}
	expr, ok := fn.Body.List[0].(*ast.ExprStmt)
	if !ok {
		return ""
	}
	call, ok := expr.X.(*ast.CallExpr)
	if !ok {
		return ""
	}
	if id, ok := call.Fun.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
