package dnscheck

import (
	"context"
	"crypto"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/net/publicsuffix"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/dkimkey"
)

// Options says what to check.
type Options struct {
	// Domain is the sending domain: the DKIM d= domain and the envelope
	// sender's domain. Empty means the From address's domain.
	Domain string
	// From is the From address (or a bare domain). Empty means Domain.
	From string
	// Selector is the DKIM selector. Empty means the provider's fixed
	// selectors, when it has some.
	Selector string
	// Provider is the active connector's ID, such as "sendgrid".
	Provider string
	// SMTPHost is the relay host whose addresses SPF must authorise.
	SMTPHost string
	// DKIMPublicKey is the key the published DKIM record must hold.
	DKIMPublicKey crypto.PublicKey
	// DKIMPrivateKey is a PEM private key to derive DKIMPublicKey from
	// when that is nil.
	DKIMPrivateKey connector.Secret
}

// RecordTTL is the TTL in the zone-file lines of fixes.
const RecordTTL = 3600

// target is Options resolved once.
type target struct {
	domain     string // sending domain
	from       string // From address (or domain)
	fromDomain string
	org        string // organisational domain of fromDomain
	selector   string
	hints      ProviderHints
	hasHints   bool
	provider   string
	smtpHost   string
	key        crypto.PublicKey
	keyErr     error
}

func normDomain(d string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
}

// OrgDomain returns the organisational domain of d (its registrable
// domain under the public suffix list), or d itself when it has none.
func OrgDomain(d string) string {
	d = normDomain(d)
	org, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return org
}

func resolveTarget(o Options) (target, error) {
	t := target{from: strings.TrimSpace(o.From), selector: strings.TrimSpace(o.Selector), smtpHost: normDomain(o.SMTPHost)}
	if t.from != "" {
		if strings.Contains(t.from, "@") {
			a, err := connector.ParseAddress(t.from)
			if err != nil {
				return t, fmt.Errorf("from address %q: %w", o.From, err)
			}
			t.from = a.Email
			t.fromDomain = normDomain(a.Email[strings.LastIndex(a.Email, "@")+1:])
		} else {
			t.fromDomain = normDomain(t.from)
		}
	}
	t.domain = normDomain(o.Domain)
	if t.domain == "" {
		t.domain = t.fromDomain
	}
	if t.fromDomain == "" {
		t.fromDomain = t.domain
		t.from = t.domain
	}
	for _, d := range []string{t.domain, t.fromDomain} {
		if err := validDomain(d); err != nil {
			return t, err
		}
	}
	t.org = OrgDomain(t.fromDomain)
	if o.Provider != "" {
		t.provider = ProviderID(o.Provider)
		t.hints, t.hasHints = Hints(t.provider)
	}
	t.key = o.DKIMPublicKey
	if t.key == nil && o.DKIMPrivateKey.Reveal() != "" {
		t.key, t.keyErr = dkimkey.PublicKeyFromPEM([]byte(o.DKIMPrivateKey.Reveal()))
	}
	return t, nil
}

func validDomain(d string) error {
	if d == "" {
		return fmt.Errorf("a domain is required")
	}
	if !strings.Contains(d, ".") || strings.ContainsAny(d, " @/\\:") || len(d) > 253 {
		return fmt.Errorf("%q is not a domain name", d)
	}
	return nil
}

// Validate reports whether the options name a domain to check.
func (o Options) Validate() error {
	_, err := resolveTarget(o)
	return err
}

