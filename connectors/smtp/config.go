package smtp

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/dkimkey"
)

// Defaults and bounds of the connection settings.
const (
	// ConnectionTimeoutDefault bounds the TCP connect (and TLS handshake).
	ConnectionTimeoutDefault = 10 * time.Second
	// GreetingTimeoutDefault bounds the wait for the server's first bytes.
	GreetingTimeoutDefault = 10 * time.Second
	// SocketTimeoutDefault is how long the connection may stay silent
	// while a command waits for its reply.
	SocketTimeoutDefault = 30 * time.Second
	// TimeoutMax caps every timeout: nodemailer's defaults (minutes) are
	// lowered to it, as a delivery attempt must end in bounded time.
	TimeoutMax = 2 * time.Minute
	// MaxConnectionsDefault is how many connections the pool keeps open.
	MaxConnectionsDefault = 4
	// MaxConnectionsMax bounds maxConnections.
	MaxConnectionsMax = 32
)

// Config is the connector's config: Logto's SMTP config (nodemailer
// transport options) plus authmail's maxConnections and dkim. The
// nodemailer options this connector does not use are declared as Unused;
// other keys are accepted and ignored (with a warning), as Logto passes
// its whole config to nodemailer.
type Config struct {
	connector.OtherKeys

	// Host is the SMTP server's host name or IP address. Required.
	Host string `json:"host"`
	// Port is the server's port. Required (587, 465 or 25 usually).
	Port int `json:"port"`
	// Auth holds the credentials; absent or empty for a relay that
	// authorises by source IP.
	Auth *Auth `json:"auth,omitempty"`
	// FromEmail is the sender, "addr" or "Name <addr>". Required.
	FromEmail string `json:"fromEmail"`
	// ReplyTo is the default Reply-To address, optional.
	ReplyTo string `json:"replyTo,omitempty"`
	// Secure uses implicit TLS from the first byte (port 465).
	Secure bool `json:"secure,omitempty"`
	// RequireTLS makes STARTTLS mandatory: the send fails if the server
	// does not offer it.
	RequireTLS bool `json:"requireTLS,omitempty"`
	// IgnoreTLS never uses STARTTLS, even when the server offers it.
	IgnoreTLS bool `json:"ignoreTLS,omitempty"`
	// Servername is the TLS server name (SNI and certificate check),
	// defaulting to Host.
	Servername string `json:"servername,omitempty"`
	// TLS holds Node-style TLS options.
	TLS *TLSOptions `json:"tls,omitempty"`
	// Name is the HELO/EHLO host name, defaulting to the machine's name.
	Name string `json:"name,omitempty"`
	// AuthMethod forces a SASL mechanism for login auth: PLAIN, LOGIN or
	// CRAM-MD5 (nodemailer's option). By default PLAIN, else LOGIN.
	AuthMethod string `json:"authMethod,omitempty"`
	// CustomHeaders are added to every message; a value is a string or an
	// array of strings (one header line each).
	CustomHeaders map[string]json.RawMessage `json:"customHeaders,omitempty"`
	// ConnectionTimeout bounds connecting, in milliseconds or a duration
	// string such as "10s" (default 10 s, at most 2 min).
	ConnectionTimeout json.RawMessage `json:"connectionTimeout,omitempty"`
	// GreetingTimeout bounds the wait for the greeting (default 10 s).
	GreetingTimeout json.RawMessage `json:"greetingTimeout,omitempty"`
	// SocketTimeout is how long the connection may stay silent (default 30 s).
	SocketTimeout json.RawMessage `json:"socketTimeout,omitempty"`
	// Templates are Logto's config templates, optional here.
	Templates []connector.Template `json:"templates,omitempty"`
	// MaxConnections is how many connections the pool keeps (default 4).
	MaxConnections *int `json:"maxConnections,omitempty"`
	// DKIM, when set, signs every message with the team's own key before
	// it is handed to the server (for relays that do not sign).
	DKIM *dkimkey.Config `json:"dkim,omitempty"`

	// Nodemailer options a Logto config may carry that authmail does not
	// use: logging, file and URL access, the local address, DNS timeout,
	// nodemailer's own pooling and rate limits, proxies and well-known
	// service names (give host and port instead).
	Logger            connector.Unused `json:"logger"`
	Debug             connector.Unused `json:"debug"`
	TransactionLog    connector.Unused `json:"transactionLog"`
	DisableFileAccess connector.Unused `json:"disableFileAccess"`
	DisableURLAccess  connector.Unused `json:"disableUrlAccess"`
	LocalAddress      connector.Unused `json:"localAddress"`
	DNSTimeout        connector.Unused `json:"dnsTimeout"`
	Pool              connector.Unused `json:"pool"`
	MaxMessages       connector.Unused `json:"maxMessages"`
	RateDelta         connector.Unused `json:"rateDelta"`
	RateLimit         connector.Unused `json:"rateLimit"`
	Proxy             connector.Unused `json:"proxy"`
	Service           connector.Unused `json:"service"`
	OpportunisticTLS  connector.Unused `json:"opportunisticTLS"`
}

