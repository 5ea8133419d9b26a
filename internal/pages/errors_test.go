package pages

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/experience"
)

// flowErrorCodes reads the error codes the flows can answer from their
// source: each newError(status, "code", ...) and each Error{Code: "code"}
// literal of the experience and verification packages.
func flowErrorCodes(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, dir := range []string{"../experience", "../verification"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no source in %s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "newError" && len(n.Args) >= 2 {
						if lit, ok := n.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							code, _ := strconv.Unquote(lit.Value)
							out[code] = fset.Position(n.Pos()).String()
						}
					}
				case *ast.KeyValueExpr:
					if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Code" {
						if lit, ok := n.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							code, _ := strconv.Unquote(lit.Value)
							out[code] = fset.Position(n.Pos()).String()
						}
					}
				}
				return true
			})
		}
	}
	return out
}

// TestEveryErrorOfTheFlowsHasItsOwnSentence: each error code the
// experience and verification packages can answer maps to a sentence,
// not to the generic one.
func TestEveryErrorOfTheFlowsHasItsOwnSentence(t *testing.T) {
	found := flowErrorCodes(t)
	if len(found) < 20 {
		t.Fatalf("found only %d error codes in the flows' source; the search no longer finds them", len(found))
	}
	for code, where := range found {
		if _, ok := errorTexts[code]; !ok {
			t.Errorf("error code %s (%s) has no sentence in errorTexts: the pages would show the generic one", code, where)
		}
	}
}

// TestAnErrorWithoutASentenceIsToldAsSuch: a code the pages do not know
// shows the generic sentence; an error with no code is the server's fault
// (the page shows a reference to the log line).
func TestAnErrorWithoutASentenceIsToldAsSuch(t *testing.T) {
	if got := errorMessage(&experience.Error{Code: "made.up", Status: 400}); got.key != genericError.key || got.fatal {
		t.Errorf("an unknown code maps to %+v, want the generic sentence on the form", got)
	}
	if got := errorMessage(errors.New("the disk is on fire")); got.key != "" || !got.fatal || got.status != 500 {
		t.Errorf("an error without a code maps to %+v, want a fault of the server", got)
	}
	if got := errorMessage(experience.ErrSessionNotFound); got.key != "error.session_not_found" || !got.fatal {
		t.Errorf("session.not_found maps to %+v", got)
	}
}