// Check runs every check against the DNS that r queries. Checks run
// concurrently; each result is independent of the others except alignment,
// which uses the DMARC record's modes. A lookup that fails makes its check
// StatusError.
func Check(ctx context.Context, r *Resolver, o Options) Report {
	t, err := resolveTarget(o)
	rep := Report{Domain: t.domain, From: t.from, Selector: t.selector, Provider: t.provider, Resolver: r.Addr()}
	if err != nil {
		for _, id := range []string{CheckSPF, CheckDKIM, CheckDMARC, CheckAlignment, CheckSeparation, CheckMX} {
			res := newResult(id)
			res.note(StatusError, "could not check: "+err.Error(), "")
			rep.Checks = append(rep.Checks, res.done(""))
		}
		return rep
	}
	var (
		wg                     sync.WaitGroup
		spfRes, dkimRes, mxRes Result
		dmarcRes               Result
		dm                     *dmarcRecord
		dkimOK                 bool
		missing                []string
	)
	wg.Add(5)
	go func() { defer wg.Done(); spfRes = checkSPF(ctx, r, t) }()
	go func() { defer wg.Done(); dkimRes, dkimOK = checkDKIM(ctx, r, t) }()
	go func() { defer wg.Done(); dmarcRes, dm = checkDMARC(ctx, r, t) }()
	go func() { defer wg.Done(); mxRes = checkMX(ctx, r, t) }()
	go func() { defer wg.Done(); missing = nonexistent(ctx, r, t.domain, t.fromDomain) }()
	wg.Wait()
	spfOK := spfRes.Status == StatusPass || spfRes.Status == StatusWarn
	alignRes := checkAlignment(t, dm, dmarcRes, spfRes, spfOK, dkimRes, dkimOK)
	if len(missing) > 0 {
		rep.NonexistentDomains = missing
		// A check of records under a domain that does not exist says so,
		// rather than list each record as missing.
		spfRes = nonexistentResult(spfRes, t.domain, missing, "an SPF record")
		dkimRes = nonexistentResult(dkimRes, t.domain, missing, "a DKIM key record")
		dmarcRes = nonexistentResult(dmarcRes, t.fromDomain, missing, "a DMARC record")
		mxRes = nonexistentResult(mxRes, t.fromDomain, missing, "an MX record")
		alignRes = newResult(CheckAlignment).failNonexistent(missing,
			fmt.Sprintf("%s does not exist (NXDOMAIN): no SPF or DKIM record can authenticate mail from %s, so DMARC fails", strings.Join(missing, " and "), t.fromDomain))
	}
	rep.Checks = []Result{spfRes, dkimRes, dmarcRes, alignRes, checkSeparation(t), mxRes}
	return rep
}

// nonexistent returns those of the domains that do not exist (NXDOMAIN).
// A domain whose existence could not be established is not among them:
// the checks that look it up report that.
func nonexistent(ctx context.Context, r *Resolver, domains ...string) []string {
	var out []string
	for _, d := range domains {
		if slices.Contains(out, d) {
			continue
		}
		if ok, err := r.Exists(ctx, d); err == nil && !ok {
			out = append(out, d)
		}
	}
	return out
}

// nonexistentResult replaces res, a check of records at domain, when
// domain is among the missing ones.
func nonexistentResult(res Result, domain string, missing []string, what string) Result {
	if !slices.Contains(missing, domain) {
		return res
	}
	return newResult(res.ID).failNonexistent([]string{domain}, fmt.Sprintf("%s does not exist (NXDOMAIN), so it cannot hold %s", domain, what))
}

// failNonexistent fails the check for domains that do not exist, saying
// how to create them.
func (r *result) failNonexistent(missing []string, summary string) Result {
	d := missing[0]
	r.note(StatusFail, summary, fmt.Sprintf("Check the spelling of %s. If it is right, create it: register %s, or add %s to the zone of %s at your DNS host (any record creates it, such as its SPF TXT), then run the check again.",
		d, OrgDomain(d), d, OrgDomain(d)))
	return r.done("")
}

// lookupFailed turns a lookup error that is not "not found" into a
// StatusError observation and reports whether it did.
func lookupFailed(res *result, what string, err error) bool {
	if err == nil || NotFound(err) {
		return false
	}
	res.note(StatusError, fmt.Sprintf("could not check %s: %v", what, err), "Retry, or point --resolver at a nameserver that answers.")
	return true
}

// txtFix renders a TXT record as a zone-file line.
func txtFix(name, value string) string {
	return dkimkey.ZoneLine(name, value, RecordTTL)
}

// aligned reports whether a and b align under DMARC mode "s" (equal) or
// "r" (same organisational domain).
func aligned(a, b, mode string) bool {
	a, b = normDomain(a), normDomain(b)
	if mode == "s" {
		return a == b
	}
	return OrgDomain(a) == OrgDomain(b)
}

// envelopeDomain is the domain SPF is evaluated for with the provider
// (the envelope sender's domain), and a note saying why when it is not
// the sending domain.
func envelopeDomain(t target) (string, string) {
	if !t.hasHints || t.hints.EnvelopeDomain == "" {
		return t.domain, ""
	}
	domain := strings.ReplaceAll(t.hints.EnvelopeDomain, DomainPlaceholder, t.domain)
	return domain, fmt.Sprintf("%s's Return-Path: %s", t.hints.Name, strings.ReplaceAll(t.hints.ReturnPath, DomainPlaceholder, t.domain))
}