// Auth is nodemailer's auth object: login (user and pass) or oauth2
// (user and accessToken).
type Auth struct {
	// Type is login (the default) or oauth2, in any of Logto's spellings.
	Type string `json:"type,omitempty"`
	// User is the login or the mailbox the token belongs to.
	User string `json:"user,omitempty"`
	// Pass is the password for login auth.
	Pass connector.Secret `json:"pass,omitempty"`
	// AccessToken is the OAuth2 bearer token sent with XOAUTH2.
	AccessToken connector.Secret `json:"accessToken,omitempty"`
	// ClientID is accepted for Logto compatibility; tokens are not refreshed.
	ClientID string `json:"clientId,omitempty"`
	// ClientSecret is accepted for Logto compatibility and never used.
	ClientSecret connector.Secret `json:"clientSecret,omitempty"`
	// RefreshToken is accepted for Logto compatibility and never used.
	RefreshToken connector.Secret `json:"refreshToken,omitempty"`
	// PrivateKey (service-account OAuth2) is not supported; its presence
	// is only detected so the error can say so.
	PrivateKey present `json:"privateKey,omitempty"`
	// Expires, AccessURL and ServiceClient are nodemailer's OAuth2 token
	// options, accepted for Logto compatibility and not used.
	Expires       connector.Unused `json:"expires"`
	AccessURL     connector.Unused `json:"accessUrl"`
	ServiceClient connector.Unused `json:"serviceClient"`
}

// present records that a field was given, without keeping its value.
type present bool

// UnmarshalJSON marks the field present unless it is null.
func (p *present) UnmarshalJSON(b []byte) error {
	*p = present(strings.TrimSpace(string(b)) != "null")
	return nil
}

// TLSOptions are the Node tls.connect options the connector understands;
// the other Node options (ciphers, ecdhCurve...) are accepted and ignored.
type TLSOptions struct {
	connector.OtherKeys

	// RejectUnauthorized, when false, skips certificate verification.
	RejectUnauthorized *bool `json:"rejectUnauthorized,omitempty"`
	// MinVersion is "TLSv1", "TLSv1.1", "TLSv1.2" (the default) or "TLSv1.3".
	MinVersion string `json:"minVersion,omitempty"`
	// MaxVersion caps the TLS version, in the same notation.
	MaxVersion string `json:"maxVersion,omitempty"`
	// CA is one PEM string (possibly holding several certificates) or an
	// array of them; it replaces the system roots, as in Node.
	CA json.RawMessage `json:"ca,omitempty"`
	// Servername is Node's own SNI option, used when the top-level
	// servername is empty.
	Servername string `json:"servername,omitempty"`
	// Key, Cert, PFX and Passphrase are Node's client certificate
	// options. Client certificates are not supported; a config carrying
	// them is refused rather than stored with a private key that would
	// never be used (nor redacted).
	Key        present `json:"key,omitempty"`
	Cert       present `json:"cert,omitempty"`
	PFX        present `json:"pfx,omitempty"`
	Passphrase present `json:"passphrase,omitempty"`
}

