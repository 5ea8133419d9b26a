package pages_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/store/storetest"
)

// TestDesignListsEveryPageRoute: the page routes listed in docs/DESIGN.md
// ("Hosted sign-in pages" in section 8) are the pages' route table.
func TestDesignListsEveryPageRoute(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "DESIGN.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### Hosted sign-in pages\n")
	if !ok {
		t.Fatal("docs/DESIGN.md has no section Hosted sign-in pages")
	}
	if i := regexp.MustCompile(`\n##+ `).FindStringIndex(section); i != nil {
		section = section[:i[0]]
	}
	cell := regexp.MustCompile("`((?:[A-Z]+/)*[A-Z]+) (/[^` ?]*)`")
	// A bullet runs on over the indented lines that follow it.
	var bullets []string
	for _, line := range strings.Split(section, "\n") {
		switch {
		case strings.HasPrefix(line, "- "):
			bullets = append(bullets, line)
		case strings.HasPrefix(line, "  ") && len(bullets) > 0:
			bullets[len(bullets)-1] += " " + strings.TrimSpace(line)
		}
	}
	var documented []string
	for _, b := range bullets {
		for _, m := range cell.FindAllStringSubmatch(b, -1) {
			for _, method := range strings.Split(m[1], "/") {
				documented = append(documented, method+" "+m[2])
			}
		}
	}
	a := apptest.New(t, storetest.SQLiteURL(t))
	served := a.App.Pages.Routes()
	slices.Sort(documented)
	slices.Sort(served)
	documented = slices.Compact(documented)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is served but not listed in docs/DESIGN.md (Hosted sign-in pages)", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("%s is listed in docs/DESIGN.md (Hosted sign-in pages) but not served", r)
		}
	}
}
