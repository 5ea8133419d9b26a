package smtp

import "github.com/authmail/authmail/connector"

// dnsHints is what the provider needs in DNS; the deliverability check and
// the DNS records section of README.md are made from it.
func dnsHints() *connector.DNSHints {
	const D = connector.DomainPlaceholder
	return &connector.DNSHints{
		SPFOnFromDomain: true,
		SPFNote:         "The SPF record must authorise the relay's outgoing addresses (ip4:/ip6:, a:HOST, or the include your mail host documents).",
		ReturnPath:      "whatever envelope sender the relay uses; keep it on the From domain (or a subdomain) so SPF aligns.",
		Records: []connector.DNSRecord{
			{Purpose: "SPF", Type: "TXT", Name: D, Value: "v=spf1 ip4:<relay address> ~all", Note: "merge into an existing SPF record: one per domain"},
			{Purpose: "DKIM", Type: "TXT", Name: "<selector>._domainkey." + D, Value: "v=DKIM1; k=rsa; p=<public key>", Note: "printed by `authmail dkim keygen --domain D --selector S` when authmail signs (the connector's dkim block), or by your MTA when it signs"},
		},
		ValuesFrom: "your mail server or relay",
	}
}
