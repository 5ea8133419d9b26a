package postmark

import (
	"fmt"
	"strings"
	"time"

	"github.com/authmail/authmail/connector"
)

// DefaultEndpoint is Postmark's API base URL.
const DefaultEndpoint = "https://api.postmarkapp.com"

// DefaultMessageStream is the transactional stream every server has.
const DefaultMessageStream = "outbound"

// DefaultTimeout bounds one call to Postmark when the config sets none.
const DefaultTimeout = 10 * time.Second

// Config is the Postmark connector's config. It accepts the config of
// Logto's postmark-mail connector unchanged (serverToken, fromEmail,
// templates); the other fields are authmail additions. Keys it does not
// know are ignored, as Logto does.
type Config struct {
	connector.OtherKeys

	// ServerToken is the Postmark server API token. Required.
	ServerToken connector.Secret `json:"serverToken"`
	// FromEmail is a confirmed sender signature or an address on a
	// verified domain. Required.
	FromEmail string `json:"fromEmail"`
	// FromName is the sender display name. Optional.
	FromName string `json:"fromName,omitempty"`
	// Templates map usage types to Postmark template aliases.
	Templates []Template `json:"templates,omitempty"`
	// ReplyTo is the default Reply-To address. Optional.
	ReplyTo string `json:"replyTo,omitempty"`
	// MessageStream is the Postmark message stream. Default "outbound".
	MessageStream string `json:"messageStream,omitempty"`
	// Endpoint replaces the API base URL (proxies, tests).
	Endpoint string `json:"endpoint,omitempty"`
	// Timeout bounds one API call, in milliseconds or as "10s". Default 10s.
	Timeout connector.Duration `json:"timeout,omitempty"`
}

// Template is one entry of Logto's templates array.
type Template struct {
	// UsageType is the usage type, such as "SignIn".
	UsageType string `json:"usageType"`
	// TemplateAlias is the alias of a template on the Postmark server.
	TemplateAlias string `json:"templateAlias"`
}

// defaultAliases are the template aliases Logto's console pre-fills.
var defaultAliases = map[connector.UsageType]string{
	connector.UsageSignIn:                   "logto-sign-in",
	connector.UsageRegister:                 "logto-register",
	connector.UsageForgotPassword:           "logto-forgot-password",
	connector.UsageOrganizationInvitation:   "logto-organization-invitation",
	connector.UsageGeneric:                  "logto-generic",
	connector.UsageUserPermissionValidation: "logto-user-permission-validation",
	connector.UsageBindNewIdentifier:        "logto-bind-new-identifier",
	connector.UsageMfaVerification:          "logto-mfa-verification",
	connector.UsageBindMfa:                  "logto-bind-mfa",
}

// settings is a validated config, resolved once.
type settings struct {
	token   string
	from    connector.Address
	replyTo connector.Address
	aliases map[string]string
	stream  string
	baseURL string
	timeout time.Duration
}

// resolve validates cfg and turns it into settings.
func (cfg *Config) resolve(env connector.Env) (*settings, error) {
	s := &settings{token: strings.TrimSpace(cfg.ServerToken.Reveal()), timeout: cfg.Timeout.Or(DefaultTimeout), aliases: map[string]string{}}
	if s.token == "" {
		return nil, connector.InvalidConfig("serverToken", "is required: the server API token from Postmark")
	}
	var err error
	if s.from, err = connector.ConfigSender("fromEmail", cfg.FromEmail, cfg.FromName, ""); err != nil {
		return nil, err
	}
	if s.replyTo, err = connector.ConfigAddress("replyTo", cfg.ReplyTo); err != nil {
		return nil, err
	}
	for i, t := range cfg.Templates {
		field := fmt.Sprintf("templates.%d", i)
		if strings.TrimSpace(t.UsageType) == "" {
			return nil, connector.InvalidConfig(field+".usageType", "is required")
		}
		if strings.TrimSpace(t.TemplateAlias) == "" {
			return nil, connector.InvalidConfig(field+".templateAlias", "is required")
		}
		if !connector.UsageType(t.UsageType).Valid() {
			env.Logger.Warn("postmark template for an unknown usage type is ignored", "usageType", t.UsageType)
		}
		if _, dup := s.aliases[t.UsageType]; !dup {
			s.aliases[t.UsageType] = strings.TrimSpace(t.TemplateAlias)
		}
	}
	s.stream = strings.TrimSpace(cfg.MessageStream)
	if s.stream == "" {
		s.stream = DefaultMessageStream
	}
	endpoint := DefaultEndpoint
	if cfg.Endpoint != "" {
		endpoint = cfg.Endpoint
	}
	u, err := connector.CheckEndpoint("endpoint", endpoint, env.AllowInsecureEndpoint)
	if err != nil {
		return nil, err
	}
	v := *u
	v.RawQuery, v.Fragment = "", ""
	s.baseURL = strings.TrimRight(v.String(), "/")
	return s, nil
}

// alias returns the template alias for u, else Generic's.
func (s *settings) alias(u connector.UsageType) (string, bool) {
	if a, ok := s.aliases[string(u)]; ok {
		return a, true
	}
	a, ok := s.aliases[string(connector.UsageGeneric)]
	return a, ok
}
