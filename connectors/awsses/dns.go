package awsses

import "github.com/authmail/authmail/connector"

// dnsHints is what the provider needs in DNS; the deliverability check and
// the DNS records section of README.md are made from it.
func dnsHints() *connector.DNSHints {
	const D = connector.DomainPlaceholder
	return &connector.DNSHints{
		SPFInclude: "amazonses.com", SPFOnFromDomain: false,
		SPFNote:    "Without a custom MAIL FROM domain SES bounces to amazonses.com (SPF passes but does not align; DKIM carries DMARC). With one, its SPF record is v=spf1 include:amazonses.com ~all.",
		ReturnPath: "amazonses.com by default; a custom MAIL FROM subdomain such as mail." + D + " makes SPF align.",
		Records: []connector.DNSRecord{
			{Purpose: "DKIM", Type: "CNAME", Name: "<token1>._domainkey." + D, Value: "<token1>.dkim.amazonses.com", Note: "Easy DKIM: three CNAMEs, tokens shown in the SES console under Verified identities"},
			{Purpose: "DKIM", Type: "CNAME", Name: "<token2>._domainkey." + D, Value: "<token2>.dkim.amazonses.com"},
			{Purpose: "DKIM", Type: "CNAME", Name: "<token3>._domainkey." + D, Value: "<token3>.dkim.amazonses.com"},
			{Purpose: "MAIL FROM", Type: "MX", Name: "mail." + D, Value: "10 feedback-smtp.<region>.amazonses.com", Note: "custom MAIL FROM domain (optional, recommended)"},
			{Purpose: "MAIL FROM", Type: "TXT", Name: "mail." + D, Value: "v=spf1 include:amazonses.com ~all"},
		},
		EnvelopeDomain: "amazonses.com",
	}
}
