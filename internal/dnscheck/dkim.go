package dnscheck

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/authmail/authmail/internal/dkimkey"
)

// tags parses a DKIM or DMARC tag list ("k=v; k2=v2"). Keys are
// lower-cased; an element without "=" is an error.
func tags(record string) (map[string]string, []string, error) {
	out := map[string]string{}
	var order []string
	for _, part := range strings.Split(record, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, nil, fmt.Errorf("%q is not a tag=value pair", part)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := out[k]; dup {
			return nil, nil, fmt.Errorf("tag %s appears twice", k)
		}
		out[k] = strings.TrimSpace(v)
		order = append(order, k)
	}
	return out, order, nil
}

// parseDKIMKey reads the public key of a DKIM key record.
func parseDKIMKey(record string) (crypto.PublicKey, map[string]string, error) {
	tg, order, err := tags(record)
	if err != nil {
		return nil, nil, err
	}
	if v, ok := tg["v"]; ok && (v != "DKIM1" || order[0] != "v") {
		return nil, tg, fmt.Errorf("v=%s: the version must be DKIM1 and come first", v)
	}
	p, ok := tg["p"]
	if !ok {
		return nil, tg, fmt.Errorf("no p= tag (public key)")
	}
	p = strings.Join(strings.Fields(p), "")
	if p == "" {
		return nil, tg, fmt.Errorf("p= is empty: the key is revoked")
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return nil, tg, fmt.Errorf("p= is not valid base64: %w", err)
	}
	switch k := strings.ToLower(tg["k"]); k {
	case "", "rsa":
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			pk1, err1 := x509.ParsePKCS1PublicKey(der)
			if err1 != nil {
				return nil, tg, fmt.Errorf("p= is not an RSA public key: %w", err)
			}
			pub = pk1
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, tg, fmt.Errorf("k=rsa but p= holds a %T", pub)
		}
		return rk, tg, nil
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return nil, tg, fmt.Errorf("p= is %d bytes, an Ed25519 key is %d", len(der), ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(der), tg, nil
	default:
		return nil, tg, fmt.Errorf("k=%s is not a key type receivers support (rsa or ed25519)", k)
	}
}

// checkDKIM checks the key records of t's selectors. established says
// whether signed mail can pass DKIM for d=: a key record was read and
// none of those read is unusable.
func checkDKIM(ctx context.Context, r *Resolver, t target) (_ Result, established bool) {
	res := newResult(CheckDKIM)
	if t.keyErr != nil {
		res.note(StatusFail, fmt.Sprintf("the configured DKIM %v", t.keyErr), "Replace the connector's dkim.privateKey: authmail dkim keygen --domain "+t.domain+" --selector <selector>")
		return res.done(""), false
	}
	selectors := []string{t.selector}
	if t.selector == "" {
		if !t.hasHints || len(t.hints.DKIMSelectors) == 0 {
			res.note(StatusWarn, "no DKIM selector given, so the DKIM record was not checked", dkimMissingFix(t, "<selector>"))
			return res.done(""), false
		}
		selectors = t.hints.DKIMSelectors
	}
	var missing []string
	checked := 0
	for _, sel := range selectors {
		name := dkimkey.RecordName(sel, t.domain)
		txts, err := r.LookupTXT(ctx, name)
		if lookupFailed(res, "TXT of "+name, err) {
			return res.done(""), false
		}
		if len(txts) == 0 {
			missing = append(missing, name)
			if cname, cerr := r.LookupCNAME(ctx, name); cerr == nil {
				res.Found = append(res.Found, name+" CNAME "+cname)
				res.Details = append(res.Details, fmt.Sprintf("%s is a CNAME to %s, which has no key record", name, cname))
			}
			continue
		}
		checked++
		checkDKIMRecord(t, sel, name, txts, res)
	}
	if checked == 0 {
		sel := selectors[0]
		res.note(StatusFail, "no DKIM key record at "+strings.Join(missing, " or "), dkimMissingFix(t, sel))
		return res.done(""), false
	}
	out := res.done(fmt.Sprintf("DKIM key published for %s", t.domain))
	return out, out.Status != StatusFail
}

// dkimMissingFix says what record to publish for selector.
func dkimMissingFix(t target, sel string) string {
	name := dkimkey.RecordName(sel, t.domain)
	if t.key != nil {
		if v := dkimkey.TXTRecord(t.key); v != "" {
			return txtFix(name, v)
		}
	}
	if t.hasHints {
		var lines []string
		for _, h := range t.hints.Records {
			if h.Purpose == "DKIM" {
				lines = append(lines, fmt.Sprintf("%s %s %s", strings.ReplaceAll(h.Name, DomainPlaceholder, t.domain), h.Type, strings.ReplaceAll(h.Value, DomainPlaceholder, t.domain)))
			}
		}
		if len(lines) > 0 {
			return fmt.Sprintf("Publish the DKIM records %s shows for %s:\n%s", t.hints.Name, t.domain, strings.Join(lines, "\n"))
		}
	}
	return fmt.Sprintf("Generate a key and publish its record: authmail dkim keygen --domain %s --selector %s", t.domain, sel)
}

func checkDKIMRecord(t target, sel, name string, txts []string, res *result) {
	for _, txt := range txts {
		res.Found = append(res.Found, name+" TXT "+txt)
	}
	fix := dkimMissingFix(t, sel)
	if len(txts) > 1 {
		res.note(StatusFail, fmt.Sprintf("%d TXT records at %s: receivers cannot tell which key to use; keep one", len(txts), name), fix)
		return
	}
	pub, tg, err := parseDKIMKey(txts[0])
	if err != nil {
		res.note(StatusFail, fmt.Sprintf("the DKIM record at %s cannot be used: %v", name, err), fix)
		return
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		res.Details = append(res.Details, fmt.Sprintf("%s: RSA %d-bit key", name, bits))
		switch {
		case bits < 1024:
			res.note(StatusFail, fmt.Sprintf("the key at %s is RSA %d bits: receivers ignore signatures from keys under 1024 bits (RFC 8301)", name, bits), fix)
		case bits < dkimkey.MinRSABits:
			res.note(StatusWarn, fmt.Sprintf("the key at %s is RSA %d bits: rotate to 2048 bits (RFC 8301 recommends it; some receivers discount 1024)", name, bits), fix)
		}
	case ed25519.PublicKey:
		res.Details = append(res.Details, name+": Ed25519 key (receivers that lack Ed25519 support ignore it; pair it with an RSA key under another selector)")
	}
	if h, ok := tg["h"]; ok && !strings.Contains(strings.ToLower(h), "sha256") {
		res.note(StatusFail, fmt.Sprintf("the record at %s allows only h=%s; signatures use sha256", name, h), fix)
	}
	if strings.Contains(strings.ToLower(tg["t"]), "y") {
		res.note(StatusWarn, fmt.Sprintf("the record at %s has t=y (testing): receivers may treat signed mail as unsigned", name), fix)
	}
	if t.key != nil && !dkimkey.SamePublicKey(t.key, pub) {
		res.note(StatusFail, fmt.Sprintf("the key at %s does not match the configured private key: signatures will fail", name), txtFix(name, dkimkey.TXTRecord(t.key)))
	} else if t.key != nil {
		res.Details = append(res.Details, name+" matches the configured private key")
	}
}
