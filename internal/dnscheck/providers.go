package dnscheck

import (
	"fmt"
	"strings"
)

// DomainPlaceholder stands for the sending domain in RecordHint names and
// values.
const DomainPlaceholder = "{domain}"

// ProviderHints is what a provider needs in DNS for authenticated mail.
type ProviderHints struct {
	// ID is the connector ID, such as "sendgrid".
	ID string `json:"id"`
	// Name is the provider's display name.
	Name string `json:"name"`
	// SPFInclude is the domain to include in SPF (include:SPFInclude), or
	// "" when the provider needs none on the From domain.
	SPFInclude string `json:"spfInclude,omitempty"`
	// SPFOnFromDomain says the include belongs in the From domain's own
	// SPF record; false means it goes on a provider-specific return-path
	// or MAIL FROM domain instead.
	SPFOnFromDomain bool `json:"spfOnFromDomain"`
	// SPFNote explains where SPF is evaluated for this provider.
	SPFNote string `json:"spfNote"`
	// DKIMSelectors are fixed selectors the provider uses, tried by the
	// checker when none is given.
	DKIMSelectors []string `json:"dkimSelectors,omitempty"`
	// ReturnPath explains the envelope sender (bounce) domain.
	ReturnPath string `json:"returnPath"`
	// Records are the records to publish.
	Records []RecordHint `json:"records"`
}

// RecordHint is one record a provider asks for. Name and Value use
// DomainPlaceholder for the sending domain and <...> for values the
// provider's dashboard shows.
type RecordHint struct {
	// Purpose is "DKIM", "SPF", "Return-Path", "MAIL FROM", "Verification"
	// or "Tracking".
	Purpose string `json:"purpose"`
	// Type is the record type: TXT, CNAME or MX.
	Type string `json:"type"`
	// Name is the record's owner name.
	Name string `json:"name"`
	// Value is the record's data.
	Value string `json:"value"`
	// Note says anything else worth knowing.
	Note string `json:"note,omitempty"`
}

// providerAliases maps Logto's factory IDs to connector IDs.
var providerAliases = map[string]string{
	"simple-mail-transfer-protocol": "smtp",
	"aliyun-direct-mail":            "aliyun-dm",
	"ses":                           "aws-ses",
	"aws-ses-mail":                  "aws-ses",
	"sendgrid-email-service":        "sendgrid",
	"mailgun-email-service":         "mailgun",
	"postmark-email-service":        "postmark",
}

