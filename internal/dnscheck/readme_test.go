package dnscheck_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/dnscheck"
)

var updateReadmes = flag.Bool("update-readmes", false, "rewrite the DNS records section of each connector README from the hints")

// The generated DNS records section sits between these markers.
const (
	readmeBegin = "<!-- dns-records: begin (generated from dns.go: go test ./internal/dnscheck -run README -update-readmes) -->\n"
	readmeEnd   = "<!-- dns-records: end -->\n"
)

// TestProviderREADMEsListHintRecords keeps each provider connector's README
// in step with the hints the checker uses: its DNS records section is
// HintsMarkdown, and it names the SPF include and every record.
func TestProviderREADMEsListHintRecords(t *testing.T) {
	ids := dnscheck.HintProviders()
	if len(ids) == 0 {
		t.Fatal("no provider has DNS hints; the check would cover nothing")
	}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			// A built-in connector's folder is its ID without hyphens
			// (docs/DESIGN.md, section 3).
			path := filepath.Join("..", "..", "connectors", strings.ReplaceAll(id, "-", ""), "README.md")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			readme := string(b)
			want := dnscheck.HintsMarkdown(id)
			if *updateReadmes {
				readme = replaceSection(t, readme, want)
				if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, ok := section(readme)
			if !ok {
				t.Fatalf("%s has no DNS records section between\n%s%s", path, readmeBegin, readmeEnd)
			}
			if got != want {
				t.Errorf("%s: the DNS records section differs from HintsMarkdown(%q); run go test ./internal/dnscheck -run README -update-readmes\n got:\n%s\nwant:\n%s", path, id, got, want)
			}
			h, _ := dnscheck.Hints(id)
			if h.SPFInclude != "" && !strings.Contains(readme, "include:"+h.SPFInclude) {
				t.Errorf("%s does not mention include:%s", path, h.SPFInclude)
			}
			for _, r := range h.Records {
				if !strings.Contains(readme, r.Name) || !strings.Contains(readme, r.Value) {
					t.Errorf("%s lacks the %s %s record %s -> %s", path, r.Purpose, r.Type, r.Name, r.Value)
				}
			}
			if !strings.Contains(readme, "authmail dns check") {
				t.Errorf("%s does not tell how to check the records", path)
			}
		})
	}
}

// section returns the text between the markers.
func section(readme string) (string, bool) {
	_, rest, ok := strings.Cut(readme, readmeBegin)
	if !ok {
		return "", false
	}
	body, _, ok := strings.Cut(rest, readmeEnd)
	return body, ok
}

// replaceSection puts body between the markers, which must exist.
func replaceSection(t *testing.T, readme, body string) string {
	t.Helper()
	before, rest, ok := strings.Cut(readme, readmeBegin)
	if !ok {
		t.Fatalf("no %q marker to update; add the two markers where the section belongs", readmeBegin)
	}
	_, after, ok := strings.Cut(rest, readmeEnd)
	if !ok {
		t.Fatalf("no %q marker to update", readmeEnd)
	}
	return before + readmeBegin + body + readmeEnd + after
}
