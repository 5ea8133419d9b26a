package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/dkimkey"
	"github.com/authmail/authmail/internal/dnscheck"
)

// Bounds of a deliverability check, as the API's.
const (
	dnsQueryTimeout       = 5 * time.Second
	deliverabilityTimeout = 25 * time.Second
)

// deliverabilityData is what the deliverability page shows.
type deliverabilityData struct {
	// Domain, From and Selector are the form's values.
	Domain, From, Selector string
	// Report is the check's outcome, when one ran.
	Report *dnscheck.Report
	// Worst is the report's overall status.
	Worst string
	// Key is a DKIM key just made.
	Key *dkimKeyView
	// KeyDomain, KeySelector, KeyAlgorithm are the key form's values.
	KeyDomain, KeySelector, KeyAlgorithm string
}

// dkimKeyView is a new DKIM key: the record to publish and the private
// key for the SMTP connector's dkim setting, shown this once.
type dkimKeyView struct {
	RecordName, Record, ZoneLine string
	PrivateKey                   string
	// Config is the SMTP connector's dkim setting with this key.
	Config string
}

// checkDefaults are the check's defaults from the tenant's active email
// connector (its sender, sending domain, relay, DKIM key and kind), as
// the API's check takes them.
func (s *Server) checkDefaults(ctx context.Context, tenantID string) (dnscheck.Options, error) {
	act, err := s.Connectors.Active(ctx, tenantID)
	if errors.Is(err, delivery.ErrNoConnector) {
		return dnscheck.Options{}, nil
	}
	if err != nil {
		return dnscheck.Options{}, err
	}
	defer act.Release()
	return dnscheck.DefaultsFor(act.Factory, act.Conn), nil
}

// deliverabilityPage shows the domain check's form, prefilled from the
// active connector, and, once asked (?run=1), each finding with the
// record to publish.
func (s *Server) deliverabilityPage(p *page) error {
	def, err := s.checkDefaults(p.r.Context(), p.tenant)
	if err != nil {
		return err
	}
	q := p.r.URL.Query()
	d := deliverabilityData{Domain: def.Domain, From: def.From, Selector: def.Selector, KeyAlgorithm: "rsa"}
	d.KeyDomain, d.KeySelector = def.Domain, "authmail1"
	if d.KeyDomain == "" {
		if _, dom, ok := strings.Cut(def.From, "@"); ok {
			d.KeyDomain = dom
		}
	}
	v := p.view("deliverability")
	status := http.StatusOK
	if q.Get("run") != "" {
		d.Domain, d.From, d.Selector = strings.TrimSpace(q.Get("domain")), strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("selector"))
		asked := dnscheck.Options{Domain: d.Domain, From: d.From, Selector: d.Selector}
		if asked.Selector != "" && asked.Selector != def.Selector {
			def.DKIMPublicKey, def.DKIMPrivateKey = nil, "" // the configured key is the configured selector's
		}
		o := asked.WithDefaults(def)
		fields := map[string]string{}
		switch {
		case o.Domain == "" && o.From == "":
			fields["check-domain"] = p.cat.text(msg("deliverability.domain_required"))
		case d.Domain != "" && (dnscheck.Options{Domain: d.Domain}).Validate() != nil:
			fields["check-domain"] = p.cat.text(msg("deliverability.bad_domain"))
		case d.From != "" && (dnscheck.Options{From: d.From}).Validate() != nil:
			fields["check-from"] = p.cat.text(msg("deliverability.bad_from"))
		case d.Selector != "" && dkimkey.ValidateSelector(d.Selector) != nil:
			fields["check-selector"] = p.cat.text(msg("deliverability.bad_selector"))
		}
		if len(fields) > 0 {
			v.Fields, status = fields, http.StatusBadRequest
			for id := range fields {
				v.Focus = id
			}
		} else {
			res, err := dnscheck.NewResolver(s.DNSResolver, dnsQueryTimeout)
			if err != nil {
				v.Error = p.cat.text(msg("deliverability.no_resolver"), "reason", err.Error())
				status = http.StatusServiceUnavailable
			} else {
				ctx, cancel := context.WithTimeout(p.r.Context(), deliverabilityTimeout)
				rep := dnscheck.Check(ctx, res, o)
				cancel()
				d.Report, d.Worst = &rep, string(rep.Status())
			}
		}
	}
	v.Data = d
	p.render(status, "deliverability", v)
	return nil
}

// makeDKIMKey makes a DKIM key for a domain and selector and shows the TXT
// record to publish and the private key (this once: it is not kept).
func (s *Server) makeDKIMKey(p *page) error {
	f := p.r.PostForm
	d := deliverabilityData{KeyDomain: strings.TrimSpace(f.Get("domain")), KeySelector: strings.TrimSpace(f.Get("selector")),
		KeyAlgorithm: f.Get("algorithm")}
	v := p.view("deliverability")
	fields := map[string]string{}
	if err := dkimkey.ValidateDomain(d.KeyDomain); err != nil {
		fields["key-domain"] = err.Error()
	}
	if err := dkimkey.ValidateSelector(d.KeySelector); err != nil {
		fields["key-selector"] = err.Error()
	}
	if d.KeyAlgorithm != "rsa" && d.KeyAlgorithm != "ed25519" {
		fields["key-algorithm"] = p.cat.text(msg("deliverability.bad_algorithm"))
	}
	if len(fields) > 0 {
		v.Fields, v.Data = fields, d
		for _, id := range []string{"key-algorithm", "key-selector", "key-domain"} {
			if fields[id] != "" {
				v.Focus = id
			}
		}
		p.render(http.StatusBadRequest, "deliverability", v)
		return nil
	}
	pemKey, pub, err := dkimkey.Generate(d.KeyAlgorithm, 0)
	if err != nil {
		return err
	}
	name, record := dkimkey.RecordName(d.KeySelector, d.KeyDomain), dkimkey.TXTRecord(pub)
	cfg, err := json.MarshalIndent(map[string]string{"domain": d.KeyDomain, "selector": d.KeySelector, "privateKey": string(pemKey)}, "", "  ")
	if err != nil {
		return err
	}
	d.Key = &dkimKeyView{RecordName: name, Record: record, ZoneLine: dkimkey.ZoneLine(name, record, dnscheck.RecordTTL),
		PrivateKey: string(pemKey), Config: string(cfg)}
	s.logger.InfoContext(p.r.Context(), "DKIM key made in the console", "domain", d.KeyDomain, "selector", d.KeySelector, "algorithm", d.KeyAlgorithm)
	v.Data = d
	p.render(http.StatusOK, "deliverability", v)
	return nil
}
