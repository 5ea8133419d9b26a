// Package dkimkey holds DKIM keys for mail that authmail signs itself (the
// SMTP connector relaying through a team's own MTA): the connector's `dkim`
// config block, a signer built on github.com/emersion/go-msgauth/dkim
// (relaxed/relaxed canonicalisation, rsa-sha256 or ed25519-sha256), key
// generation and the DNS TXT record that publishes the public key.
package dkimkey

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"

	"github.com/authmail/authmail/connector"
)

// MinRSABits is the smallest RSA key accepted for signing.
const MinRSABits = 2048

// DefaultRSABits is the RSA key size Generate uses when given none.
const DefaultRSABits = 2048

// DefaultHeaders are the header fields signed when the config lists none.
// A field listed but absent from a message is signed as empty, so it cannot
// be added on the way without breaking the signature.
var DefaultHeaders = []string{"From", "To", "Subject", "Date", "Message-ID", "Reply-To", "MIME-Version", "Content-Type"}

// Config is the SMTP connector's `dkim` block. It also accepts the field
// names nodemailer uses in a Logto SMTP config (domainName, keySelector).
type Config struct {
	// Domain is the signing domain (the d= tag), such as "auth.example.com".
	Domain string `json:"domain"`
	// Selector names the key (the s= tag); the public key is published at
	// SELECTOR._domainkey.DOMAIN.
	Selector string `json:"selector"`
	// PrivateKey is the PEM private key, RSA of 2048 bits or more, or Ed25519.
	PrivateKey connector.Secret `json:"privateKey"`
	// Headers are the header fields to sign; empty means DefaultHeaders.
	Headers []string `json:"headers,omitempty"`
	// DomainName is nodemailer's name for Domain, read when Domain is empty.
	DomainName string `json:"domainName,omitempty"`
	// KeySelector is nodemailer's name for Selector, read when Selector is
	// empty.
	KeySelector string `json:"keySelector,omitempty"`
}

// UnmarshalJSON reads the block, taking nodemailer's domainName and
// keySelector for domain and selector when those are absent.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	if err := json.Unmarshal(b, (*plain)(c)); err != nil {
		return err
	}
	if c.Domain == "" {
		c.Domain = c.DomainName
	}
	if c.Selector == "" {
		c.Selector = c.KeySelector
	}
	return nil
}

// Validate checks the block, returning a connector.ConfigError that names
// dkim.domain, dkim.selector, dkim.privateKey or dkim.headers.
func (c *Config) Validate() error {
	_, err := c.parse()
	return err
}

func (c *Config) parse() (crypto.Signer, error) {
	if err := ValidateDomain(c.Domain); err != nil {
		return nil, connector.InvalidConfig("dkim.domain", "%s", err)
	}
	if err := ValidateSelector(c.Selector); err != nil {
		return nil, connector.InvalidConfig("dkim.selector", "%s", err)
	}
	if strings.TrimSpace(c.PrivateKey.Reveal()) == "" {
		return nil, connector.InvalidConfig("dkim.privateKey", "is required: a PEM private key (RSA 2048+ or Ed25519); `authmail dkim keygen` makes one")
	}
	key, err := ParsePrivateKey([]byte(c.PrivateKey.Reveal()))
	if err != nil {
		return nil, connector.InvalidConfig("dkim.privateKey", "%s", err)
	}
	if len(c.Headers) > 0 {
		hasFrom := false
		for _, h := range c.Headers {
			if strings.TrimSpace(h) == "" || strings.ContainsAny(h, ": \t\r\n") {
				return nil, connector.InvalidConfig("dkim.headers", "%q is not a header field name", h)
			}
			hasFrom = hasFrom || strings.EqualFold(h, "From")
		}
		if !hasFrom {
			return nil, connector.InvalidConfig("dkim.headers", "must include From (RFC 6376 section 5.4)")
		}
	}
	return key, nil
}

