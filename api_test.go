package oktasso

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// maxExported bounds the root package's exported surface: the web sign-in
// product, small enough to read in one sitting (go-oidc's root has 86).
const maxExported = 150

// exportedNames lists the package's exported identifiers as `go doc -all`
// shows them: constants, variables, functions, types, their methods and
// the exported fields of exported struct types and methods of exported
// interfaces.
func exportedNames(t testing.TB) []string {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, "github.com/oktasso/oktasso")
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			names = append(names, v.Names...)
		}
	}
	values(p.Consts)
	values(p.Vars)
	for _, f := range p.Funcs {
		names = append(names, f.Name)
	}
	for _, typ := range p.Types {
		names = append(names, typ.Name)
		values(typ.Consts)
		values(typ.Vars)
		for _, f := range typ.Funcs {
			names = append(names, f.Name)
		}
		for _, m := range typ.Methods {
			names = append(names, typ.Name+"."+m.Name)
		}
		for _, spec := range typ.Decl.Specs {
			ts := spec.(*ast.TypeSpec)
			var fields *ast.FieldList
			switch x := ts.Type.(type) {
			case *ast.StructType:
				fields = x.Fields
			case *ast.InterfaceType:
				fields = x.Methods
			}
			if fields == nil {
				continue
			}
			for _, f := range fields.List {
				for _, n := range f.Names {
					if n.IsExported() {
						names = append(names, typ.Name+"."+n.Name)
					}
				}
			}
		}
	}
	return names
}

// TestExportedSurface keeps the root package's API small: a new export
// must push an old one out (or into a sub-package).
func TestExportedSurface(t *testing.T) {
	names := exportedNames(t)
	if len(names) > maxExported {
		t.Errorf("the root package exports %d identifiers; want at most %d:\n%s", len(names), maxExported, strings.Join(names, "\n"))
	}
	if testing.Verbose() {
		t.Logf("%d exported identifiers", len(names))
	}
}
