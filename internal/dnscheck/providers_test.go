package dnscheck_test

import (
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/dnscheck"

	// The hints come from the connectors' factories, through the registry.
	_ "github.com/authmail/authmail/connectors/standard"
)

func TestHints(t *testing.T) {
	t.Parallel()
	cases := []struct {
		id, spfInclude string
		onFrom         bool
		records        []string // "TYPE name -> value" fragments
	}{
		{"sendgrid", "sendgrid.net", true, []string{"CNAME s1._domainkey.{domain} -> s1.domainkey.", "CNAME s2._domainkey.{domain} -> s2.domainkey."}},
		{"mailgun", "mailgun.org", true, []string{"TXT krs._domainkey.{domain} -> k=rsa; p=", "CNAME email.{domain} -> mailgun.org"}},
		{"postmark", "", false, []string{"TXT <YYYYMMDDhhmmss>pm._domainkey.{domain} -> k=rsa", "CNAME pm-bounces.{domain} -> pm.mtasv.net"}},
		{"aws-ses", "amazonses.com", false, []string{"CNAME <token1>._domainkey.{domain} -> <token1>.dkim.amazonses.com", "CNAME <token3>._domainkey.{domain} -> <token3>.dkim.amazonses.com", "TXT mail.{domain} -> v=spf1 include:amazonses.com ~all", "MX mail.{domain} -> 10 feedback-smtp.<region>.amazonses.com"}},
		{"aliyun-dm", "spf1.dm.aliyun.com", true, []string{"TXT {domain} -> v=spf1 include:spf1.dm.aliyun.com -all"}},
		{"smtp", "", true, []string{"TXT <selector>._domainkey.{domain} -> v=DKIM1"}},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			t.Parallel()
			h, ok := dnscheck.Hints(tc.id)
			if !ok || h.ID != tc.id || h.Name == "" || h.SPFNote == "" || h.ReturnPath == "" {
				t.Fatalf("Hints(%q) = %+v, %v", tc.id, h, ok)
			}
			if h.SPFInclude != tc.spfInclude || h.SPFOnFromDomain != tc.onFrom {
				t.Fatalf("SPF include %q (on From %v), want %q (%v)", h.SPFInclude, h.SPFOnFromDomain, tc.spfInclude, tc.onFrom)
			}
			var have []string
			for _, r := range h.Records {
				have = append(have, r.Type+" "+r.Name+" -> "+r.Value)
			}
			joined := strings.Join(have, "\n")
			for _, w := range tc.records {
				if !strings.Contains(joined, w) {
					t.Errorf("no record like %q in\n%s", w, joined)
				}
			}
			md := dnscheck.HintsMarkdown(tc.id)
			if !strings.HasPrefix(md, "## DNS records for "+h.Name) || !strings.Contains(md, "| "+h.Records[0].Purpose+" | "+h.Records[0].Type+" | `"+h.Records[0].Name+"`") ||
				!strings.Contains(md, "authmail dns check {domain} --provider "+tc.id) {
				t.Errorf("HintsMarkdown(%q) =\n%s", tc.id, md)
			}
		})
	}
	for alias, id := range map[string]string{"simple-mail-transfer-protocol": "smtp", "aliyun-direct-mail": "aliyun-dm", "SendGrid": "sendgrid"} {
		if h, ok := dnscheck.Hints(alias); !ok || h.ID != id {
			t.Errorf("Hints(%q) = %q, %v; want %q", alias, h.ID, ok, id)
		}
	}
	if _, ok := dnscheck.Hints("dev-inbox"); ok {
		t.Error("dev-inbox has hints")
	}
	if dnscheck.HintsMarkdown("http-email") != "" {
		t.Error("HintsMarkdown for a provider without hints is not empty")
	}
	// Hints returns a copy: changing it does not change the data.
	h, _ := dnscheck.Hints("sendgrid")
	h.Records[0].Value = "changed"
	if again, _ := dnscheck.Hints("sendgrid"); again.Records[0].Value == "changed" {
		t.Error("Hints shares its slices")
	}
}

func TestOptionsWithDefaults(t *testing.T) {
	t.Parallel()
	def := dnscheck.Options{Domain: "auth.example.com", From: "noreply@auth.example.com", Selector: "am1", Provider: "smtp", SMTPHost: "relay.example.com", DKIMPrivateKey: "pem"}
	got := dnscheck.Options{}.WithDefaults(def)
	if got != def {
		t.Errorf("empty query: %+v", got)
	}
	got = dnscheck.Options{Domain: "other.com", Selector: "s2"}.WithDefaults(def)
	if got.Domain != "other.com" || got.From != "" || got.Selector != "s2" || got.Provider != "smtp" || got.DKIMPrivateKey != "" {
		t.Errorf("other domain: %+v", got)
	}
}
