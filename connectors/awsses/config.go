package awsses

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/authmail/authmail/connector"
)

// DefaultTimeout bounds one SendEmail call when the config sets no timeout.
const DefaultTimeout = 10 * time.Second

// MaxTimeout is the largest timeout a config may ask for.
const MaxTimeout = 2 * time.Minute

// Config is the AWS SES connector's config. It accepts Logto's
// `aws-ses-mail` config unchanged; senderName, replyTo, sessionToken,
// endpoint and timeout are authmail additions.
type Config struct {
	// Keys the connector does not know are ignored, as Logto does.
	connector.OtherKeys

	// AccessKeyID is the IAM access key ID. Required (with
	// AccessKeySecret) unless Credentials is CredentialsAmbient.
	AccessKeyID string `json:"accessKeyId,omitempty"`
	// AccessKeySecret is the IAM secret access key.
	AccessKeySecret connector.Secret `json:"accessKeySecret,omitempty"`
	// SessionToken is the session token of temporary credentials (STS).
	SessionToken connector.Secret `json:"sessionToken,omitempty"`
	// Credentials says where the credentials come from: CredentialsKeys
	// (the default) or CredentialsAmbient, the host's standard AWS chain
	// (environment, shared config, SSO, web identity, ECS, EC2 IMDS). The
	// host's credentials are used only when the config asks for them.
	Credentials string `json:"credentials,omitempty"`
	// AmbientCredentialsToEndpoint lets ambient credentials sign requests
	// to Endpoint. Without it that combination is refused, so that an
	// endpoint override never receives the host's credentials by mistake.
	AmbientCredentialsToEndpoint bool `json:"ambientCredentialsToEndpoint,omitempty"`
	// Region is the SES region, such as "us-east-1". Required.
	Region string `json:"region"`
	// EmailAddress is the verified sender, a bare address or "Name <addr>".
	// Required.
	EmailAddress string `json:"emailAddress"`
	// SenderName is the sender display name; it replaces a name given in
	// EmailAddress.
	SenderName string `json:"senderName,omitempty"`
	// EmailAddressIdentityArn is SES's FromEmailAddressIdentityArn, for
	// sending authorization across accounts.
	EmailAddressIdentityArn string `json:"emailAddressIdentityArn,omitempty"`
	// FeedbackForwardingEmailAddress receives bounces and complaints.
	FeedbackForwardingEmailAddress string `json:"feedbackForwardingEmailAddress,omitempty"`
	// FeedbackForwardingEmailAddressIdentityArn is the identity ARN of the
	// feedback forwarding address.
	FeedbackForwardingEmailAddressIdentityArn string `json:"feedbackForwardingEmailAddressIdentityArn,omitempty"`
	// ConfigurationSetName is the SES configuration set to send with.
	ConfigurationSetName string `json:"configurationSetName,omitempty"`
	// ReplyTo is the default reply-to address, bare or "Name <addr>".
	ReplyTo string `json:"replyTo,omitempty"`
	// Endpoint replaces the SES API base URL, for a VPC endpoint, a proxy
	// or tests. https, or http on loopback only.
	Endpoint string `json:"endpoint,omitempty"`
	// Timeout bounds one send, in milliseconds or as "10s". Default 10s.
	Timeout connector.Duration `json:"timeout,omitempty"`
	// Templates are Logto's config templates, used when no stored template
	// matches. The content is HTML, as in Logto.
	Templates []connector.Template `json:"templates,omitempty"`
}

// The values of Config.Credentials.
const (
	// CredentialsKeys signs with the config's accessKeyId and
	// accessKeySecret (and sessionToken).
	CredentialsKeys = "keys"
	// CredentialsAmbient signs with the host's standard AWS credential
	// chain.
	CredentialsAmbient = "ambient"
)

