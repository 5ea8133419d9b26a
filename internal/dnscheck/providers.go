package dnscheck

import (
	"fmt"
	"strings"

	"github.com/authmail/authmail/connector"
)

// DomainPlaceholder stands for the sending domain in record names and
// values.
const DomainPlaceholder = connector.DomainPlaceholder

// ProviderHints is what the provider behind a connector needs in DNS for
// authenticated mail: the hints its factory declares (Factory.DNS), with
// the factory's ID and name.
type ProviderHints struct {
	// ID is the connector's factory ID, such as "sendgrid".
	ID string `json:"id"`
	// Name is the provider's display name.
	Name string `json:"name"`
	connector.DNSHints
}

// ProviderID resolves a connector ID or alias (such as Logto's factory
// IDs), in any case, to the factory ID. An ID no factory has is returned
// lower-cased.
func ProviderID(id string) string {
	id = strings.ToLower(strings.TrimSpace(id))
	if f, ok := connector.Lookup(id); ok {
		return f.ID
	}
	return id
}

// KnownProvider reports whether id (or an alias) names a registered
// connector factory.
func KnownProvider(id string) bool {
	_, ok := connector.Lookup(ProviderID(id))
	return ok
}

// Providers returns the IDs of every registered connector factory.
func Providers() []string {
	var ids []string
	for _, f := range connector.Factories() {
		ids = append(ids, f.ID)
	}
	return ids
}

// Hints returns the DNS needs of the provider behind connector ID (or
// alias) id, from its factory; false when the factory declares none.
func Hints(id string) (ProviderHints, bool) {
	f, ok := connector.Lookup(ProviderID(id))
	if !ok || f.DNS == nil {
		return ProviderHints{}, false
	}
	h := ProviderHints{ID: f.ID, Name: f.Name, DNSHints: *f.DNS}
	h.DKIMSelectors = append([]string(nil), h.DKIMSelectors...)
	h.Records = append([]connector.DNSRecord(nil), h.Records...)
	return h, true
}

// HintProviders returns the IDs of the connector factories that declare
// DNS hints.
func HintProviders() []string {
	var ids []string
	for _, f := range connector.Factories() {
		if f.DNS != nil {
			ids = append(ids, f.ID)
		}
	}
	return ids
}

// HintsMarkdown renders the provider's DNS needs as a Markdown section for
// a connector README, or "" for a provider without hints.
func HintsMarkdown(id string) string {
	h, ok := Hints(id)
	if !ok {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## DNS records for %s\n\n", h.Name)
	source := h.Name + "'s dashboard"
	if h.ValuesFrom != "" {
		source = h.ValuesFrom
	}
	fmt.Fprintf(&b, "Replace `%s` with your sending domain (for example `auth.example.com`) and `<...>` with the values %s gives.\n\n", DomainPlaceholder, source)
	b.WriteString("| Purpose | Type | Name | Value | Note |\n|---|---|---|---|---|\n")
	for _, r := range h.Records {
		fmt.Fprintf(&b, "| %s | %s | `%s` | `%s` | %s |\n", r.Purpose, r.Type, r.Name, r.Value, mdCell(r.Note))
	}
	fmt.Fprintf(&b, "\n**SPF.** %s\n\n", h.SPFNote)
	fmt.Fprintf(&b, "**Return-Path.** %s\n\n", h.ReturnPath)
	b.WriteString("**DMARC.** Publish `_dmarc." + DomainPlaceholder + "` TXT `v=DMARC1; p=quarantine; rua=mailto:<reports address>` once SPF and DKIM pass.\n\n")
	fmt.Fprintf(&b, "Check the result with `authmail dns check %s --provider %s`.\n", DomainPlaceholder, h.ID)
	return b.String()
}

func mdCell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
