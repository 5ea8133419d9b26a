package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/dnscheck"
	"github.com/authmail/authmail/internal/tenant"
)

// Bounds of a deliverability check.
const (
	// dnsQueryTimeout bounds each DNS query.
	dnsQueryTimeout = 5 * time.Second
	// deliverabilityTimeout bounds the whole check; checks still running
	// then report "error", never "pass".
	deliverabilityTimeout = 25 * time.Second
	// maxCheckParam bounds each query parameter.
	maxCheckParam = 320
)

// deliverabilityCheck serves GET /api/deliverability/check?domain=&selector=
// &from=&provider=&smtpHost=. Parameters left out come from the active
// email connector: its sender address, its DKIM domain, selector and key
// (SMTP), its host (SMTP) and its factory as the provider. The body is the
// dnscheck.Report, the same document `authmail dns check --format json`
// prints; failing checks are part of a 200 answer.
func (s *Server) deliverabilityCheck(w http.ResponseWriter, r *http.Request) error {
	asked, err := checkParams(r.URL.Query())
	if err != nil {
		return err
	}
	def, err := s.connectorCheckDefaults(r.Context())
	if err != nil {
		return err
	}
	if asked.Selector != "" && asked.Selector != def.Selector {
		// The configured key belongs to the configured selector only.
		def.DKIMPublicKey, def.DKIMPrivateKey = nil, ""
	}
	o := asked.WithDefaults(def)
	if o.Domain == "" && o.From == "" {
		return invalidInput("domain", "is required: the active email connector has no sender address to take it from")
	}
	if err := o.Validate(); err != nil {
		return invalidInput("", "%v", err)
	}
	res, err := dnscheck.NewResolver(s.DNSResolver, dnsQueryTimeout)
	if err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "deliverability.resolver_unavailable",
			Message: "no DNS resolver to query: " + err.Error() + "; set " + dnscheck.ResolverEnv + " to HOST:PORT"}
	}
	ctx, cancel := context.WithTimeout(r.Context(), deliverabilityTimeout)
	defer cancel()
	writeJSON(w, http.StatusOK, dnscheck.Check(ctx, res, o))
	return nil
}

// checkParams reads and validates the query parameters.
func checkParams(q url.Values) (dnscheck.Options, error) {
	var o dnscheck.Options
	fields := map[string]*string{"domain": &o.Domain, "from": &o.From, "selector": &o.Selector, "provider": &o.Provider, "smtpHost": &o.SMTPHost}
	for name, dst := range fields {
		v := strings.TrimSpace(q.Get(name))
		if len(v) > maxCheckParam {
			return o, invalidInput(name, "is over %d bytes", maxCheckParam)
		}
		if strings.IndexFunc(v, func(r rune) bool { return r < 32 || r == 127 }) >= 0 {
			return o, invalidInput(name, "must not contain control characters")
		}
		*dst = v
	}
	if o.Domain != "" {
		if err := (dnscheck.Options{Domain: o.Domain}).Validate(); err != nil {
			return o, invalidInput("domain", "%q is not a domain name such as auth.example.com", o.Domain)
		}
	}
	if o.From != "" {
		if err := (dnscheck.Options{From: o.From}).Validate(); err != nil {
			return o, invalidInput("from", "must be an address such as no-reply@auth.example.com, or a domain")
		}
	}
	if o.Selector != "" && !hostLike(o.Selector, true) {
		return o, invalidInput("selector", "%q is not a DKIM selector: letters, digits and hyphens, such as authmail1", o.Selector)
	}
	if o.SMTPHost != "" && !hostLike(o.SMTPHost, false) {
		return o, invalidInput("smtpHost", "%q is not a host name or IP address", o.SMTPHost)
	}
	if o.Provider != "" && !dnscheck.KnownProvider(o.Provider) {
		return o, unknownFactory("provider", o.Provider)
	}
	return o, nil
}

// hostLike reports whether s is made of dot-separated DNS labels of
// letters, digits, hyphens (and underscores when underscore is set), or
// is an IPv6 address when it holds colons.
func hostLike(s string, underscore bool) bool {
	if strings.Contains(s, ":") && !underscore {
		return strings.Trim(s, "0123456789abcdefABCDEF:.") == ""
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || (underscore && r == '_')
			if !ok {
				return false
			}
		}
	}
	return true
}

// connectorCheckDefaults reads the check's defaults from the tenant's
// active email connector: its factory as the provider when the factory
// declares DNS hints and, when the connector implements
// connector.SenderIdentity, its sender address, sending domain, relay
// host and DKIM key. None when the tenant has no connector.
func (s *Server) connectorCheckDefaults(ctx context.Context) (dnscheck.Options, error) {
	act, err := s.Connectors.Active(ctx, tenant.FromContext(ctx))
	if errors.Is(err, delivery.ErrNoConnector) {
		return dnscheck.Options{}, nil
	}
	if err != nil {
		return dnscheck.Options{}, err
	}
	defer act.Release()
	return dnscheck.DefaultsFor(act.Factory, act.Conn), nil
}
