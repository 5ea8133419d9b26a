package connectortest

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
)

// testDestinationFields checks Factory.DestinationFields against the
// schema: every declared field is a property of the schema, and every
// property the rule of destinationLike catches is declared.
func (s Suite) testDestinationFields(t *testing.T) {
	schema, err := parseSchema(s.Factory.ConfigSchema)
	if err != nil {
		t.Fatal(err)
	}
	paths := schema.paths()
	for _, d := range s.Factory.DestinationFields {
		if !slices.Contains(paths, d) {
			t.Errorf("destination field %q is not a property of the config schema (properties: %s)", d, strings.Join(paths, ", "))
		}
	}
	for _, p := range paths {
		if destinationLike(p) && !slices.Contains(s.Factory.DestinationFields, p) {
			t.Errorf("config field %q names a destination (host, port, endpoint, url, region, domain, servername...) but is not in Factory.DestinationFields", p)
		}
	}
}

// testDNSHints checks that the factory's DNS hints are well formed: every
// record lives in the sending domain, has a known purpose and type and a
// value of its type's shape; an SPF include the sending domain needs is in
// its SPF record; the README names every record.
func (s Suite) testDNSHints(t *testing.T) {
	h := s.Factory.DNS
	if h == nil {
		t.Skip("the factory declares no DNS hints (Factory.DNS is nil)")
	}
	const d = connector.DomainPlaceholder
	if h.SPFNote == "" || h.ReturnPath == "" {
		t.Errorf("DNS hints need an SPFNote and a ReturnPath text")
	}
	if len(h.Records) == 0 {
		t.Fatalf("DNS hints list no record to publish")
	}
	if h.SPFInclude != "" && !domainName(h.SPFInclude) {
		t.Errorf("SPFInclude %q is not a domain name", h.SPFInclude)
	}
	if h.EnvelopeDomain != "" && !domainName(strings.ReplaceAll(h.EnvelopeDomain, d, "example.com")) {
		t.Errorf("EnvelopeDomain %q is not a domain name", h.EnvelopeDomain)
	}
	for _, sel := range h.DKIMSelectors {
		if !domainName(sel + ".example.com") {
			t.Errorf("DKIM selector %q is not a DNS label", sel)
		}
	}
	includes := false
	for _, r := range h.Records {
		rec := r.Purpose + " " + r.Type + " " + r.Name
		if !slices.Contains(connector.DNSPurposes(), r.Purpose) {
			t.Errorf("%s: purpose is not one of %v", rec, connector.DNSPurposes())
		}
		if !slices.Contains(connector.DNSRecordTypes(), r.Type) {
			t.Errorf("%s: type is not one of %v", rec, connector.DNSRecordTypes())
		}
		if r.Name != d && !strings.HasSuffix(r.Name, "."+d) {
			t.Errorf("%s: the name is not %s or a name under it", rec, d)
		}
		if strings.TrimSpace(r.Value) == "" {
			t.Errorf("%s: no value", rec)
		}
		if r.Type == "MX" {
			f := strings.Fields(r.Value)
			if len(f) < 2 || !isNumber(f[0]) {
				t.Errorf("%s: MX value %q is not \"PREFERENCE HOST\"", rec, r.Value)
			}
		}
		if r.Purpose == "SPF" && r.Type == "TXT" {
			if !strings.HasPrefix(r.Value, "v=spf1 ") {
				t.Errorf("%s: value %q is not an SPF record", rec, r.Value)
			}
			includes = includes || r.Name == d && strings.Contains(r.Value, "include:"+h.SPFInclude)
		}
		if !strings.Contains(s.Factory.ReadMe, r.Name) {
			t.Errorf("%s: the README does not name the record", rec)
		}
	}
	if h.SPFInclude != "" && h.SPFOnFromDomain && !includes {
		t.Errorf("the sending domain needs include:%s (SPFOnFromDomain), but no SPF record on %s has it", h.SPFInclude, d)
	}
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// domainName reports whether n is dot-separated labels of letters, digits,
// hyphens and underscores, with at least one dot.
func domainName(n string) bool {
	labels := strings.Split(n, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			return false
		}
	}
	return true
}

// testSenderIdentity checks that a connector that tells its sender
// (connector.SenderIdentity) sends as that sender when the message sets
// none.
func (s Suite) testSenderIdentity(t *testing.T) {
	b := s.NewBackend(t)
	c := s.build(t, b, nil)
	id, ok := c.(connector.SenderIdentity)
	if !ok {
		t.Skip("the connector does not implement connector.SenderIdentity")
	}
	want := id.Sender()
	if want.From.Email == "" {
		t.Fatalf("Sender() has no From address")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Send(ctx, Message("msg-sender")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := b.Received()
	if len(got) != 1 {
		t.Fatalf("backend received %d messages, want 1", len(got))
	}
	if !strings.EqualFold(got[0].From, want.From.Email) {
		t.Errorf("mail sent from %q, but Sender() says %q", got[0].From, want.From.Email)
	}
	if !s.NoDisplayName && got[0].FromName != want.From.Name {
		t.Errorf("sender name %q, but Sender() says %q", got[0].FromName, want.From.Name)
	}
}