// ValidateDomain checks a signing domain (d=); its error reads after the
// field's name, as in "--domain is required: ...".
func ValidateDomain(d string) error {
	if d == "" {
		return errors.New("is required: the domain that signs, usually the From address's domain")
	}
	if !strings.Contains(d, ".") || strings.HasSuffix(d, ".") {
		return fmt.Errorf("%q is not a domain name such as auth.example.com", d)
	}
	if _, ok := dns.IsDomainName(d); !ok || strings.ContainsAny(d, " @/_") {
		return fmt.Errorf("%q is not a domain name such as auth.example.com", d)
	}
	return nil
}

// ValidateSelector checks a selector (s=) against the rule the guides
// state: letters, digits and hyphens, in parts of at most 63 characters
// that neither start nor end with a hyphen, a dot between two parts (RFC
// 6376 section 3.1: "authmail1", "202611", "2026.mail"). Its error reads
// after the field's name, as in "--selector is required: ...".
func ValidateSelector(s string) error {
	if s == "" {
		return errors.New("is required: a name for the key, such as \"authmail1\" or a date like \"202611\"")
	}
	for _, label := range strings.Split(s, ".") {
		if reason := selectorLabelProblem(label); reason != "" {
			return fmt.Errorf("%q is not a valid selector: %s; use letters, digits and hyphens, such as \"authmail1\"", s, reason)
		}
	}
	return nil
}

// selectorLabelProblem says what is wrong with one part of a selector, or
// "" when nothing is.
func selectorLabelProblem(label string) string {
	switch {
	case label == "":
		return "it has an empty part (a leading, trailing or doubled dot)"
	case len(label) > 63:
		return fmt.Sprintf("a part is %d characters, the limit is 63", len(label))
	case strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-"):
		return "a part starts or ends with a hyphen"
	}
	for _, r := range label {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("%q is not a letter, digit or hyphen", r)
		}
	}
	return ""
}

// ParsePrivateKey reads a PEM private key: PKCS#8 ("PRIVATE KEY", RSA or
// Ed25519) or PKCS#1 ("RSA PRIVATE KEY"). RSA keys under MinRSABits and
// encrypted or unknown PEM blocks are refused.
func ParsePrivateKey(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(bytes.TrimSpace(pemBytes))
	if block == nil {
		return nil, errors.New("is not a PEM private key (expected -----BEGIN PRIVATE KEY-----)")
	}
	if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, errors.New("is an encrypted PEM key; decrypt it first (openssl pkey -in key.pem -out plain.pem)")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("has an unsupported PEM block %q; use a PKCS#8 RSA or Ed25519 key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot be parsed: %w", err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < MinRSABits {
			return nil, fmt.Errorf("is a %d-bit RSA key; use %d bits or more, or Ed25519", bits, MinRSABits)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("is a %T; only RSA and Ed25519 keys can sign DKIM", key)
	}
}

// PublicKeyFromPEM returns the public half of a PEM private key.
func PublicKeyFromPEM(pemBytes []byte) (crypto.PublicKey, error) {
	key, err := ParsePrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("private key %w", err)
	}
	return key.Public(), nil
}

// Signer signs messages with one key for one domain and selector. It is
// safe for concurrent use.
type Signer struct {
	domain   string
	selector string
	key      crypto.Signer
	headers  []string
}

// Signer validates the config and returns a signer for it.
func (c *Config) Signer() (*Signer, error) {
	key, err := c.parse()
	if err != nil {
		return nil, err
	}
	headers := c.Headers
	if len(headers) == 0 {
		headers = DefaultHeaders
	}
	return &Signer{domain: c.Domain, selector: c.Selector, key: key, headers: append([]string(nil), headers...)}, nil
}

// Domain returns the signing domain (d=).
func (s *Signer) Domain() string { return s.domain }

// Selector returns the selector (s=).
func (s *Signer) Selector() string { return s.selector }

// PublicKey returns the public key that verifies the signatures.
func (s *Signer) PublicKey() crypto.PublicKey { return s.key.Public() }

// Sign returns raw, a complete RFC 5322 message (CRLF line endings), with a
// DKIM-Signature header field prepended. Call it on the final bytes:
// anything changed afterwards in the signed headers or the body breaks
// the signature.
func (s *Signer) Sign(raw []byte) ([]byte, error) {
	if !bytes.Contains(raw, []byte("\r\n\r\n")) && !bytes.Contains(raw, []byte("\n\n")) {
		return nil, errors.New("signing message: no blank line between header and body")
	}
	opts := &dkim.SignOptions{
		Domain:                 s.domain,
		Selector:               s.selector,
		Signer:                 s.key,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             s.headers,
	}
	var out bytes.Buffer
	out.Grow(len(raw) + 1024)
	if err := dkim.Sign(&out, bytes.NewReader(raw), opts); err != nil {
		return nil, fmt.Errorf("signing message: %w", err)
	}
	return out.Bytes(), nil
}

