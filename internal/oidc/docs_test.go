package oidc_test

import (
	"encoding/json"
	"net/http"
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

// TestTheOpenAPIDocumentListsEveryEndpoint: every endpoint the discovery
// document names is an operation of /api/openapi.json, with the OAuth
// security it asks for (internal/api's TestOpenAPI probes that each
// documented one is served).
func TestTheOpenAPIDocumentListsEveryEndpoint(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		resp, b := a.Request("GET", "/api/openapi.json", http.Header{}, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/openapi.json: %d", resp.StatusCode)
		}
		var doc struct {
			Paths map[string]map[string]struct {
				Security []map[string][]string `json:"security"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		r := newRP(t, a, apps.TypeTraditional)
		var d map[string]any
		if err := r.provider.Claims(&d); err != nil {
			t.Fatal(err)
		}
		endpoints := 0
		for key, v := range d {
			s, ok := v.(string)
			if !ok || !(strings.HasSuffix(key, "_endpoint") || key == "jwks_uri") {
				continue
			}
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			endpoints++
			ops, ok := doc.Paths[u.Path]
			if !ok {
				t.Errorf("%s (%s) is not in the OpenAPI document", u.Path, key)
				continue
			}
			for method, op := range ops {
				var schemes []string
				for _, alt := range op.Security {
					for name := range alt {
						schemes = append(schemes, name)
					}
				}
				want := map[string]string{"token_endpoint": "clientAuth", "introspection_endpoint": "clientAuth",
					"revocation_endpoint": "clientAuth", "userinfo_endpoint": "accessToken"}[key]
				if got := strings.Join(schemes, ","); got != want {
					t.Errorf("%s %s: security %q, want %q", method, u.Path, got, want)
				}
			}
		}
		if endpoints < 6 {
			t.Fatalf("discovery names %d endpoints: %v", endpoints, d)
		}
	})
}
