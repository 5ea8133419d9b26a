package aliyundm

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/authmail/authmail/connector"
)

// DefaultTimeout bounds one SingleSendMail call when the config sets none.
const DefaultTimeout = 10 * time.Second

// MaxTimeout is the largest timeout a config may ask for.
const MaxTimeout = 2 * time.Minute

// DefaultRegion is the region Logto uses when regionId is absent.
const DefaultRegion = "cn-hangzhou"

// endpoints are DirectMail's public API endpoints by region. Sender
// addresses are region-scoped: use the region the address was created in.
var endpoints = map[string]string{
	"cn-hangzhou":    "https://dm.aliyuncs.com/",
	"ap-southeast-1": "https://dm.ap-southeast-1.aliyuncs.com/",
	"ap-southeast-2": "https://dm.ap-southeast-2.aliyuncs.com/",
	"eu-central-1":   "https://dm.eu-central-1.aliyuncs.com/",
	"us-east-1":      "https://dm.us-east-1.aliyuncs.com/",
}

// Config is the DirectMail connector's config. It accepts Logto's
// `aliyun-direct-mail` config unchanged; replyTo, consoleReplyTo, tagName,
// endpoint and timeout are authmail additions.
type Config struct {
	// Keys the connector does not know are ignored, as Logto does.
	connector.OtherKeys

	// AccessKeyID is the RAM user's AccessKey ID. Required.
	AccessKeyID string `json:"accessKeyId"`
	// AccessKeySecret is the RAM user's AccessKey secret. Required.
	AccessKeySecret connector.Secret `json:"accessKeySecret"`
	// RegionID is the DirectMail region; default cn-hangzhou.
	RegionID string `json:"regionId,omitempty"`
	// AccountName is the sender address created in the DirectMail console
	// of that region. Required.
	AccountName string `json:"accountName"`
	// FromAlias is the sender display name (DirectMail allows up to 15
	// characters).
	FromAlias string `json:"fromAlias,omitempty"`
	// ReplyTo is the reply-to address, bare or "Name <addr>" (sent as
	// ReplyAddress and ReplyAddressAlias).
	ReplyTo string `json:"replyTo,omitempty"`
	// ConsoleReplyTo asks DirectMail to use the reply-to address verified
	// in its console (ReplyToAddress=true) when no replyTo applies.
	ConsoleReplyTo bool `json:"consoleReplyTo,omitempty"`
	// TagName is an email tag created in the DirectMail console.
	TagName string `json:"tagName,omitempty"`
	// Endpoint replaces the region's API endpoint, for in-cloud private
	// (VPC) endpoints, proxies or tests. https, or http on loopback only.
	Endpoint string `json:"endpoint,omitempty"`
	// Timeout bounds one send, in milliseconds or as "10s". Default 10s.
	Timeout connector.Duration `json:"timeout,omitempty"`
	// Templates are Logto's config templates, used when no stored template
	// matches. The content is HTML, as in Logto.
	Templates []connector.Template `json:"templates,omitempty"`
}

// settings is a validated config, resolved once.
type settings struct {
	cfg      Config
	from     connector.Address
	replyTo  connector.Address
	endpoint string
	timeout  time.Duration
}

var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// settings validates the config and resolves it.
func (c *Config) settings(allowInsecure bool) (*settings, error) {
	cfg := *c
	cfg.AccessKeyID = strings.TrimSpace(cfg.AccessKeyID)
	if cfg.AccessKeyID == "" {
		return nil, connector.InvalidConfig("accessKeyId", "is required")
	}
	if cfg.AccessKeySecret == "" {
		return nil, connector.InvalidConfig("accessKeySecret", "is required")
	}
	if cfg.RegionID == "" {
		cfg.RegionID = DefaultRegion
	}
	s := &settings{cfg: cfg, endpoint: endpoints[cfg.RegionID]}
	if s.endpoint == "" {
		return nil, connector.InvalidConfig("regionId", "%q is not a DirectMail region (cn-hangzhou, ap-southeast-1, ap-southeast-2, eu-central-1, us-east-1)", cfg.RegionID)
	}
	if err := s.resolveAddresses(); err != nil {
		return nil, err
	}
	if cfg.TagName != "" && !tagPattern.MatchString(cfg.TagName) {
		return nil, connector.InvalidConfig("tagName", "must be 1-128 letters, digits, _ or -")
	}
	if cfg.Endpoint != "" {
		u, err := connector.CheckEndpoint("endpoint", cfg.Endpoint, allowInsecure)
		if err != nil {
			return nil, err
		}
		s.endpoint = endpointURL(u)
	}
	s.timeout = cfg.Timeout.Or(DefaultTimeout)
	if s.timeout > MaxTimeout {
		return nil, connector.InvalidConfig("timeout", "must be at most %s", MaxTimeout)
	}
	for i, t := range cfg.Templates {
		if !t.UsageType.Valid() {
			return nil, connector.InvalidConfig(fmt.Sprintf("templates.%d.usageType", i), "%q is not a usage type", t.UsageType)
		}
	}
	return s, nil
}

// endpointURL keeps the override's path, defaulting to "/".
func endpointURL(u *url.URL) string {
	v := *u
	if v.Path == "" {
		v.Path = "/"
	}
	v.RawQuery, v.Fragment = "", ""
	return v.String()
}

func (s *settings) resolveAddresses() error {
	cfg := s.cfg
	if strings.TrimSpace(cfg.AccountName) == "" {
		return connector.InvalidConfig("accountName", "is required: the sender address created in the DirectMail console")
	}
	a, err := connector.ParseAddress(cfg.AccountName)
	if err != nil || a.Name != "" {
		return connector.InvalidConfig("accountName", "must be a bare email address such as no-reply@mail.example.com")
	}
	a.Name = strings.TrimSpace(connector.StripControl(cfg.FromAlias))
	s.from = a
	s.replyTo, err = connector.ConfigAddress("replyTo", cfg.ReplyTo)
	return err
}
