package sendgrid

import "github.com/authmail/authmail/connector"

// dnsHints is what the provider needs in DNS; the deliverability check and
// the DNS records section of README.md are made from it.
func dnsHints() *connector.DNSHints {
	const D = connector.DomainPlaceholder
	return &connector.DNSHints{
		SPFInclude: "sendgrid.net", SPFOnFromDomain: true,
		SPFNote:       "With automated security on, SendGrid's `em<NNNN>` CNAME carries SPF for the bounce domain; include:sendgrid.net in the From domain's record covers setups without it.",
		DKIMSelectors: []string{"s1", "s2"},
		ReturnPath:    "`em<NNNN>." + D + "` (a CNAME to SendGrid), set up by Sender Authentication > Authenticate Your Domain.",
		Records: []connector.DNSRecord{
			{Purpose: "Return-Path", Type: "CNAME", Name: "em<NNNN>." + D, Value: "u<ACCOUNT>.wl<NNN>.sendgrid.net"},
			{Purpose: "DKIM", Type: "CNAME", Name: "s1._domainkey." + D, Value: "s1.domainkey.u<ACCOUNT>.wl<NNN>.sendgrid.net"},
			{Purpose: "DKIM", Type: "CNAME", Name: "s2._domainkey." + D, Value: "s2.domainkey.u<ACCOUNT>.wl<NNN>.sendgrid.net"},
			{Purpose: "SPF", Type: "TXT", Name: D, Value: "v=spf1 include:sendgrid.net ~all", Note: "merge into an existing SPF record: one per domain"},
		},
	}
}
