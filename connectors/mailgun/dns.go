package mailgun

import "github.com/authmail/authmail/connector"

// dnsHints is what the provider needs in DNS; the deliverability check and
// the DNS records section of README.md are made from it.
func dnsHints() *connector.DNSHints {
	const D = connector.DomainPlaceholder
	return &connector.DNSHints{
		SPFInclude: "mailgun.org", SPFOnFromDomain: true,
		SPFNote:       "Mailgun sends with a bounce address on the sending domain itself, so its SPF record must include mailgun.org.",
		DKIMSelectors: []string{"krs", "mx", "smtp", "pic"},
		ReturnPath:    "bounce+...@" + D + " (the sending domain registered in Mailgun).",
		Records: []connector.DNSRecord{
			{Purpose: "SPF", Type: "TXT", Name: D, Value: "v=spf1 include:mailgun.org ~all", Note: "merge into an existing SPF record: one per domain"},
			{Purpose: "DKIM", Type: "TXT", Name: "krs._domainkey." + D, Value: "k=rsa; p=<public key from Mailgun>", Note: "older domains use mx._domainkey, smtp._domainkey or pic._domainkey: copy the name Mailgun shows"},
			{Purpose: "Tracking", Type: "CNAME", Name: "email." + D, Value: "mailgun.org", Note: "only for open and click tracking"},
			{Purpose: "Receiving", Type: "MX", Name: D, Value: "10 mxa.mailgun.org / 10 mxb.mailgun.org", Note: "only if Mailgun should receive mail for the domain (US region; EU uses mxa.eu.mailgun.org)"},
		},
	}
}
