// Package smtp is authmail's SMTP email connector.
//
// It accepts the config of Logto's SMTP connector (nodemailer transport
// options) as is, and sends each message over a small pool of open,
// authenticated connections: implicit TLS, mandatory or opportunistic
// STARTTLS, AUTH PLAIN, LOGIN, CRAM-MD5 or XOAUTH2, or no auth for relays
// that authorise by IP. Messages are multipart/alternative with a stable
// Message-ID built from the message ID, DKIM-signed (relaxed/relaxed) when
// the config has a dkim block. Failures are classified with the connector
// error classes from the server's reply codes.
package smtp

import (
	"context"
	_ "embed"
	"encoding/json"
	"io"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/dkimkey"
)

// ID is the factory ID; LogtoID is Logto's, accepted as an alias.
const (
	ID      = "smtp"
	LogtoID = "simple-mail-transfer-protocol"
)

//go:embed README.md
var readme string

//go:embed schema.json
var schema []byte

//go:embed logo.svg
var logo string

// defaultConfig is what the console pre-fills.
const defaultConfig = `{
  "host": "smtp.example.com",
  "port": 587,
  "requireTLS": true,
  "auth": {"type": "login", "user": "<username>", "pass": "<password>"},
  "fromEmail": "Acme <no-reply@example.com>"
}`

// Factory returns the SMTP connector's factory.
func Factory() connector.Factory {
	return connector.Factory{
		ID:           ID,
		Aliases:      []string{LogtoID},
		Name:         "SMTP",
		Group:        connector.GroupCustom,
		Description:  "Send email through any SMTP server or relay, with STARTTLS or implicit TLS and password or OAuth2 login.",
		Logo:         logo,
		ConfigSchema: json.RawMessage(schema),
		SecretFields: []string{"auth.pass", "auth.accessToken", "auth.clientSecret", "auth.refreshToken", "auth.privateKey", dkimkey.SecretField},
		// Where the password goes is the server (host, port) and who can
		// read it on the way: the TLS settings decide whether the
		// connection is encrypted and whose certificate is trusted, and
		// authMethod whether the password itself crosses the wire (PLAIN,
		// LOGIN) or only a digest of it (CRAM-MD5). The DKIM domain is the
		// domain the private key signs as.
		DestinationFields: []string{"host", "port", "servername", "secure", "requireTLS", "ignoreTLS", "authMethod",
			"tls.servername", "tls.rejectUnauthorized", "tls.ca", "dkim.domain", "dkim.domainName"},
		DNS:           dnsHints(),
		Form:          form,
		DefaultConfig: json.RawMessage(defaultConfig),
		ReadMe:        readme,
		NewConfig:     func() connector.Config { return &Config{} },
	}
}

func init() { connector.Register(Factory()) }

// Build validates the config and builds the connector. The result
// implements io.Closer (closing its connections) and
// connector.TemplateSource.
func (c *Config) Build(_ context.Context, env connector.Env) (connector.Connector, error) {
	cfg, err := c.settings()
	if err != nil {
		return nil, err
	}
	s := newSender(cfg, env)
	if cfg.insecureVerify {
		s.log.Warn("smtp certificate verification is off (tls.rejectUnauthorized is false)", "addr", cfg.addr)
	}
	if cfg.signer != nil && !dkimAligned(cfg.from.Email, cfg.signer.Domain()) {
		s.log.Warn("smtp dkim domain does not align with the From address, so DMARC cannot pass on DKIM; sign with the From domain or a parent of it",
			"dkimDomain", cfg.signer.Domain(), "from", cfg.from.Email)
	}
	return s, nil
}

// dkimAligned reports whether DKIM d=domain aligns with the From address
// under DMARC's relaxed mode: both share one organisational domain.
func dkimAligned(from, domain string) bool {
	at := strings.LastIndexByte(from, '@')
	if at < 0 {
		return false
	}
	return orgDomain(from[at+1:]) == orgDomain(domain)
}

// orgDomain is d's registrable domain under the public suffix list.
func orgDomain(d string) string {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	if org, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return org
	}
	return d
}

var form = []connector.FormItem{
	{Key: "host", Label: "SMTP host", Type: "Text", Required: true, Placeholder: "smtp.example.com"},
	{Key: "port", Label: "Port", Type: "Number", Required: true, Placeholder: "587",
		Description: "587 with STARTTLS, 465 with secure, 25 for a local relay."},
	{Key: "secure", Label: "Implicit TLS (secure)", Type: "Switch", DefaultValue: false,
		Description: "Turn on for port 465 only."},
	{Key: "requireTLS", Label: "Require STARTTLS", Type: "Switch", DefaultValue: false,
		Description: "Fail rather than send in clear text when the server does not offer STARTTLS."},
	{Key: "ignoreTLS", Label: "Never use STARTTLS", Type: "Switch", DefaultValue: false},
	{Key: "auth", Label: "Auth", Type: "Json",
		DefaultValue: map[string]any{"type": "login", "user": "<username>", "pass": "<password>"},
		Description:  "{type: login, user, pass} or {type: oauth2, user, accessToken}; remove for an IP-authorised relay."},
	{Key: "fromEmail", Label: "From", Type: "Text", Required: true, Placeholder: "Acme <no-reply@example.com>"},
	{Key: "replyTo", Label: "Reply-To", Type: "Text", Placeholder: "support@example.com"},
	{Key: "servername", Label: "TLS server name", Type: "Text",
		Description: "The name in the server's certificate, when it differs from the host."},
	{Key: "tls", Label: "TLS options", Type: "Json", DefaultValue: map[string]any{},
		Description: "rejectUnauthorized, minVersion (such as TLSv1.2), ca (PEM)."},
	{Key: "name", Label: "HELO name", Type: "Text", Placeholder: "mail.example.com"},
	{Key: "customHeaders", Label: "Custom headers", Type: "Json", DefaultValue: map[string]any{}},
	{Key: "connectionTimeout", Label: "Connection timeout (ms)", Type: "Number", DefaultValue: 10000},
	{Key: "greetingTimeout", Label: "Greeting timeout (ms)", Type: "Number", DefaultValue: 10000},
	{Key: "socketTimeout", Label: "Socket timeout (ms)", Type: "Number", DefaultValue: 30000},
	{Key: "maxConnections", Label: "Pooled connections", Type: "Number", DefaultValue: MaxConnectionsDefault},
	{Key: "templates", Label: "Templates", Type: "Json",
		Description: "Optional Logto-style templates, used when no stored template matches."},
	{Key: "dkim", Label: "DKIM signing", Type: "Json",
		Description: "Optional {domain, selector, privateKey (PEM), headers?}: sign mail with your own key. Make one with: authmail dkim keygen --domain D --selector S"},
}

// Sender is the configured From address, the relay host SPF must
// authorise and, with a dkim block, the domain and key mail is signed with.
func (s *sender) Sender() connector.Sender {
	out := connector.Sender{From: s.cfg.from, Relay: s.cfg.host}
	if s.cfg.signer != nil {
		out.Domain, out.DKIMSelector, out.DKIMPrivateKey = s.cfg.signer.Domain(), s.cfg.signer.Selector(), s.cfg.dkimKey
	}
	return out
}

// Interface guards.
var (
	_ connector.Config         = (*Config)(nil)
	_ connector.Connector      = (*sender)(nil)
	_ connector.TemplateSource = (*sender)(nil)
	_ connector.SenderIdentity = (*sender)(nil)
	_ connector.Checker        = (*sender)(nil)
	_ io.Closer                = (*sender)(nil)
)
