package dnscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"blitiri.com.ar/go/spf"
)

// SPF limits from RFC 7208 section 4.6.4.
const (
	SPFLookupLimit     = 10
	SPFVoidLookupLimit = 2
)

// probeIP is an address no SPF record should authorise (TEST-NET-1). The
// SPF library evaluates a record against it to find syntax errors, which
// makes it walk every term before "all".
var probeIP = net.ParseIP("192.0.2.1")

// spfRecords returns the SPF records among name's TXT records.
func spfRecords(ctx context.Context, r *Resolver, name string) ([]string, error) {
	txts, err := r.LookupTXT(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, txt := range txts {
		l := strings.ToLower(txt)
		if l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ") {
			out = append(out, txt)
		}
	}
	return out, nil
}

// spfWalk expands a record recursively, counting DNS-querying terms and
// void lookups the way RFC 7208 section 4.6.4 does, but over the whole
// tree rather than the path one IP address takes.
type spfWalk struct {
	ctx      context.Context
	r        *Resolver
	lookups  int
	voids    int
	includes []string // include and redirect targets, lower-case
	problems []string // syntax and structure problems
	err      error    // first lookup failure
	visited  map[string]bool
}

func (w *spfWalk) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// void counts a lookup that found nothing; other failures stop the walk.
func (w *spfWalk) void(err error) {
	if err == nil {
		return
	}
	if NotFound(err) {
		w.voids++
		return
	}
	w.fail(err)
}

func (w *spfWalk) walk(domain, record string, depth int) {
	for _, term := range strings.Fields(record)[1:] {
		if w.err != nil || w.lookups > 3*SPFLookupLimit {
			return
		}
		w.term(domain, term, depth)
	}
}

func (w *spfWalk) term(domain, term string, depth int) {
	mech := strings.TrimLeft(term, "+-~?")
	lower := strings.ToLower(mech)
	name, arg, _ := strings.Cut(lower, ":")
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[:i]
	}
	if strings.HasPrefix(lower, "redirect=") {
		name, arg = "redirect", strings.TrimPrefix(lower, "redirect=")
	}
	switch name {
	case "include", "redirect":
		w.lookups++
		w.includes = append(w.includes, arg)
		if strings.Contains(arg, "%") {
			return // a macro depends on the message being checked
		}
		w.follow(arg, depth)
	case "a":
		w.lookups++
		if !strings.Contains(arg, "%") {
			_, err := w.r.LookupIP(w.ctx, hostOr(arg, domain))
			w.void(err)
		}
	case "mx":
		w.lookups++
		if !strings.Contains(arg, "%") {
			_, err := w.r.LookupMX(w.ctx, hostOr(arg, domain))
			w.void(err)
		}
	case "ptr":
		w.lookups++
		w.problems = append(w.problems, "uses ptr, which RFC 7208 says not to use (slow and unreliable)")
	case "exists":
		w.lookups++
	case "ip4", "ip6", "all":
	default:
		if !strings.Contains(lower, "=") {
			w.problems = append(w.problems, fmt.Sprintf("unknown term %q in the record for %s", term, domain))
		}
	}
}

func hostOr(arg, domain string) string {
	if i := strings.IndexByte(arg, '/'); i >= 0 {
		arg = arg[:i]
	}
	if arg == "" {
		return domain
	}
	return arg
}

func (w *spfWalk) follow(target string, depth int) {
	if w.visited[target] {
		w.problems = append(w.problems, "include loop through "+target)
		return
	}
	if depth >= SPFLookupLimit {
		return
	}
	w.visited[target] = true
	recs, err := spfRecords(w.ctx, w.r, target)
	if err != nil && !NotFound(err) {
		w.fail(err)
		return
	}
	switch len(recs) {
	case 0:
		w.voids++
		w.problems = append(w.problems, fmt.Sprintf("%s has no SPF record (a permanent error for receivers)", target))
	case 1:
		w.walk(target, recs[0], depth+1)
	default:
		w.problems = append(w.problems, fmt.Sprintf("%s has %d SPF records (a permanent error for receivers)", target, len(recs)))
	}
}

// allQualifier returns the qualifier of the record's top-level "all" ("+",
// "-", "~", "?") and whether it has a redirect instead.
func allQualifier(record string) (qual string, found, redirect bool) {
	for _, term := range strings.Fields(record)[1:] {
		l := strings.ToLower(term)
		if strings.HasPrefix(l, "redirect=") {
			redirect = true
		}
		if strings.TrimLeft(l, "+-~?") == "all" {
			q := "+"
			if strings.ContainsAny(l[:1], "+-~?") {
				q = l[:1]
			}
			return q, true, redirect
		}
	}
	return "", false, redirect
}