// Generate makes a new key: algo "rsa" (bits, default DefaultRSABits, at
// least MinRSABits) or "ed25519" (bits ignored). It returns the private key
// as PKCS#8 PEM and the public key.
func Generate(algo string, bits int) ([]byte, crypto.PublicKey, error) {
	var key crypto.Signer
	switch strings.ToLower(algo) {
	case "rsa", "":
		if bits == 0 {
			bits = DefaultRSABits
		}
		if bits < MinRSABits {
			return nil, nil, fmt.Errorf("generating key: %d-bit RSA is too weak, use %d or more", bits, MinRSABits)
		}
		if bits > 4096 {
			return nil, nil, fmt.Errorf("generating key: %d-bit RSA does not fit a DNS record comfortably, use 4096 or less", bits)
		}
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, nil, fmt.Errorf("generating key: %w", err)
		}
		key = k
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("generating key: %w", err)
		}
		key = k
	default:
		return nil, nil, fmt.Errorf("generating key: unknown key type %q (rsa or ed25519)", algo)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), key.Public(), nil
}

// TXTRecord returns the DKIM key record for pub, such as
// "v=DKIM1; k=rsa; p=MIIB...", or "" for a key type DKIM does not support.
func TXTRecord(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return ""
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k)
	default:
		return ""
	}
}

// RecordName returns where the key record goes: SELECTOR._domainkey.DOMAIN.
func RecordName(selector, domain string) string {
	return selector + "._domainkey." + strings.TrimSuffix(domain, ".")
}

// SplitTXT cuts a record value into the strings of at most 255 bytes that a
// DNS TXT record is made of.
func SplitTXT(value string) []string {
	var out []string
	for len(value) > 255 {
		out = append(out, value[:255])
		value = value[255:]
	}
	return append(out, value)
}

// ZoneLine returns a zone-file line publishing value as a TXT record at
// name, the value split into quoted strings of at most 255 bytes.
func ZoneLine(name, value string, ttl int) string {
	parts := SplitTXT(value)
	for i, p := range parts {
		parts[i] = `"` + strings.ReplaceAll(strings.ReplaceAll(p, `\`, `\\`), `"`, `\"`) + `"`
	}
	return fmt.Sprintf("%s %d IN TXT %s", dns.Fqdn(name), ttl, strings.Join(parts, " "))
}

// SamePublicKey reports whether a and b are the same RSA or Ed25519 key.
func SamePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// SecretField is the dotted path of the private key in the SMTP
// connector's config, for its Factory.SecretFields.
const SecretField = "dkim.privateKey"

// ConfigSchema is the JSON Schema (draft 2020-12) of the `dkim` block, for
// the SMTP connector's config schema to reference as a property.
var ConfigSchema = json.RawMessage(`{
  "type": "object",
  "title": "DKIM signing",
  "description": "Sign outgoing mail with DKIM (relaxed/relaxed). Generate a key with: authmail dkim keygen --domain D --selector S",
  "additionalProperties": false,
  "properties": {
    "domain": {"type": "string", "description": "Signing domain (d=), usually the From address's domain"},
    "selector": {"type": "string", "description": "Selector (s=); the public key is published at SELECTOR._domainkey.DOMAIN"},
    "privateKey": {"type": "string", "description": "PEM private key: RSA 2048 bits or more, or Ed25519", "writeOnly": true},
    "headers": {"type": "array", "items": {"type": "string"}, "description": "Header fields to sign; must include From. Default: From, To, Subject, Date, Message-ID, Reply-To, MIME-Version, Content-Type"},
    "domainName": {"type": "string", "description": "Alias of domain (nodemailer's name)"},
    "keySelector": {"type": "string", "description": "Alias of selector (nodemailer's name)"}
  }
}`)
