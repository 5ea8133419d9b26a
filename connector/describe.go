package connector

import "context"

// What a connector tells the host about itself beyond sending. Static
// knowledge, the same for every config of a kind, is a field of Factory
// (DNS, DestinationFields, SecretFields); knowledge that depends on the
// config is an optional interface of the built Connector (SenderIdentity,
// Checker).

// SenderIdentity is implemented by connectors that send as a sender their
// config names. The host reads it for the defaults of a deliverability
// check (`GET /api/deliverability/check`).
type SenderIdentity interface {
	// Sender returns who the connector's mail comes from, as configured.
	Sender() Sender
}

// Sender is the identity a connector's mail carries.
type Sender struct {
	// From is the configured From address.
	From Address
	// Domain is the domain the mail is sent and signed for when it is not
	// the From address's own: Mailgun's sending domain, or the d= of the
	// connector's own DKIM key. Empty means the From address's domain.
	Domain string
	// Relay is the host the connector hands mail to, when that host (not a
	// provider's network) is what the domain's SPF record must authorise:
	// an SMTP relay. Empty for API providers.
	Relay string
	// DKIMSelector is the selector of the key the connector signs with
	// itself, when it signs mail (SMTP's dkim block).
	DKIMSelector string
	// DKIMPrivateKey is that key, PEM-encoded.
	DKIMPrivateKey Secret
}

// DomainPlaceholder stands for the sending domain in DNSRecord names and
// values and in DNSHints texts.
const DomainPlaceholder = "{domain}"

// DNSHints say what a provider needs in DNS for its mail to pass SPF, DKIM
// and DMARC. Texts use DomainPlaceholder for the sending domain and <...>
// for values the provider shows (an account number, a key).
type DNSHints struct {
	// SPFInclude is the domain to include in SPF (include:SPFInclude), or
	// "" when the provider needs none.
	SPFInclude string `json:"spfInclude,omitempty"`
	// SPFOnFromDomain says the include belongs in the sending domain's own
	// SPF record; false means it goes on a provider-specific return-path
	// or MAIL FROM domain instead.
	SPFOnFromDomain bool `json:"spfOnFromDomain"`
	// SPFNote explains where SPF is evaluated for this provider.
	SPFNote string `json:"spfNote"`
	// DKIMSelectors are fixed selectors the provider signs with, tried by
	// the checker when none is given.
	DKIMSelectors []string `json:"dkimSelectors,omitempty"`
	// ReturnPath explains the envelope sender (bounce) domain.
	ReturnPath string `json:"returnPath"`
	// EnvelopeDomain is the envelope sender's domain when the provider
	// does not send with the sending domain itself, such as
	// "pm-bounces.{domain}" or "amazonses.com": SPF alignment is judged
	// on it. Empty means the sending domain.
	EnvelopeDomain string `json:"envelopeDomain,omitempty"`
	// ValuesFrom says where the <...> values come from, such as "your mail
	// server or relay"; empty means the provider's dashboard.
	ValuesFrom string `json:"valuesFrom,omitempty"`
	// Records are the records to publish.
	Records []DNSRecord `json:"records"`
}

// DNSRecord is one record a provider asks for.
type DNSRecord struct {
	// Purpose is one of DNSPurposes.
	Purpose string `json:"purpose"`
	// Type is the record type: TXT, CNAME or MX.
	Type string `json:"type"`
	// Name is the record's owner name, within DomainPlaceholder.
	Name string `json:"name"`
	// Value is the record's data; an MX value is "PREFERENCE HOST".
	Value string `json:"value"`
	// Note says anything else worth knowing.
	Note string `json:"note,omitempty"`
}

// DNSPurposes are the purposes a DNSRecord may have.
func DNSPurposes() []string {
	return []string{"SPF", "DKIM", "Return-Path", "MAIL FROM", "Verification", "Tracking", "Receiving"}
}

// DNSRecordTypes are the record types a DNSRecord may have.
func DNSRecordTypes() []string { return []string{"TXT", "CNAME", "MX"} }

// Checker is implemented by connectors that can prove, without sending
// mail, that their provider is reachable and takes their credentials: an
// SMTP connector connects, secures the connection, authenticates and
// quits; an API connector makes its provider's cheapest authenticated
// read. The host runs it on a config before saving it when asked to
// (`POST /api/connectors/{factoryId}/check`,
// `POST /api/connectors?check=true`). A connector that cannot check
// without delivering something (a webhook) does not implement it.
type Checker interface {
	// Check returns nil when the provider answered and accepted the
	// credentials, or an error classified as Send's are: ErrAuth when the
	// credentials were refused, ErrInvalidConfig naming the field at fault
	// (a sending domain the account does not have), ErrTemporary (or
	// ErrRateLimited) when the provider could not be reached or failed.
	// It must honour ctx, send no mail and be safe for concurrent use.
	Check(ctx context.Context) error
}
