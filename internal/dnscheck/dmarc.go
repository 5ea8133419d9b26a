package dnscheck

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// dmarcRecord is a parsed DMARC policy.
type dmarcRecord struct {
	name   string // where it was found
	raw    string
	tags   map[string]string
	order  []string
	policy string // p=, or sp= when inherited by a subdomain
	pct    int
	adkim  string
	aspf   string
	rua    string
}

func dmarcRecords(ctx context.Context, r *Resolver, name string) ([]string, error) {
	txts, err := r.LookupTXT(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, txt := range txts {
		if l := strings.ToLower(strings.TrimSpace(txt)); strings.HasPrefix(l, "v=dmarc1") {
			out = append(out, txt)
		}
	}
	return out, nil
}

func parseDMARC(name, raw string, inherited bool) (*dmarcRecord, error) {
	tg, order, err := tags(raw)
	if err != nil {
		return nil, err
	}
	if tg["v"] != "DMARC1" || order[0] != "v" {
		return nil, fmt.Errorf("it must start with v=DMARC1")
	}
	d := &dmarcRecord{name: name, raw: raw, tags: tg, order: order, pct: 100, adkim: "r", aspf: "r", rua: tg["rua"]}
	d.policy = strings.ToLower(tg["p"])
	if sp, ok := tg["sp"]; ok && inherited {
		d.policy = strings.ToLower(sp)
	}
	switch d.policy {
	case "none", "quarantine", "reject":
	case "":
		return d, fmt.Errorf("it has no p= policy")
	default:
		return d, fmt.Errorf("p=%s is not none, quarantine or reject", d.policy)
	}
	if s, ok := tg["pct"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 100 {
			return d, fmt.Errorf("pct=%s is not a number from 0 to 100", s)
		}
		d.pct = n
	}
	for key, dst := range map[string]*string{"adkim": &d.adkim, "aspf": &d.aspf} {
		if v, ok := tg[key]; ok {
			v = strings.ToLower(v)
			if v != "r" && v != "s" {
				return d, fmt.Errorf("%s=%s is not r or s", key, v)
			}
			*dst = v
		}
	}
	return d, nil
}

// suggestDMARC returns a record keeping d's tags but with an enforcing
// policy, full pct and aggregate reports.
func suggestDMARC(d *dmarcRecord, org string) string {
	parts := []string{"v=DMARC1"}
	p := "quarantine"
	if d != nil && (d.tags["p"] == "reject" || d.tags["p"] == "quarantine") {
		p = d.tags["p"]
	}
	parts = append(parts, "p="+p)
	rua := "mailto:dmarc-reports@" + org
	if d != nil {
		for _, k := range d.order {
			switch k {
			case "v", "p", "pct":
				continue
			case "rua":
				rua = d.tags[k]
				continue
			case "sp":
				if d.tags[k] == "none" {
					continue
				}
			}
			parts = append(parts, k+"="+d.tags[k])
		}
	}
	parts = append(parts, "rua="+rua)
	return strings.Join(parts, "; ")
}

func checkDMARC(ctx context.Context, r *Resolver, t target) (Result, *dmarcRecord) {
	res := newResult(CheckDMARC)
	name := "_dmarc." + t.fromDomain
	recs, err := dmarcRecords(ctx, r, name)
	if lookupFailed(res, "TXT of "+name, err) {
		return res.done(""), nil
	}
	inherited := false
	if len(recs) == 0 && t.org != t.fromDomain {
		orgName := "_dmarc." + t.org
		orgRecs, err := dmarcRecords(ctx, r, orgName)
		if lookupFailed(res, "TXT of "+orgName, err) {
			return res.done(""), nil
		}
		if len(orgRecs) > 0 {
			res.Details = append(res.Details, fmt.Sprintf("no record at %s; the organisational domain's record at %s applies", name, orgName))
			name, recs, inherited = orgName, orgRecs, true
		}
	}
	orgFix := "_dmarc." + t.org
	for _, rec := range recs {
		res.Found = append(res.Found, name+" TXT "+rec)
	}
	switch len(recs) {
	case 0:
		where := "_dmarc." + t.fromDomain
		if t.org != t.fromDomain {
			where += " or " + orgFix
		}
		res.note(StatusFail, "no DMARC record at "+where+": receivers such as Gmail and Yahoo require one from bulk senders", txtFix(orgFix, suggestDMARC(nil, t.org)))
		return res.done(""), nil
	case 1:
	default:
		res.note(StatusFail, fmt.Sprintf("%d DMARC records at %s: receivers ignore them all; keep one", len(recs), name), txtFix(name, suggestDMARC(nil, t.org)))
		return res.done(""), nil
	}
	d, err := parseDMARC(name, recs[0], inherited)
	if err != nil {
		res.note(StatusFail, fmt.Sprintf("the DMARC record at %s is invalid: %v", name, err), txtFix(name, suggestDMARC(nil, t.org)))
		return res.done(""), nil
	}
	fix := txtFix(name, suggestDMARC(d, t.org))
	res.Details = append(res.Details, fmt.Sprintf("policy %s, pct=%d, adkim=%s, aspf=%s", d.policy, d.pct, d.adkim, d.aspf))
	if d.policy == "none" {
		res.note(StatusWarn, "DMARC policy is p=none: spoofed mail is still delivered; move to p=quarantine once reports show your mail passes", fix)
	}
	if d.pct < 100 {
		res.note(StatusWarn, fmt.Sprintf("pct=%d: the policy applies to only %d%% of failing mail", d.pct, d.pct), fix)
	}
	if d.rua == "" {
		res.note(StatusWarn, "no rua= address: you get no aggregate reports, so failures go unnoticed", fix)
	}
	summary := fmt.Sprintf("DMARC p=%s at %s", d.policy, name)
	if inherited {
		summary += " (organisational domain)"
	}
	return res.done(summary), d
}