var providers = map[string]ProviderHints{
	"sendgrid": {
		ID: "sendgrid", Name: "SendGrid",
		SPFInclude: "sendgrid.net", SPFOnFromDomain: true,
		SPFNote:       "With automated security on, SendGrid's `em<NNNN>` CNAME carries SPF for the bounce domain; include:sendgrid.net in the From domain's record covers setups without it.",
		DKIMSelectors: []string{"s1", "s2"},
		ReturnPath:    "`em<NNNN>." + DomainPlaceholder + "` (a CNAME to SendGrid), set up by Sender Authentication > Authenticate Your Domain.",
		Records: []RecordHint{
			{Purpose: "Return-Path", Type: "CNAME", Name: "em<NNNN>." + DomainPlaceholder, Value: "u<ACCOUNT>.wl<NNN>.sendgrid.net"},
			{Purpose: "DKIM", Type: "CNAME", Name: "s1._domainkey." + DomainPlaceholder, Value: "s1.domainkey.u<ACCOUNT>.wl<NNN>.sendgrid.net"},
			{Purpose: "DKIM", Type: "CNAME", Name: "s2._domainkey." + DomainPlaceholder, Value: "s2.domainkey.u<ACCOUNT>.wl<NNN>.sendgrid.net"},
			{Purpose: "SPF", Type: "TXT", Name: DomainPlaceholder, Value: "v=spf1 include:sendgrid.net ~all", Note: "merge into an existing SPF record: one per domain"},
		},
	},
	"mailgun": {
		ID: "mailgun", Name: "Mailgun",
		SPFInclude: "mailgun.org", SPFOnFromDomain: true,
		SPFNote:       "Mailgun sends with a bounce address on the sending domain itself, so its SPF record must include mailgun.org.",
		DKIMSelectors: []string{"krs", "mx", "smtp", "pic"},
		ReturnPath:    "bounce+...@" + DomainPlaceholder + " (the sending domain registered in Mailgun).",
		Records: []RecordHint{
			{Purpose: "SPF", Type: "TXT", Name: DomainPlaceholder, Value: "v=spf1 include:mailgun.org ~all", Note: "merge into an existing SPF record: one per domain"},
			{Purpose: "DKIM", Type: "TXT", Name: "krs._domainkey." + DomainPlaceholder, Value: "k=rsa; p=<public key from Mailgun>", Note: "older domains use mx._domainkey, smtp._domainkey or pic._domainkey: copy the name Mailgun shows"},
			{Purpose: "Tracking", Type: "CNAME", Name: "email." + DomainPlaceholder, Value: "mailgun.org", Note: "only for open and click tracking"},
			{Purpose: "Receiving", Type: "MX", Name: DomainPlaceholder, Value: "10 mxa.mailgun.org / 10 mxb.mailgun.org", Note: "only if Mailgun should receive mail for the domain (US region; EU uses mxa.eu.mailgun.org)"},
		},
	},
	"postmark": {
		ID: "postmark", Name: "Postmark",
		SPFOnFromDomain: false,
		SPFNote:         "Postmark sends with a Return-Path on pm-bounces." + DomainPlaceholder + ", which its own SPF (spf.mtasv.net) covers; the From domain's SPF record needs no change.",
		ReturnPath:      "pm-bounces." + DomainPlaceholder + " (a CNAME to pm.mtasv.net), which also makes SPF align.",
		Records: []RecordHint{
			{Purpose: "DKIM", Type: "TXT", Name: "<YYYYMMDDhhmmss>pm._domainkey." + DomainPlaceholder, Value: "k=rsa; p=<public key from Postmark>", Note: "the selector is a date followed by pm: copy it from Sender Signatures > DNS settings"},
			{Purpose: "Return-Path", Type: "CNAME", Name: "pm-bounces." + DomainPlaceholder, Value: "pm.mtasv.net"},
		},
	},
	"aws-ses": {
		ID: "aws-ses", Name: "Amazon SES",
		SPFInclude: "amazonses.com", SPFOnFromDomain: false,
		SPFNote:    "Without a custom MAIL FROM domain SES bounces to amazonses.com (SPF passes but does not align; DKIM carries DMARC). With one, its SPF record is v=spf1 include:amazonses.com ~all.",
		ReturnPath: "amazonses.com by default; a custom MAIL FROM subdomain such as mail." + DomainPlaceholder + " makes SPF align.",
		Records: []RecordHint{
			{Purpose: "DKIM", Type: "CNAME", Name: "<token1>._domainkey." + DomainPlaceholder, Value: "<token1>.dkim.amazonses.com", Note: "Easy DKIM: three CNAMEs, tokens shown in the SES console under Verified identities"},
			{Purpose: "DKIM", Type: "CNAME", Name: "<token2>._domainkey." + DomainPlaceholder, Value: "<token2>.dkim.amazonses.com"},
			{Purpose: "DKIM", Type: "CNAME", Name: "<token3>._domainkey." + DomainPlaceholder, Value: "<token3>.dkim.amazonses.com"},
			{Purpose: "MAIL FROM", Type: "MX", Name: "mail." + DomainPlaceholder, Value: "10 feedback-smtp.<region>.amazonses.com", Note: "custom MAIL FROM domain (optional, recommended)"},
			{Purpose: "MAIL FROM", Type: "TXT", Name: "mail." + DomainPlaceholder, Value: "v=spf1 include:amazonses.com ~all"},
		},
	},
	"aliyun-dm": {
		ID: "aliyun-dm", Name: "Aliyun DirectMail",
		SPFInclude: "spf1.dm.aliyun.com", SPFOnFromDomain: true,
		SPFNote:       "DirectMail checks for include:spf1.dm.aliyun.com in the sending domain's SPF record before it verifies the domain.",
		DKIMSelectors: []string{"aliyun-cn-hangzhou", "aliyun-ap-southeast-1", "aliyun-eu-central-1", "aliyun-us-east-1"},
		ReturnPath:    "the sending domain registered in DirectMail.",
		Records: []RecordHint{
			{Purpose: "Verification", Type: "TXT", Name: "aliyundm." + DomainPlaceholder, Value: "<token from the DirectMail console>"},
			{Purpose: "SPF", Type: "TXT", Name: DomainPlaceholder, Value: "v=spf1 include:spf1.dm.aliyun.com -all", Note: "merge into an existing SPF record: one per domain"},
			{Purpose: "DKIM", Type: "TXT", Name: "aliyun-<region>._domainkey." + DomainPlaceholder, Value: "v=DKIM1; k=rsa; p=<public key from the console>", Note: "the region is the DirectMail region, e.g. aliyun-cn-hangzhou"},
			{Purpose: "Receiving", Type: "MX", Name: DomainPlaceholder, Value: "10 mxdm.aliyun.com", Note: "optional, for replies and bounces handled by DirectMail"},
		},
	},
	"smtp": {
		ID: "smtp", Name: "SMTP relay",
		SPFOnFromDomain: true,
		SPFNote:         "The SPF record must authorise the relay's outgoing addresses (ip4:/ip6:, a:HOST, or the include your mail host documents).",
		ReturnPath:      "whatever envelope sender the relay uses; keep it on the From domain (or a subdomain) so SPF aligns.",
		Records: []RecordHint{
			{Purpose: "SPF", Type: "TXT", Name: DomainPlaceholder, Value: "v=spf1 ip4:<relay address> ~all", Note: "merge into an existing SPF record: one per domain"},
			{Purpose: "DKIM", Type: "TXT", Name: "<selector>._domainkey." + DomainPlaceholder, Value: "v=DKIM1; k=rsa; p=<public key>", Note: "printed by `authmail dkim keygen --domain D --selector S` when authmail signs (the connector's dkim block), or by your MTA when it signs"},
		},
	},
}

// ProviderID resolves a connector ID or one of Logto's factory IDs to the
// ID the hints are keyed by.
func ProviderID(id string) string {
	id = strings.ToLower(strings.TrimSpace(id))
	if a, ok := providerAliases[id]; ok {
		return a
	}
	return id
}

// Hints returns the DNS needs of the provider behind connector ID id.
func Hints(id string) (ProviderHints, bool) {
	h, ok := providers[ProviderID(id)]
	if !ok {
		return ProviderHints{}, false
	}
	h.DKIMSelectors = append([]string(nil), h.DKIMSelectors...)
	h.Records = append([]RecordHint(nil), h.Records...)
	return h, true
}

// HintProviders returns the connector IDs that have hints.
func HintProviders() []string {
	return []string{"sendgrid", "mailgun", "postmark", "aws-ses", "aliyun-dm", "smtp"}
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
	if h.ID == "smtp" {
		source = "your mail server or relay"
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