// mergeSPF builds one record from the terms of records plus add, ending in
// the strictest sensible "all".
func mergeSPF(records []string, add ...string) string {
	terms := []string{"v=spf1"}
	all := "~all"
	seen := map[string]bool{}
	for _, rec := range records {
		for _, term := range strings.Fields(rec)[1:] {
			l := strings.ToLower(term)
			switch strings.TrimLeft(l, "+-~?") {
			case "all":
				if l == "-all" {
					all = "-all"
				}
				continue
			}
			if strings.HasPrefix(l, "redirect=") || seen[l] {
				continue
			}
			seen[l] = true
			terms = append(terms, term)
		}
	}
	for _, a := range add {
		if !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			terms = append(terms, a)
		}
	}
	return strings.Join(append(terms, all), " ")
}

func checkSPF(ctx context.Context, r *Resolver, t target) Result {
	res := newResult(CheckSPF)
	recs, err := spfRecords(ctx, r, t.domain)
	if lookupFailed(res, "TXT of "+t.domain, err) {
		return res.done("")
	}
	res.Found = append(res.Found, recs...)
	need := spfNeeds(t)
	switch len(recs) {
	case 0:
		if t.hasHints && !t.hints.SPFOnFromDomain {
			checkProviderReturnPath(ctx, r, t, res)
			return res.done(fmt.Sprintf("no SPF record on %s, which %s does not need", t.domain, t.hints.Name))
		}
		res.note(StatusFail, "no SPF record on "+t.domain, txtFix(t.domain, mergeSPF(nil, need...)))
		return res.done("")
	case 1:
	default:
		res.note(StatusFail, fmt.Sprintf("%d SPF records on %s: receivers treat that as a permanent error; merge them into one", len(recs), t.domain),
			txtFix(t.domain, mergeSPF(recs, need...)))
		return res.done("")
	}
	rec := recs[0]
	fix := txtFix(t.domain, mergeSPF(recs, need...))

	// Syntax, as the SPF library evaluates it.
	result, lerr := spf.CheckHostWithSender(probeIP, t.domain, "postmaster@"+t.domain,
		spf.WithResolver(netResolver{r}), spf.WithContext(ctx))
	switch {
	case result == spf.TempError:
		res.note(StatusError, fmt.Sprintf("could not check SPF of %s: %v", t.domain, lerr), "Retry, or point --resolver at a nameserver that answers.")
		return res.done("")
	case result == spf.PermError && !errors.Is(lerr, spf.ErrLookupLimitReached) && !errors.Is(lerr, spf.ErrVoidLookupLimitReached):
		res.note(StatusFail, fmt.Sprintf("the SPF record is invalid: %v", lerr), fix)
	}

	// Lookup limits over the whole tree.
	w := &spfWalk{ctx: ctx, r: r, visited: map[string]bool{t.domain: true}}
	w.walk(t.domain, rec, 0)
	if w.err != nil {
		res.note(StatusError, fmt.Sprintf("could not expand the SPF record: %v", w.err), "Retry, or point --resolver at a nameserver that answers.")
		return res.done("")
	}
	res.Details = append(res.Details, fmt.Sprintf("%d DNS-querying terms after expansion (limit %d), %d void lookups (limit %d)", w.lookups, SPFLookupLimit, w.voids, SPFVoidLookupLimit))
	if w.lookups > SPFLookupLimit {
		res.note(StatusFail, fmt.Sprintf("the SPF record needs %d DNS lookups after expanding includes; receivers stop at %d (RFC 7208 section 4.6.4) and fail it", w.lookups, SPFLookupLimit),
			"Remove includes of services that no longer send for "+t.domain+", or replace some include:/a/mx terms with the ip4:/ip6: ranges they resolve to.")
	}
	if w.voids > SPFVoidLookupLimit {
		res.note(StatusFail, fmt.Sprintf("the SPF record has %d void lookups (limit %d): names that do not exist", w.voids, SPFVoidLookupLimit),
			"Remove the terms that point at names without records.")
	}
	for _, p := range w.problems {
		res.note(StatusWarn, p, fix)
	}

	switch qual, found, redirect := allQualifier(rec); {
	case found && qual == "+":
		res.note(StatusFail, "the SPF record ends in +all: it authorises every server on the internet to send as "+t.domain, txtFix(t.domain, strings.Replace(mergeSPF(recs, need...), " ~all", " -all", 1)))
	case found && qual == "?":
		res.note(StatusWarn, "the SPF record ends in ?all (neutral): receivers learn nothing from it; end it in ~all or -all", fix)
	case !found && !redirect:
		res.note(StatusFail, "the SPF record has no all term: mail from any server is neutral; end it in ~all or -all", fix)
	}

	checkAuthorised(ctx, r, t, w, res, fix)
	return res.done(fmt.Sprintf("one valid SPF record on %s", t.domain))
}