// settings is a validated config, resolved once.
type settings struct {
	host           string
	port           int
	addr           string
	secure         bool
	tlsMode        tlsMode
	tlsConfig      *tls.Config
	insecureVerify bool
	helo           string
	auth           authSettings
	from           connector.Address
	replyTo        connector.Address
	headers        []header
	connectTimeout time.Duration
	greetTimeout   time.Duration
	socketTimeout  time.Duration
	maxConns       int
	templates      []connector.Template
	signer         *dkimkey.Signer // nil when the config has no dkim block
	dkimKey        connector.Secret
}

// String summarises the settings without their secret.
func (s *settings) String() string {
	out := fmt.Sprintf("smtp %s secure=%t tlsMode=%d auth=%d user=%q", s.addr, s.secure, s.tlsMode, s.auth.kind, s.auth.user)
	if s.signer != nil {
		out += fmt.Sprintf(" dkim=%s/%s", s.signer.Selector(), s.signer.Domain())
	}
	return out
}

// GoString hides the secret from %#v.
func (s *settings) GoString() string { return s.String() }

// LogValue hides the secret from slog.
func (s *settings) LogValue() slog.Value { return slog.StringValue(s.String()) }

// tlsMode is the STARTTLS policy of a connection without implicit TLS.
type tlsMode int

const (
	tlsOpportunistic tlsMode = iota
	tlsRequired
	tlsNever
)

// authKind is how the connector authenticates.
type authKind int

const (
	authNone authKind = iota
	authLogin
	authOAuth2
)

type authSettings struct {
	kind   authKind
	user   string
	secret connector.Secret // the password or the access token
	method string           // forced SASL mechanism for login
}

// header is one extra header line.
type header struct {
	name  string
	value string
}

// protectedHeaders are built by the connector and cannot be overridden.
var protectedHeaders = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Reply-To": true, "Sender": true,
	"Subject": true, "Date": true, "Message-Id": true, "Mime-Version": true,
	"Content-Type": true, "Content-Transfer-Encoding": true, "Return-Path": true,
}

