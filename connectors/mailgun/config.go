package mailgun

import (
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/authmail/authmail/connector"
)

// Regional API base URLs (without the /v3 version path).
const (
	EndpointUS = "https://api.mailgun.net"
	EndpointEU = "https://api.eu.mailgun.net"
)

// DefaultTimeout bounds one call to Mailgun when the config sets none.
const DefaultTimeout = 10 * time.Second

// Config is the Mailgun connector's config. It accepts the config of
// Logto's mailgun-email connector unchanged (endpoint, domain, apiKey,
// from, deliveries); the other fields are authmail additions. Keys it does
// not know are ignored, as Logto does.
type Config struct {
	connector.OtherKeys

	// Endpoint replaces the API base URL. Logto requires it to end with
	// .mailgun.net; authmail takes any https URL (proxies, tests).
	Endpoint string `json:"endpoint,omitempty"`
	// Region picks the default endpoint: "us" (default) or "eu".
	Region string `json:"region,omitempty"`
	// Domain is the sending domain as registered in Mailgun. Required.
	Domain string `json:"domain"`
	// APIKey is a Mailgun API key or domain sending key. Required.
	APIKey connector.Secret `json:"apiKey"`
	// From is the full sender, such as "Example <no-reply@mg.example.com>". Required.
	From string `json:"from"`
	// FromName replaces the display name of From. Optional.
	FromName string `json:"fromName,omitempty"`
	// ReplyTo is the default Reply-To address. Optional.
	ReplyTo string `json:"replyTo,omitempty"`
	// Deliveries maps a usage type to raw content or a hosted template.
	Deliveries map[string]Delivery `json:"deliveries,omitempty"`
	// Timeout bounds one API call, in milliseconds or as "10s". Default 10s.
	Timeout connector.Duration `json:"timeout,omitempty"`
}

// Delivery is one entry of Logto's deliveries map: raw content (HTML
// required) or a template hosted in Mailgun.
type Delivery struct {
	// HTML is the raw variant's HTML body template.
	HTML string `json:"html,omitempty"`
	// Text is the raw variant's optional text body template.
	Text string `json:"text,omitempty"`
	// Template is the name of a template stored in Mailgun.
	Template string `json:"template,omitempty"`
	// Variables are extra template variables; the payload is merged over them.
	Variables map[string]any `json:"variables,omitempty"`
	// Subject is the subject template.
	Subject string `json:"subject,omitempty"`
	// ReplyTo is this usage type's Reply-To address.
	ReplyTo string `json:"replyTo,omitempty"`
}

// hosted reports whether d uses a Mailgun-hosted template.
func (d Delivery) hosted() bool { return d.Template != "" }

// settings is a validated config, resolved once.
type settings struct {
	apiBase    string
	domain     string
	apiKey     string
	from       connector.Address
	replyTo    connector.Address
	deliveries map[connector.UsageType]Delivery
	timeout    time.Duration
}

// resolve validates cfg and turns it into settings.
func (cfg *Config) resolve(env connector.Env) (*settings, error) {
	s := &settings{
		domain:  strings.TrimSpace(cfg.Domain),
		apiKey:  strings.TrimSpace(cfg.APIKey.Reveal()),
		timeout: cfg.Timeout.Or(DefaultTimeout),
	}
	if s.domain == "" {
		return nil, connector.InvalidConfig("domain", "is required: the sending domain registered in Mailgun")
	}
	if strings.ContainsAny(s.domain, ":&'@(),!?#;%+=<>/\\ \t") {
		return nil, connector.InvalidConfig("domain", "must be a bare domain name such as mg.example.com")
	}
	if s.apiKey == "" {
		return nil, connector.InvalidConfig("apiKey", "is required")
	}
	var err error
	if s.from, err = connector.ConfigSender("from", cfg.From, cfg.FromName, `an address such as "Example <no-reply@mg.example.com>"`); err != nil {
		return nil, err
	}
	if s.replyTo, err = connector.ConfigAddress("replyTo", cfg.ReplyTo); err != nil {
		return nil, err
	}
	if s.deliveries, err = checkDeliveries(cfg.Deliveries, env.Logger); err != nil {
		return nil, err
	}
	if s.apiBase, err = apiBase(cfg.Region, cfg.Endpoint, env.AllowInsecureEndpoint); err != nil {
		return nil, err
	}
	return s, nil
}

// apiBase picks the base URL from region and endpoint; endpoint wins.
func apiBase(region, endpoint string, allowInsecure bool) (string, error) {
	base := EndpointUS
	switch strings.ToLower(strings.TrimSpace(region)) {
	case "", "us":
	case "eu":
		base = EndpointEU
	default:
		return "", connector.InvalidConfig("region", "must be \"us\" or \"eu\"")
	}
	if endpoint != "" {
		base = endpoint
	}
	u, err := connector.CheckEndpoint("endpoint", base, allowInsecure)
	if err != nil {
		return "", err
	}
	v := *u
	v.RawQuery, v.Fragment = "", ""
	out := strings.TrimRight(v.String(), "/")
	// Logto's examples sometimes include the version path; keep one.
	out = strings.TrimSuffix(out, "/v3")
	if _, err := url.Parse(out + "/v3"); err != nil {
		return "", connector.InvalidConfig("endpoint", "is not a valid URL")
	}
	return out, nil
}

// checkDeliveries validates the deliveries map.
func checkDeliveries(in map[string]Delivery, log *slog.Logger) (map[connector.UsageType]Delivery, error) {
	out := make(map[connector.UsageType]Delivery, len(in))
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d := in[k]
		field := "deliveries." + k
		u := connector.UsageType(k)
		if !u.Valid() {
			return nil, connector.InvalidConfig(field, "is not a usage type; use one of %v", connector.UsageTypes())
		}
		switch {
		case d.HTML != "" && d.Template != "":
			return nil, connector.InvalidConfig(field, "sets both html and template; choose one")
		case d.HTML == "" && d.Template == "":
			return nil, connector.InvalidConfig(field, "needs html (raw content) or template (a Mailgun template name)")
		case d.Template == "" && len(d.Variables) > 0 && log != nil:
			log.Warn("mailgun delivery variables are used only with a hosted template", "usageType", k)
		}
		if d.ReplyTo != "" {
			if _, err := connector.ParseAddress(d.ReplyTo); err != nil {
				return nil, connector.InvalidConfig(field+".replyTo", "is not an email address: %v", err)
			}
		}
		out[u] = d
	}
	return out, nil
}

// delivery returns the entry for usage type u, else the Generic one.
func (s *settings) delivery(u connector.UsageType) (Delivery, bool) {
	if d, ok := s.deliveries[u]; ok {
		return d, true
	}
	d, ok := s.deliveries[connector.UsageGeneric]
	return d, ok
}
