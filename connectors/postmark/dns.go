package postmark

import "github.com/authmail/authmail/connector"

// dnsHints is what the provider needs in DNS; the deliverability check and
// the DNS records section of README.md are made from it.
func dnsHints() *connector.DNSHints {
	const D = connector.DomainPlaceholder
	return &connector.DNSHints{
		SPFOnFromDomain: false,
		SPFNote:         "Postmark sends with a Return-Path on pm-bounces." + D + ", which its own SPF (spf.mtasv.net) covers; the From domain's SPF record needs no change.",
		ReturnPath:      "pm-bounces." + D + " (a CNAME to pm.mtasv.net), which also makes SPF align.",
		Records: []connector.DNSRecord{
			{Purpose: "DKIM", Type: "TXT", Name: "<YYYYMMDDhhmmss>pm._domainkey." + D, Value: "k=rsa; p=<public key from Postmark>", Note: "the selector is a date followed by pm: copy it from Sender Signatures > DNS settings"},
			{Purpose: "Return-Path", Type: "CNAME", Name: "pm-bounces." + D, Value: "pm.mtasv.net"},
		},
		EnvelopeDomain: "pm-bounces." + D,
	}
}