// settings validates the config and resolves it.
func (c *Config) settings() (*settings, error) {
	s := &settings{secure: c.Secure, templates: c.Templates}
	steps := []func(*Config, *settings) error{
		checkServer, checkTLS, checkAuth, checkAddresses, checkHeaders, checkTimeouts, checkTemplates, checkDKIM,
	}
	for _, step := range steps {
		if err := step(c, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func checkServer(c *Config, s *settings) error {
	host := strings.TrimSpace(c.Host)
	if host == "" {
		return connector.InvalidConfig("host", "is required, such as smtp.example.com")
	}
	if strings.ContainsAny(host, " /:@") && net.ParseIP(host) == nil {
		return connector.InvalidConfig("host", "must be a host name or IP address only, without scheme, port or path")
	}
	if c.Port < 1 || c.Port > 65535 {
		return connector.InvalidConfig("port", "must be between 1 and 65535 (587 for STARTTLS, 465 for implicit TLS)")
	}
	if c.Secure && (c.Port == 587 || c.Port == 25) {
		return connector.InvalidConfig("secure", "port %d speaks plain SMTP first; set secure to false (STARTTLS is used) or use port 465", c.Port)
	}
	if !c.Secure && c.Port == 465 {
		return connector.InvalidConfig("secure", "port 465 expects implicit TLS; set secure to true")
	}
	if c.RequireTLS && c.IgnoreTLS {
		return connector.InvalidConfig("ignoreTLS", "contradicts requireTLS; keep only one of them")
	}
	name := strings.TrimSpace(c.Name)
	for _, r := range name {
		if r <= ' ' || r > '~' {
			return connector.InvalidConfig("name", "must be an ASCII host name without spaces (servers reject others in HELO)")
		}
	}
	s.host, s.port, s.helo = host, c.Port, name
	s.addr = net.JoinHostPort(host, strconv.Itoa(c.Port))
	switch {
	case c.IgnoreTLS:
		s.tlsMode = tlsNever
	case c.RequireTLS:
		s.tlsMode = tlsRequired
	}
	s.maxConns = MaxConnectionsDefault
	if c.MaxConnections != nil {
		if *c.MaxConnections < 1 || *c.MaxConnections > MaxConnectionsMax {
			return connector.InvalidConfig("maxConnections", "must be between 1 and %d", MaxConnectionsMax)
		}
		s.maxConns = *c.MaxConnections
	}
	return nil
}

var tlsVersions = map[string]uint16{
	"TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13,
}

func checkTLS(c *Config, s *settings) error {
	opts := c.TLS
	if opts == nil {
		opts = &TLSOptions{}
	}
	serverName := strings.TrimSpace(c.Servername)
	if serverName == "" {
		serverName = strings.TrimSpace(opts.Servername)
	}
	if serverName == "" {
		serverName = s.host
	}
	for _, o := range []struct {
		field string
		given present
	}{{"tls.key", opts.Key}, {"tls.cert", opts.Cert}, {"tls.pfx", opts.PFX}, {"tls.passphrase", opts.Passphrase}} {
		if o.given {
			return connector.InvalidConfig(o.field, "client certificates are not supported; remove tls.key, tls.cert, tls.pfx and tls.passphrase")
		}
	}
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if opts.MinVersion != "" {
		v, ok := tlsVersions[opts.MinVersion]
		if !ok {
			return connector.InvalidConfig("tls.minVersion", "must be one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3")
		}
		cfg.MinVersion = v
	}
	if opts.MaxVersion != "" {
		v, ok := tlsVersions[opts.MaxVersion]
		if !ok {
			return connector.InvalidConfig("tls.maxVersion", "must be one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3")
		}
		if v < cfg.MinVersion {
			return connector.InvalidConfig("tls.maxVersion", "is below tls.minVersion")
		}
		cfg.MaxVersion = v
	}
	if opts.RejectUnauthorized != nil && !*opts.RejectUnauthorized {
		cfg.InsecureSkipVerify = true
		s.insecureVerify = true
	}
	pool, err := parseCA(opts.CA)
	if err != nil {
		return err
	}
	cfg.RootCAs = pool
	s.tlsConfig = cfg
	return nil
}

// parseCA reads tls.ca: a PEM string or an array of PEM strings.
func parseCA(raw json.RawMessage) (*x509.CertPool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var pems []string
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		pems = []string{one}
	} else if err := json.Unmarshal(raw, &pems); err != nil {
		return nil, connector.InvalidConfig("tls.ca", "must be a PEM string or an array of PEM strings")
	}
	pool, added := x509.NewCertPool(), 0
	for _, p := range pems {
		if strings.TrimSpace(p) == "" {
			continue
		}
		if !pool.AppendCertsFromPEM([]byte(p)) {
			return nil, connector.InvalidConfig("tls.ca", "holds no valid PEM certificate")
		}
		added++
	}
	if added == 0 {
		return nil, nil
	}
	return pool, nil
}

func checkAuth(c *Config, s *settings) error {
	a := c.Auth
	method := strings.ToUpper(strings.TrimSpace(c.AuthMethod))
	switch method {
	case "", "PLAIN", "LOGIN", "CRAM-MD5":
	default:
		return connector.InvalidConfig("authMethod", "must be PLAIN, LOGIN or CRAM-MD5")
	}
	if a == nil {
		return nil
	}
	switch a.Type {
	case "", "login", "Login", "LOGIN":
		if a.User == "" && a.Pass == "" {
			return nil // a relay that authorises by source IP
		}
		if a.User == "" {
			return connector.InvalidConfig("auth.user", "is required with a password")
		}
		if a.Pass == "" {
			return connector.InvalidConfig("auth.pass", "is required with a user (remove both for an IP-authorised relay)")
		}
		s.auth = authSettings{kind: authLogin, user: a.User, secret: a.Pass, method: method}
	case "oauth2", "OAuth2", "OAUTH2":
		if a.User == "" {
			return connector.InvalidConfig("auth.user", "is required for oauth2: the mailbox the token belongs to")
		}
		if a.AccessToken == "" {
			if a.PrivateKey {
				return connector.InvalidConfig("auth.privateKey", "service-account OAuth2 is not supported; give an accessToken")
			}
			return connector.InvalidConfig("auth.accessToken", "is required: tokens are not refreshed from clientId, clientSecret or refreshToken")
		}
		s.auth = authSettings{kind: authOAuth2, user: a.User, secret: a.AccessToken}
	default:
		return connector.InvalidConfig("auth.type", "must be login or oauth2")
	}
	return nil
}

func checkAddresses(c *Config, s *settings) error {
	if strings.TrimSpace(c.FromEmail) == "" {
		return connector.InvalidConfig("fromEmail", "is required, such as \"Acme <no-reply@acme.com>\"")
	}
	from, err := connector.ParseAddress(c.FromEmail)
	if err != nil {
		return connector.InvalidConfig("fromEmail", "must be an address or \"Name <address>\"")
	}
	s.from = from
	if strings.TrimSpace(c.ReplyTo) != "" {
		r, err := connector.ParseAddress(c.ReplyTo)
		if err != nil {
			return connector.InvalidConfig("replyTo", "must be an address or \"Name <address>\"")
		}
		s.replyTo = r
	}
	return nil
}

func checkHeaders(c *Config, s *settings) error {
	names := make([]string, 0, len(c.CustomHeaders))
	for k := range c.CustomHeaders {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		field := "customHeaders." + k
		name, ok := headerName(k)
		if !ok {
			return connector.InvalidConfig(field, "is not a valid header name")
		}
		if protectedHeaders[name] {
			return connector.InvalidConfig(field, "is set by the connector; use fromEmail, replyTo or the template instead")
		}
		var vals []string
		var one string
		raw := c.CustomHeaders[k]
		if err := json.Unmarshal(raw, &one); err == nil {
			vals = []string{one}
		} else if err := json.Unmarshal(raw, &vals); err != nil {
			return connector.InvalidConfig(field, "must be a string or an array of strings")
		}
		for _, v := range vals {
			s.headers = append(s.headers, header{name: name, value: connector.StripControl(v)})
		}
	}
	return nil
}

// maxHeaderName bounds a header field name to a mail line (RFC 5322).
const maxHeaderName = 998

// headerName canonicalises a header field name, reporting whether it is valid.
func headerName(k string) (string, bool) {
	if !connector.HeaderName(k, maxHeaderName) {
		return "", false
	}
	return textproto.CanonicalMIMEHeaderKey(k), true
}

func checkTimeouts(c *Config, s *settings) error {
	var err error
	if s.connectTimeout, err = timeout("connectionTimeout", c.ConnectionTimeout, ConnectionTimeoutDefault); err != nil {
		return err
	}
	if s.greetTimeout, err = timeout("greetingTimeout", c.GreetingTimeout, GreetingTimeoutDefault); err != nil {
		return err
	}
	s.socketTimeout, err = timeout("socketTimeout", c.SocketTimeout, SocketTimeoutDefault)
	return err
}

// timeout reads a millisecond (or duration string) timeout, capped at TimeoutMax.
func timeout(field string, raw json.RawMessage, def time.Duration) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	var d connector.Duration
	if err := d.UnmarshalJSON(raw); err != nil {
		return 0, connector.InvalidConfig(field, "%v", err)
	}
	return min(d.Or(def), TimeoutMax), nil
}

func checkTemplates(c *Config, _ *settings) error {
	for i, t := range c.Templates {
		field := fmt.Sprintf("templates.%d", i)
		switch {
		case t.UsageType == "":
			return connector.InvalidConfig(field+".usageType", "is required, such as SignIn")
		case t.ContentType != "" && t.ContentType != "text/html" && t.ContentType != "text/plain":
			return connector.InvalidConfig(field+".contentType", "must be text/html or text/plain")
		case strings.TrimSpace(t.Subject) == "":
			return connector.InvalidConfig(field+".subject", "is required")
		case strings.TrimSpace(t.Content) == "":
			return connector.InvalidConfig(field+".content", "is required")
		}
	}
	return nil
}

// checkDKIM builds the signer of the optional dkim block. Its errors name
// dkim.domain, dkim.selector, dkim.privateKey or dkim.headers and never
// carry the key.
func checkDKIM(c *Config, s *settings) error {
	if c.DKIM == nil {
		return nil
	}
	signer, err := c.DKIM.Signer()
	if err != nil {
		return err
	}
	s.signer, s.dkimKey = signer, c.DKIM.PrivateKey
	return nil
}