// checkAlignment checks that an identifier DMARC can use both aligns
// with the From domain and authenticates: DKIM when d= aligns under adkim
// and a usable key is published (dkimOK), SPF when the envelope domain
// aligns under aspf and the SPF check passed (spfOK). Aligned domains
// alone are not a pass: with neither SPF nor DKIM established, DMARC fails.
func checkAlignment(t target, dm *dmarcRecord, dmarcRes, spfRes Result, spfOK bool, dkimRes Result, dkimOK bool) Result {
	res := newResult(CheckAlignment)
	adkim, aspf := "r", "r"
	if dm != nil {
		adkim, aspf = dm.adkim, dm.aspf
		res.Found = append(res.Found, fmt.Sprintf("adkim=%s aspf=%s", adkim, aspf))
	} else if dmarcRes.Status == StatusError {
		// The modes are unknown: only strict alignment holds whatever they are.
		adkim, aspf = "s", "s"
		res.Details = append(res.Details, "the DMARC record could not be read, so strict alignment is required")
	} else {
		res.Details = append(res.Details, "no usable DMARC record, so relaxed alignment is assumed")
	}
	spfDomain, spfNote := envelopeDomain(t)
	if spfNote != "" {
		res.Details = append(res.Details, spfNote)
	}
	dkimAligned := aligned(t.fromDomain, t.domain, adkim)
	spfAligned := aligned(t.fromDomain, spfDomain, aspf)
	mode := map[string]string{"r": "relaxed", "s": "strict"}
	desc := fmt.Sprintf("From domain %s vs DKIM d=%s (%s) and SPF domain %s (%s)", t.fromDomain, t.domain, mode[adkim], spfDomain, mode[aspf])
	res.Details = append(res.Details, desc)
	if !dkimOK {
		res.Details = append(res.Details, "DKIM is not established for d="+t.domain+" (the dkim check: "+dkimRes.Summary+")")
	}
	if !spfOK {
		res.Details = append(res.Details, "SPF is not established for "+t.domain+" (the spf check: "+spfRes.Summary+")")
	}
	dkimPass, spfPass := dkimAligned && dkimOK, spfAligned && spfOK
	// Why an identifier does not count, for the messages below.
	dkimWhy := fmt.Sprintf("DKIM d=%s does not align under %s mode", t.domain, mode[adkim])
	if dkimAligned {
		dkimWhy = fmt.Sprintf("DKIM d=%s aligns but has no usable key (see the dkim check)", t.domain)
	}
	spfWhy := fmt.Sprintf("SPF domain %s does not align", spfDomain)
	if spfAligned {
		spfWhy = fmt.Sprintf("SPF for %s aligns but does not pass (see the spf check)", spfDomain)
	}
	keygen := fmt.Sprintf("authmail dkim keygen --domain %s --selector <selector>", t.fromDomain)
	unknown := dmarcRes.Status == StatusError && !(dkimAligned && spfAligned) ||
		dkimAligned && dkimRes.Status == StatusError || spfAligned && spfRes.Status == StatusError
	switch {
	case dkimPass && spfPass:
		return res.done("From domain " + t.fromDomain + " aligns with both DKIM and SPF")
	case dkimPass:
		return res.done("From domain " + t.fromDomain + " aligns with DKIM d=" + t.domain + " (" + spfWhy + ", which DMARC allows)")
	case spfPass:
		res.note(StatusWarn, fmt.Sprintf("From domain %s aligns only with SPF; %s, and SPF breaks when mail is forwarded", t.fromDomain, dkimWhy),
			fmt.Sprintf("Sign with d=%s and publish its key: %s", t.fromDomain, keygen))
	case unknown:
		res.note(StatusError, "could not check: the lookups it depends on failed (see the dmarc, spf and dkim checks)",
			"Retry, or point --resolver at a nameserver that answers.")
	case !dkimOK && !spfOK:
		fix := "Make the spf and dkim checks pass first: DMARC needs one of them to authenticate mail from " + t.fromDomain + "."
		if !dkimAligned && !spfAligned {
			fix += fmt.Sprintf(" Also send from an address at %s, or sign with d=%s (%s).", t.domain, t.fromDomain, keygen)
		}
		res.note(StatusFail, fmt.Sprintf("neither SPF nor DKIM is established for %s, so nothing authenticates From domain %s: DMARC fails", t.domain, t.fromDomain), fix)
	default:
		res.note(StatusFail, fmt.Sprintf("From domain %s aligns with neither DKIM nor SPF: %s; %s (adkim=%s, aspf=%s): DMARC fails", t.fromDomain, dkimWhy, spfWhy, adkim, aspf),
			fmt.Sprintf("Send from an address at %s (such as noreply@%s), or authenticate %s itself: sign with d=%s (%s).", t.domain, t.domain, t.fromDomain, t.fromDomain, keygen))
	}
	return res.done("")
}

