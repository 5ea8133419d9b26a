package app_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/authmail/authmail/"

// designLayers reads the layer list of docs/DESIGN.md section 2: each
// numbered item is a layer, top first, naming its packages in backquotes
// ("connectors/*" covers every built-in connector). Test support packages,
// named in the paragraph after the list, may import anything.
func designLayers(t *testing.T) (layers map[string]int, wildcards map[string]int, support map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "DESIGN.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, text, ok := strings.Cut(string(b), "Imports run one way, down these layers")
	if !ok {
		t.Fatal("docs/DESIGN.md has no layer list (Imports run one way, down these layers)")
	}
	text, _, _ = strings.Cut(text, "\n## ")
	item := regexp.MustCompile(`^(\d+)\. `)
	name := regexp.MustCompile("`([a-z][a-z0-9/*]*)`")
	layers, wildcards, support = map[string]int{}, map[string]int{}, map[string]bool{}
	layer := 0
	inList := false
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case item.MatchString(line):
			layer++
			inList = true
		case inList && strings.TrimSpace(line) == "":
			inList = false
		case !inList && strings.HasPrefix(line, "Test support may import any layer"):
			for _, m := range name.FindAllStringSubmatch(line+" "+nextLine(sc), -1) {
				support[m[1]] = true
			}
			continue
		case !inList || !strings.HasPrefix(line, "   "):
			continue
		}
		for _, m := range name.FindAllStringSubmatch(line, -1) {
			if p, ok := strings.CutSuffix(m[1], "/*"); ok {
				wildcards[p+"/"] = layer
			} else {
				layers[m[1]] = layer
			}
		}
	}
	if layer < 4 || len(support) == 0 {
		t.Fatalf("read %d layers and %d test support packages from docs/DESIGN.md; the list's shape changed", layer, len(support))
	}
	return layers, wildcards, support
}

func nextLine(sc *bufio.Scanner) string {
	if sc.Scan() {
		return sc.Text()
	}
	return ""
}

// TestImportsRunDownTheLayers: every package of the module is placed in
// a layer of docs/DESIGN.md (or is test support), and none imports a
// package of a higher layer.
func TestImportsRunDownTheLayers(t *testing.T) {
	layers, wildcards, support := designLayers(t)
	layerOf := func(pkg string) (int, bool) {
		if l, ok := layers[pkg]; ok {
			return l, true
		}
		for prefix, l := range wildcards {
			if strings.HasPrefix(pkg, prefix) {
				return l, true
			}
		}
		return 0, false
	}
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		fields := strings.Fields(string(line))
		pkg := strings.TrimPrefix(fields[0], module)
		if support[pkg] {
			continue
		}
		from, ok := layerOf(pkg)
		if !ok {
			t.Errorf("%s is in no layer of docs/DESIGN.md section 2: place it (or name it as test support)", pkg)
			continue
		}
		checked++
		for _, imp := range fields[1:] {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours || support[dep] {
				continue
			}
			if to, ok := layerOf(dep); ok && to < from {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports run down the layers", pkg, from, dep, to)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d packages", checked)
	}
}
