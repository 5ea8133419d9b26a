package aliyundm

import "github.com/authmail/authmail/connector"

// dnsHints is what the provider needs in DNS; the deliverability check and
// the DNS records section of README.md are made from it.
func dnsHints() *connector.DNSHints {
	const D = connector.DomainPlaceholder
	return &connector.DNSHints{
		SPFInclude: "spf1.dm.aliyun.com", SPFOnFromDomain: true,
		SPFNote:       "DirectMail checks for include:spf1.dm.aliyun.com in the sending domain's SPF record before it verifies the domain.",
		DKIMSelectors: []string{"aliyun-cn-hangzhou", "aliyun-ap-southeast-1", "aliyun-eu-central-1", "aliyun-us-east-1"},
		ReturnPath:    "the sending domain registered in DirectMail.",
		Records: []connector.DNSRecord{
			{Purpose: "Verification", Type: "TXT", Name: "aliyundm." + D, Value: "<token from the DirectMail console>"},
			{Purpose: "SPF", Type: "TXT", Name: D, Value: "v=spf1 include:spf1.dm.aliyun.com -all", Note: "merge into an existing SPF record: one per domain"},
			{Purpose: "DKIM", Type: "TXT", Name: "aliyun-<region>._domainkey." + D, Value: "v=DKIM1; k=rsa; p=<public key from the DirectMail console>", Note: "the region is the DirectMail region, e.g. aliyun-cn-hangzhou"},
			{Purpose: "Receiving", Type: "MX", Name: D, Value: "10 mxdm.aliyun.com", Note: "optional, for replies and bounces handled by DirectMail"},
		},
	}
}