// spfNeeds returns the terms the provider or SMTP host requires.
func spfNeeds(t target) []string {
	if t.hasHints && t.hints.SPFInclude != "" && t.hints.SPFOnFromDomain {
		return []string{"include:" + t.hints.SPFInclude}
	}
	return nil
}

// checkAuthorised checks the provider's include and the SMTP host's
// addresses.
func checkAuthorised(ctx context.Context, r *Resolver, t target, w *spfWalk, res *result, fix string) {
	if t.hasHints && t.hints.SPFInclude != "" {
		if slices.Contains(w.includes, t.hints.SPFInclude) {
			res.Details = append(res.Details, fmt.Sprintf("includes %s for %s", t.hints.SPFInclude, t.hints.Name))
		} else if t.hints.SPFOnFromDomain {
			res.note(StatusFail, fmt.Sprintf("the SPF record does not include %s, so %s is not authorised to send for %s", t.hints.SPFInclude, t.hints.Name, t.domain), fix)
		} else {
			res.note(StatusWarn, fmt.Sprintf("%s is not included; fine while %s uses its own MAIL FROM domain. %s", t.hints.SPFInclude, t.hints.Name, t.hints.SPFNote), "")
		}
	}
	checkProviderReturnPath(ctx, r, t, res)
	if t.smtpHost != "" {
		checkHostAuthorised(ctx, r, t, res)
	}
}

// returnPathCNAME is the provider's Return-Path CNAME when its hints give
// one with a fixed name and target (Postmark's pm-bounces), which can be
// checked as it is; false when they give none, or one with values only
// the provider's dashboard shows.
func returnPathCNAME(t target) (name, value string, ok bool) {
	if !t.hasHints {
		return "", "", false
	}
	for _, rec := range t.hints.Records {
		if rec.Purpose == "Return-Path" && rec.Type == "CNAME" && !strings.Contains(rec.Name+rec.Value, "<") {
			return strings.ReplaceAll(rec.Name, DomainPlaceholder, t.domain), normDomain(rec.Value), true
		}
	}
	return "", "", false
}

// checkProviderReturnPath checks the provider's Return-Path CNAME, when
// its hints give one that can be checked.
func checkProviderReturnPath(ctx context.Context, r *Resolver, t target, res *result) {
	name, want, ok := returnPathCNAME(t)
	if !ok {
		return
	}
	fix := fmt.Sprintf("%s. %d IN CNAME %s.", name, RecordTTL, want)
	target, err := r.LookupCNAME(ctx, name)
	if lookupFailed(res, "CNAME of "+name, err) {
		return
	}
	if err != nil {
		res.note(StatusFail, "no Return-Path CNAME at "+name+": "+t.hints.Name+"'s bounces and SPF alignment need it", fix)
		return
	}
	res.Found = append(res.Found, name+" CNAME "+target)
	if normDomain(target) != want {
		res.note(StatusFail, fmt.Sprintf("%s points to %s, not %s", name, target, want), fix)
	}
}

// checkHostAuthorised evaluates the SPF record for every address of the
// SMTP host with the SPF library.
func checkHostAuthorised(ctx context.Context, r *Resolver, t target, res *result) {
	ips, err := r.LookupIP(ctx, t.smtpHost)
	if lookupFailed(res, "addresses of SMTP host "+t.smtpHost, err) {
		return
	}
	if len(ips) == 0 {
		res.note(StatusWarn, fmt.Sprintf("SMTP host %s has no address in DNS, so its authorisation could not be checked", t.smtpHost), "")
		return
	}
	var missing []string
	for _, ip := range ips {
		result, lerr := spf.CheckHostWithSender(ip, t.smtpHost, "postmaster@"+t.domain,
			spf.WithResolver(netResolver{r}), spf.WithContext(ctx))
		switch result {
		case spf.Pass:
		case spf.TempError:
			res.note(StatusError, fmt.Sprintf("could not evaluate SPF for %s: %v", ip, lerr), "")
			return
		default:
			kind := "ip4:"
			if ip.To4() == nil {
				kind = "ip6:"
			}
			missing = append(missing, kind+ip.String())
			res.Details = append(res.Details, fmt.Sprintf("SPF gives %s for SMTP host %s (%s)", result, t.smtpHost, ip))
		}
	}
	if len(missing) > 0 {
		recs, _ := spfRecords(ctx, r, t.domain)
		res.note(StatusFail, fmt.Sprintf("the SPF record does not authorise SMTP host %s (%s)", t.smtpHost, strings.Join(missing, ", ")),
			txtFix(t.domain, mergeSPF(recs, missing...)))
		return
	}
	res.Details = append(res.Details, fmt.Sprintf("authorises SMTP host %s", t.smtpHost))
}
