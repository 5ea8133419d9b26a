package oidc_test

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
)

// TestTheDesignListsTheProvidersEndpoints: the list of routes in
// docs/DESIGN.md's OpenID Connect section is the discovery document's
// endpoints, one bullet each.
func TestTheDesignListsTheProvidersEndpoints(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "DESIGN.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### OpenID Connect provider\n")
	if !ok {
		t.Fatal("docs/DESIGN.md has no OpenID Connect provider section")
	}
	section, _, _ = strings.Cut(section, "\n### ")
	var listed []string
	for _, m := range regexp.MustCompile("(?m)^- `(/oidc[^`]*)`").FindAllStringSubmatch(section, -1) {
		listed = append(listed, m[1])
	}
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		r := newRP(t, a, apps.TypeTraditional)
		var d map[string]any
		if err := r.provider.Claims(&d); err != nil {
			t.Fatal(err)
		}
		served := []string{"/oidc/.well-known/openid-configuration"}
		for key, v := range d {
			if s, ok := v.(string); ok && (strings.HasSuffix(key, "_endpoint") || key == "jwks_uri") {
				u, err := url.Parse(s)
				if err != nil {
					t.Fatal(err)
				}
				served = append(served, u.Path)
			}
		}
		slices.Sort(served)
		slices.Sort(listed)
		if !slices.Equal(served, listed) {
			t.Errorf("the design lists %v, discovery has %v", listed, served)
		}
	})
}
