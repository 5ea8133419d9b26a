package standard_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
	_ "github.com/authmail/authmail/connectors/standard"
)

// builtinPrefix is the import path every built-in connector lives under.
const builtinPrefix = "github.com/authmail/authmail/connectors/"

// TestPackagesAreNamedForTheirID holds every built-in connector to the
// naming rule of docs/DESIGN.md: the package (its folder and its name) is
// the factory ID without its hyphens, so aws-ses lives in connectors/awsses.
func TestPackagesAreNamedForTheirID(t *testing.T) {
	fs := connector.Factories()
	if len(fs) == 0 {
		t.Fatal("connectors/standard registers no connector")
	}
	for _, f := range fs {
		t.Run(f.ID, func(t *testing.T) {
			pkg := packageOf(f)
			if !strings.HasPrefix(pkg, builtinPrefix) {
				t.Fatalf("factory %s is built by %s, outside %s", f.ID, pkg, builtinPrefix)
			}
			dir := strings.ReplaceAll(f.ID, "-", "")
			if want := builtinPrefix + dir; pkg != want {
				t.Errorf("factory %s lives in %s, want %s", f.ID, pkg, want)
			}
			files, err := filepath.Glob(filepath.Join("..", filepath.Base(pkg), "*.go"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no Go files for %s: %v", pkg, err)
			}
			for _, file := range files {
				ast, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.PackageClauseOnly)
				if err != nil {
					t.Fatal(err)
				}
				if name := strings.TrimSuffix(ast.Name.Name, "_test"); name != dir {
					t.Errorf("%s is in package %s, want %s", file, ast.Name.Name, dir)
				}
			}
		})
	}
}

// packageOf is the import path of the package that defines f's config.
func packageOf(f connector.Factory) string {
	return reflect.TypeOf(f.NewConfig()).Elem().PkgPath()
}
