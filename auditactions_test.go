package hookshot

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every audit action constant of the package is in AuditActions, which the
// audit filters check against: a new action left out of the list would
// make filtering by it a 400.
func TestAuditActionsListsEveryAction(t *testing.T) {
	notActions := map[string]bool{"AuditNewID": true, "AuditCount": true, "AuditActorSystem": true}
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					lit, ok := valueAt(vs, i).(*ast.BasicLit)
					if !strings.HasPrefix(name.Name, "Audit") || notActions[name.Name] || !ok || lit.Kind != token.STRING {
						continue
					}
					found++
					v, _ := strconv.Unquote(lit.Value)
					if !slices.Contains(AuditActions, v) {
						t.Errorf("%s (%q) is missing from AuditActions", name.Name, v)
					}
				}
			}
		}
	}
	if found != len(AuditActions) {
		t.Errorf("found %d audit action constants, AuditActions has %d", found, len(AuditActions))
	}
}

func valueAt(vs *ast.ValueSpec, i int) ast.Expr {
	if i < len(vs.Values) {
		return vs.Values[i]
	}
	return nil
}