func checkSeparation(t target) Result {
	res := newResult(CheckSeparation)
	res.Found = append(res.Found, "organisational domain "+t.org)
	if t.fromDomain == t.org {
		sub := "auth." + t.org
		res.note(StatusWarn, fmt.Sprintf("authentication mail is sent from the organisational domain %s: its reputation is shared with all other mail of %s", t.fromDomain, t.org),
			fmt.Sprintf("Send from a subdomain such as %s: publish SPF, DKIM and DMARC for it and set the connector's sender to noreply@%s.", sub, sub))
		return res.done("")
	}
	return res.done(fmt.Sprintf("sends from %s, a subdomain of %s", t.fromDomain, t.org))
}

func checkMX(ctx context.Context, r *Resolver, t target) Result {
	res := newResult(CheckMX)
	mxs, err := r.LookupMX(ctx, t.fromDomain)
	if lookupFailed(res, "MX of "+t.fromDomain, err) {
		return res.done("")
	}
	host := "<your inbound mail host>"
	if t.hasHints {
		for _, h := range t.hints.Records {
			if h.Type == "MX" && h.Name == DomainPlaceholder {
				host = strings.Fields(h.Value)[1]
			}
		}
	}
	fix := fmt.Sprintf("%s. %d IN MX 10 %s.", t.fromDomain, RecordTTL, strings.TrimSuffix(host, "."))
	if len(mxs) == 0 {
		res.note(StatusFail, "no MX record for "+t.fromDomain+": bounces and replies have nowhere to go, and some receivers reject such senders", fix)
		return res.done("")
	}
	for _, mx := range mxs {
		res.Found = append(res.Found, fmt.Sprintf("%s MX %d %s", t.fromDomain, mx.Pref, mx.Host))
		if mx.Host == "." || mx.Host == "" {
			res.note(StatusWarn, t.fromDomain+" has a null MX (RFC 7505): it accepts no mail, so bounces and replies are lost", fix)
		}
	}
	return res.done(fmt.Sprintf("%d MX record(s) for %s", len(mxs), t.fromDomain))
}

// WithDefaults returns o with its empty fields taken from def, such as the
// active connector's sender, DKIM selector, provider, SMTP host and key,
// for GET /api/deliverability/check?domain=&selector=&from=. When o names a
// different domain than def, def's DKIM key is not carried over.
func (o Options) WithDefaults(def Options) Options {
	sameDomain := o.Domain == "" || normDomain(o.Domain) == normDomain(def.Domain)
	if o.Domain == "" && o.From == "" {
		o.Domain, o.From = def.Domain, def.From
	}
	if o.Selector == "" {
		o.Selector = def.Selector
	}
	if o.Provider == "" {
		o.Provider = def.Provider
	}
	if o.SMTPHost == "" {
		o.SMTPHost = def.SMTPHost
	}
	if sameDomain && o.DKIMPublicKey == nil && o.DKIMPrivateKey == "" {
		o.DKIMPublicKey, o.DKIMPrivateKey = def.DKIMPublicKey, def.DKIMPrivateKey
	}
	return o
}

// DefaultsFor are the options a check of the connector conn (built from
// factory f) defaults to: the factory as the provider when it declares
// DNS hints and, when the connector says who it sends as
// (connector.SenderIdentity), its sender address, sending domain, relay
// host and DKIM selector and key.
func DefaultsFor(f connector.Factory, conn connector.Connector) Options {
	var def Options
	if f.DNS != nil {
		def.Provider = f.ID
	}
	if id, ok := conn.(connector.SenderIdentity); ok {
		snd := id.Sender()
		def.From, def.Domain, def.SMTPHost = snd.From.Email, snd.Domain, snd.Relay
		def.Selector, def.DKIMPrivateKey = snd.DKIMSelector, snd.DKIMPrivateKey
	}
	return def
}
