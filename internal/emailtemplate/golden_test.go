package emailtemplate

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenBranding is the branding of the "full" golden files.
var goldenBranding = Branding{
	SenderName:         "Acme",
	CompanyInformation: "Acme Corporation\n1 Main Street, Springfield",
	LogoURL:            "https://cdn.example.com/acme/logo.png",
	PrimaryColor:       "#0f766e",
}

// goldenCase is one built-in default rendered one way.
type goldenCase struct {
	name     string // file name under testdata/golden/<lang>/
	payload  map[string]any
	branding Branding
}

func goldenCases(usage connector.UsageType, lang string) []goldenCase {
	full := SamplePayload(usage)
	full["locale"], full["uiLocales"] = lang, lang
	// bare has only what Logto's management API sends: the code, or else
	// the link.
	bare := map[string]any{}
	for _, key := range []string{"code", "link"} {
		if v, ok := full[key]; ok {
			bare[key] = v
			break
		}
	}
	return []goldenCase{
		{name: string(usage) + ".txt", payload: full, branding: goldenBranding},
		{name: string(usage) + ".bare.txt", payload: bare},
	}
}

// TestBuiltinGolden renders every built-in default (usage type x language)
// and compares subject, sender, HTML and text with testdata/golden. Run
// with -update to rewrite the files after a deliberate change.
func TestBuiltinGolden(t *testing.T) {
	ctx := context.Background()
	seen := map[string]bool{}
	for _, lang := range Languages() {
		for _, usage := range connector.UsageTypes() {
			for _, c := range goldenCases(usage, lang) {
				path := filepath.Join("testdata", "golden", lang, c.name)
				seen[path] = true
				t.Run(lang+"/"+c.name, func(t *testing.T) {
					r, err := Render(ctx, nil, Request{Tenant: "default", Usage: usage, Locale: lang,
						FallbackLanguage: "en", Payload: c.payload, Branding: c.branding})
					if err != nil {
						t.Fatalf("Render: %v", err)
					}
					if r.Source != SourceBuiltin || r.Language != lang || r.Usage != usage {
						t.Fatalf("got source %q language %q usage %q, want builtin %q %q", r.Source, r.Language, r.Usage, lang, usage)
					}
					got := formatGolden(r)
					if *update {
						if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
							t.Fatal(err)
						}
						return
					}
					want, err := os.ReadFile(path)
					if err != nil {
						t.Fatalf("reading golden file (run go test -update to create it): %v", err)
					}
					if got != string(want) {
						t.Errorf("%s differs from the rendering (run go test -update after a deliberate change):\n%s", path, firstDiff(string(want), got))
					}
				})
			}
		}
	}
	// No stale golden files for templates that no longer exist.
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !seen[f] {
			if *update {
				os.Remove(f)
				continue
			}
			t.Errorf("stale golden file %s", f)
		}
	}
}

func formatGolden(r Rendered) string {
	var b strings.Builder
	section := func(name, body string) {
		b.WriteString("-- " + name + " --\n")
		b.WriteString(body)
		if !strings.HasSuffix(body, "\n") {
			b.WriteString("\n")
		}
	}
	section("subject", r.Subject)
	section("from", "name="+r.From.Name+" email="+r.From.Email)
	section("html", r.HTML)
	section("text", r.Text)
	return b.String()
}

// firstDiff shows the first line that differs.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n want: " + wl + "\n  got: " + gl
		}
	}
	return "(no line differs)"
}

// TestBuiltinDefaultsAreValidTemplates checks that every built-in default,
// shaped for the richest payload, passes the validation a stored template
// must pass, shows the code or link, and leaves no placeholder unresolved.
func TestBuiltinDefaultsAreValidTemplates(t *testing.T) {
	for _, lang := range Languages() {
		for _, usage := range connector.UsageTypes() {
			payload := SamplePayload(usage)
			d, err := BuiltinDetails(usage, lang, payload, goldenBranding)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, usage, err)
			}
			if err := ValidateDetails(usage, d); err != nil {
				t.Errorf("%s/%s: built-in default fails validation: %v", lang, usage, err)
			}
			r := RenderDetails(d, usage, payload, goldenBranding)
			want := "123456"
			if usage == connector.UsageOrganizationInvitation {
				want = `href="https://auth.example.com/invitations/accept?token=sample-token"`
			}
			if !strings.Contains(r.HTML, want) {
				t.Errorf("%s/%s: HTML does not contain %s", lang, usage, want)
			}
			for part, s := range map[string]string{"subject": r.Subject, "html": r.HTML, "text": r.Text} {
				if strings.Contains(s, "{{") {
					t.Errorf("%s/%s: %s has an unresolved placeholder", lang, usage, part)
				}
			}
			if !strings.Contains(r.HTML, `<html lang="`+lang+`"`) {
				t.Errorf("%s/%s: html element lacks lang=%q", lang, usage, lang)
			}
		}
	}
}

func TestLanguages(t *testing.T) {
	got := Languages()
	if strings.Join(got, ",") != "en,fr" {
		t.Fatalf("Languages() = %v, want [en fr]", got)
	}
	got[0] = "xx"
	if Languages()[0] != "en" {
		t.Fatal("Languages() returned its internal slice")
	}
}

func TestBuiltinDetailsUnknownLanguage(t *testing.T) {
	if _, err := BuiltinDetails(connector.UsageSignIn, "de", nil, Branding{}); err == nil {
		t.Fatal("BuiltinDetails in a language that is not built in: want an error")
	}
	if _, err := BuiltinDetails("Nope", "en", nil, Branding{}); err == nil {
		t.Fatal("BuiltinDetails of an unknown usage type: want an error")
	}
}

func TestOnColor(t *testing.T) {
	for bg, want := range map[string]string{"#2563eb": "#ffffff", "#000000": "#ffffff", "#ffff00": "#111827", "#ffffff": "#111827", "bad": "#ffffff"} {
		if got := onColor(bg); got != want {
			t.Errorf("onColor(%q) = %q, want %q", bg, got, want)
		}
	}
}
