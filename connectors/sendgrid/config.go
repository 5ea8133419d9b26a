package sendgrid

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/authmail/authmail/connector"
)

// DefaultEndpoint is SendGrid's global API base URL.
const DefaultEndpoint = "https://api.sendgrid.com"

// DefaultTimeout bounds one call to SendGrid when the config sets none.
const DefaultTimeout = 10 * time.Second

// maxCategories is SendGrid's limit of categories on one message.
const maxCategories = 10

// Config is the SendGrid connector's config. It accepts the config of
// Logto's sendgrid-email-service connector unchanged (apiKey, fromEmail,
// fromName, templates); the other fields are authmail additions. Keys it
// does not know are ignored, as Logto does.
type Config struct {
	connector.OtherKeys

	// APIKey is a SendGrid API key with the "Mail Send" permission. Required.
	APIKey connector.Secret `json:"apiKey"`
	// FromEmail is the verified sender address. Required.
	FromEmail string `json:"fromEmail"`
	// FromName is the sender display name. Optional.
	FromName string `json:"fromName,omitempty"`
	// Templates are Logto's per-usage-type templates, optionally naming a
	// SendGrid dynamic template. Optional in authmail.
	Templates []Template `json:"templates,omitempty"`
	// ReplyTo is the default Reply-To address. Optional.
	ReplyTo string `json:"replyTo,omitempty"`
	// Categories tag every message for SendGrid's statistics (at most 10).
	Categories []string `json:"categories,omitempty"`
	// Endpoint replaces the API base URL, such as the EU
	// https://api.eu.sendgrid.com. Default https://api.sendgrid.com.
	Endpoint string `json:"endpoint,omitempty"`
	// Timeout bounds one API call, in milliseconds or as "10s". Default 10s.
	Timeout connector.Duration `json:"timeout,omitempty"`
}

// Template is one entry of Logto's templates array. Note that Logto names
// the content type field "type". TemplateID is an authmail addition.
type Template struct {
	// UsageType is the usage type, such as "SignIn" or "Generic".
	UsageType string `json:"usageType"`
	// Type is "text/html" or "text/plain".
	Type string `json:"type,omitempty"`
	// Subject is the subject template.
	Subject string `json:"subject,omitempty"`
	// Content is the body template.
	Content string `json:"content,omitempty"`
	// TemplateID names a SendGrid dynamic template (d-...) that renders
	// this usage type on SendGrid's side with the payload as its data.
	TemplateID string `json:"templateId,omitempty"`
}

// settings is a validated config, resolved once.
type settings struct {
	apiKey     string
	from       connector.Address
	replyTo    connector.Address
	templates  []Template
	categories []string
	host       string
	timeout    time.Duration
}

// resolve validates cfg and turns it into settings.
func (cfg *Config) resolve(env connector.Env) (*settings, error) {
	s := &settings{apiKey: strings.TrimSpace(cfg.APIKey.Reveal()), timeout: cfg.Timeout.Or(DefaultTimeout)}
	if s.apiKey == "" {
		return nil, connector.InvalidConfig("apiKey", "is required: create a key with the Mail Send permission in SendGrid")
	}
	var err error
	if s.from, err = connector.ConfigSender("fromEmail", cfg.FromEmail, cfg.FromName, ""); err != nil {
		return nil, err
	}
	if s.replyTo, err = connector.ConfigAddress("replyTo", cfg.ReplyTo); err != nil {
		return nil, err
	}
	if err := checkTemplates(cfg.Templates, env.Logger); err != nil {
		return nil, err
	}
	s.templates = cfg.Templates
	if len(cfg.Categories) > maxCategories {
		return nil, connector.InvalidConfig("categories", "has %d entries; SendGrid allows at most %d", len(cfg.Categories), maxCategories)
	}
	for i, c := range cfg.Categories {
		c = strings.TrimSpace(connector.StripControl(c))
		if c == "" || len(c) > 255 {
			return nil, connector.InvalidConfig(fmt.Sprintf("categories.%d", i), "must be 1 to 255 characters")
		}
		s.categories = append(s.categories, c)
	}
	endpoint := DefaultEndpoint
	if cfg.Endpoint != "" {
		endpoint = cfg.Endpoint
	}
	u, err := connector.CheckEndpoint("endpoint", endpoint, env.AllowInsecureEndpoint)
	if err != nil {
		return nil, err
	}
	s.host = baseURL(u)
	return s, nil
}

// baseURL is u without query or fragment and without a trailing slash.
func baseURL(u *url.URL) string {
	v := *u
	v.RawQuery, v.Fragment = "", ""
	return strings.TrimRight(v.String(), "/")
}

// checkTemplates validates the templates array. Unknown usage types (such
// as Logto's deprecated "Test") are accepted and ignored.
func checkTemplates(ts []Template, log *slog.Logger) error {
	for i, t := range ts {
		field := fmt.Sprintf("templates.%d", i)
		if strings.TrimSpace(t.UsageType) == "" {
			return connector.InvalidConfig(field+".usageType", "is required")
		}
		if t.Type != "" && t.Type != "text/html" && t.Type != "text/plain" {
			return connector.InvalidConfig(field+".type", "must be text/html or text/plain")
		}
		if !connector.UsageType(t.UsageType).Valid() && log != nil {
			log.Warn("sendgrid template for an unknown usage type is ignored", "usageType", t.UsageType)
		}
	}
	return nil
}

// template returns the entry for usage type u, else the Generic one.
func (s *settings) template(u connector.UsageType) (Template, bool) {
	for _, t := range s.templates {
		if t.UsageType == string(u) {
			return t, true
		}
	}
	for _, t := range s.templates {
		if t.UsageType == string(connector.UsageGeneric) {
			return t, true
		}
	}
	return Template{}, false
}