// settings is a validated config, resolved once.
type settings struct {
	cfg      Config
	from     connector.Address
	replyTo  connector.Address
	endpoint *url.URL
	timeout  time.Duration
}

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// settings validates the config and resolves it.
func (c *Config) settings(allowInsecure bool) (*settings, error) {
	cfg := *c
	cfg.Region = strings.TrimSpace(cfg.Region)
	s := &settings{cfg: cfg}
	if err := s.validateCredentials(); err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		return nil, connector.InvalidConfig("region", "is required, such as us-east-1")
	}
	if !regionPattern.MatchString(cfg.Region) {
		return nil, connector.InvalidConfig("region", "%q is not an AWS region name such as us-east-1", cfg.Region)
	}
	if err := s.resolveAddresses(); err != nil {
		return nil, err
	}
	if cfg.Endpoint != "" {
		u, err := connector.CheckEndpoint("endpoint", cfg.Endpoint, allowInsecure)
		if err != nil {
			return nil, err
		}
		if s.ambient() && !cfg.AmbientCredentialsToEndpoint {
			return nil, connector.InvalidConfig("endpoint", "would receive requests signed with the host's AWS credentials (credentials is %q); "+
				"give accessKeyId and accessKeySecret, or set ambientCredentialsToEndpoint to true if the endpoint is yours (a VPC endpoint)", CredentialsAmbient)
		}
		s.endpoint = u
	}
	s.timeout = cfg.Timeout.Or(DefaultTimeout)
	if s.timeout > MaxTimeout {
		return nil, connector.InvalidConfig("timeout", "must be at most %s", MaxTimeout)
	}
	if err := checkTemplates(cfg.Templates); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *settings) validateCredentials() error {
	id, secret, token := strings.TrimSpace(s.cfg.AccessKeyID), s.cfg.AccessKeySecret.Reveal(), s.cfg.SessionToken.Reveal()
	switch s.cfg.Credentials {
	case "", CredentialsKeys:
		if id == "" && secret == "" && token == "" {
			return connector.InvalidConfig("accessKeyId", "is required, with accessKeySecret; to use the host's AWS credentials (environment, instance or task role) instead, set credentials to %q", CredentialsAmbient)
		}
	case CredentialsAmbient:
		if id != "" || secret != "" || token != "" {
			return connector.InvalidConfig("credentials", "is %q, which uses the host's AWS credentials, but the config has keys too; remove the keys or credentials", CredentialsAmbient)
		}
		return nil
	default:
		return connector.InvalidConfig("credentials", "must be %q or %q", CredentialsKeys, CredentialsAmbient)
	}
	switch {
	case id != "" && secret == "":
		return connector.InvalidConfig("accessKeySecret", "is required when accessKeyId is set")
	case id == "" && secret != "":
		return connector.InvalidConfig("accessKeyId", "is required when accessKeySecret is set")
	case id == "" && token != "":
		return connector.InvalidConfig("sessionToken", "needs accessKeyId and accessKeySecret")
	}
	s.cfg.AccessKeyID = id
	return nil
}

func (s *settings) resolveAddresses() error {
	cfg := s.cfg
	var err error
	if s.from, err = connector.ConfigSender("emailAddress", cfg.EmailAddress, cfg.SenderName, "the verified sender address"); err != nil {
		return err
	}
	if s.replyTo, err = connector.ConfigAddress("replyTo", cfg.ReplyTo); err != nil {
		return err
	}
	_, err = connector.ConfigAddress("feedbackForwardingEmailAddress", cfg.FeedbackForwardingEmailAddress)
	return err
}

// checkTemplates checks the usage type of every config template.
func checkTemplates(ts []connector.Template) error {
	for i, t := range ts {
		if !t.UsageType.Valid() {
			return connector.InvalidConfig(fmt.Sprintf("templates.%d.usageType", i), "%q is not a usage type", t.UsageType)
		}
	}
	return nil
}

// ambient reports whether the config uses the host's credential chain.
func (s *settings) ambient() bool { return s.cfg.Credentials == CredentialsAmbient }

// secrets returns the secret values to mask in provider messages.
func (s *settings) secrets() []string {
	return []string{s.cfg.AccessKeySecret.Reveal(), s.cfg.SessionToken.Reveal()}
}
