package dnscheck_test

import (
	"context"
	"crypto"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/dkimkey"
	"github.com/authmail/authmail/internal/dnscheck"
	"github.com/authmail/authmail/internal/dnscheck/dnstest"
)

type testBundle struct {
	srv     *dnstest.Server
	r       *dnscheck.Resolver
	key     crypto.PublicKey // published at s1._domainkey of the good domains
	keyPEM  []byte
	other   []byte // a private key that is published nowhere
	weakRec string // a 1024-bit RSA key record
}

func txt(name, value string) string { return dkimkey.ZoneLine(name, value, 300) }

// setup serves the fixture zones. Each domain is one scenario.
func setup(t *testing.T) *testBundle {
	t.Helper()
	keyPEM, key, err := dkimkey.Generate("rsa", 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := dkimkey.Generate("ed25519", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, edPub, err := dkimkey.Generate("ed25519", 0)
	if err != nil {
		t.Fatal(err)
	}
	b := &testBundle{key: key, keyPEM: keyPEM, other: other, weakRec: weakRecord}
	rec := dkimkey.TXTRecord(key)
	zones := []string{
		// Provider records.
		txt("sendgrid.net", "v=spf1 ip4:167.89.0.0/17 ip4:198.37.144.0/20 ~all"),
		txt("mailgun.org", "v=spf1 ip4:209.61.151.0/24 ~all"),
		txt("s1.domainkey.u1.wl1.sendgrid.net", rec),
		"relay.mail.example. 300 IN A 198.51.100.7",

		// good.com: a sending subdomain set up for SendGrid; all checks pass.
		txt("auth.good.com", "v=spf1 include:sendgrid.net -all"),
		txt("s1._domainkey.auth.good.com", rec),
		txt("ed._domainkey.auth.good.com", dkimkey.TXTRecord(edPub)),
		txt("_dmarc.auth.good.com", "v=DMARC1; p=reject; rua=mailto:dmarc@good.com"),
		"auth.good.com. 300 IN MX 10 mx.good.com.",
		txt("good.com", "v=spf1 include:sendgrid.net -all"),
		"good.com. 300 IN MX 10 mx.good.com.",
		txt("_dmarc.good.com", "v=DMARC1; p=reject; rua=mailto:dmarc@good.com"),
		txt("s1._domainkey.good.com", rec),

		// SendGrid DKIM through a CNAME, as SendGrid sets it up.
		txt("cname.com", "v=spf1 include:sendgrid.net -all"),
		"s1._domainkey.cname.com. 300 IN CNAME s1.domainkey.u1.wl1.sendgrid.net.",

		// SPF scenarios.
		txt("two.com", "v=spf1 include:sendgrid.net -all"),
		txt("two.com", "v=spf1 ip4:192.0.2.10 ~all"),
		txt("noall.com", "v=spf1 include:sendgrid.net"),
		txt("plusall.com", "v=spf1 include:sendgrid.net +all"),
		txt("noinclude.com", "v=spf1 ip4:192.0.2.1 -all"),
		txt("syntax.com", "v=spf1 include:sendgrid.net bogus -all"),
		txt("nospf.com", "google-site-verification=abc"),
		txt("relayok.com", "v=spf1 ip4:198.51.100.0/24 -all"),
		txt("relaybad.com", "v=spf1 ip4:203.0.113.0/24 -all"),
		"pm-bounces.pm.com. 300 IN CNAME pm.mtasv.net.",
		"pm-bad.com. 300 IN MX 10 mx.pm-bad.com.",

		// DKIM scenarios.
		txt("garbled._domainkey.good.com", "v=DKIM1; k=rsa; p=!!not-base64!!"),
		txt("weak._domainkey.good.com", weakRecord),
		txt("revoked._domainkey.good.com", "v=DKIM1; k=rsa; p="),

		// DMARC scenarios.
		"auth.none.com. 300 IN MX 10 mx.none.com.",
		txt("_dmarc.orgonly.com", "v=DMARC1; p=quarantine; rua=mailto:d@orgonly.com"),
		"auth.orgonly.com. 300 IN MX 10 mx.orgonly.com.",
		txt("_dmarc.pnone.com", "v=DMARC1; p=none; rua=mailto:d@pnone.com"),
		txt("_dmarc.pct.com", "v=DMARC1; p=reject; pct=50; rua=mailto:d@pct.com"),
		txt("_dmarc.norua.com", "v=DMARC1; p=reject"),
		txt("_dmarc.badp.com", "v=DMARC1; p=maybe"),

		// Alignment scenarios.
		txt("_dmarc.strict.com", "v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:d@strict.com"),
		txt("_dmarc.relaxed.com", "v=DMARC1; p=reject; rua=mailto:d@relaxed.com"),
		txt("mail.relaxed.com", "v=spf1 ip4:192.0.2.1 -all"),
		txt("s1._domainkey.mail.relaxed.com", rec),
		txt("mail.strict.com", "v=spf1 ip4:192.0.2.1 -all"),
		txt("s1._domainkey.mail.strict.com", rec),
		txt("20260101pm._domainkey.strict.com", rec),
		"other.com. 300 IN MX 10 mx.other.com.",
		// unauth.com exists, with neither SPF nor DKIM.
		"unauth.com. 300 IN MX 10 mx.unauth.com.",
		txt("_dmarc.unauth.com", "v=DMARC1; p=reject; rua=mailto:d@unauth.com"),

		txt("voids.com", "v=spf1 include:nx1.voids.com include:nx2.voids.com a:nx3.voids.com -all"),

		// SPF over the lookup limit: a chain of eleven includes.
		txt("over.com", "v=spf1 include:n1.over.com -all"),
	}
	for i := 1; i <= 10; i++ {
		zones = append(zones, txt(fmt.Sprintf("n%d.over.com", i), fmt.Sprintf("v=spf1 ip4:192.0.2.%d include:n%d.over.com ~all", i, i+1)))
	}
	zones = append(zones, txt("n11.over.com", "v=spf1 ip4:192.0.2.200 ~all"))
	b.srv = dnstest.Start(t, zones...)
	b.srv.Hang("hang.com")
	b.srv.ServFail("broken.com")
	b.r, err = dnscheck.NewResolver(b.srv.Addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// weakRecord is a 1024-bit RSA key record (Go refuses to generate such keys).
const weakRecord = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"

func check(t *testing.T, b *testBundle, o dnscheck.Options) dnscheck.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return dnscheck.Check(ctx, b.r, o)
}

func want(t *testing.T, rep dnscheck.Report, id string, status dnscheck.Status, summaryOrFix ...string) dnscheck.Result {
	t.Helper()
	res, ok := rep.Result(id)
	if !ok {
		t.Fatalf("no %s result in %+v", id, rep)
	}
	if res.Status != status {
		t.Fatalf("%s = %s (%s), want %s; details %q, fix %q", id, res.Status, res.Summary, status, res.Details, res.Fix)
	}
	all := res.Summary + "\n" + res.Fix + "\n" + strings.Join(res.Details, "\n")
	for _, s := range summaryOrFix {
		if !strings.Contains(all, s) {
			t.Fatalf("%s result lacks %q:\nsummary: %s\nfix: %s\ndetails: %q", id, s, res.Summary, res.Fix, res.Details)
		}
	}
	return res
}

func TestGoodDomainPassesEveryCheck(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rep := check(t, b, dnscheck.Options{Domain: "auth.good.com", From: "Example <noreply@auth.good.com>", Selector: "s1", Provider: "sendgrid", DKIMPrivateKey: connector.Secret(b.keyPEM)})
	for _, c := range rep.Checks {
		if c.Status != dnscheck.StatusPass {
			t.Errorf("%s = %s: %s (fix %q)", c.ID, c.Status, c.Summary, c.Fix)
		}
		if c.Fix != "" {
			t.Errorf("%s passes but has a fix %q", c.ID, c.Fix)
		}
	}
	if len(rep.Checks) != 6 || rep.Failed() || rep.From != "noreply@auth.good.com" {
		t.Fatalf("report = %+v", rep)
	}
	spf := want(t, rep, "spf", dnscheck.StatusPass, "includes sendgrid.net", "1 DNS-querying terms")
	if len(spf.Found) != 1 || spf.Found[0] != "v=spf1 include:sendgrid.net -all" {
		t.Fatalf("spf found = %q", spf.Found)
	}
	want(t, rep, "dkim", dnscheck.StatusPass, "RSA 2048-bit", "matches the configured private key")
	want(t, rep, "mx", dnscheck.StatusPass, "1 MX")
	want(t, rep, "separation", dnscheck.StatusPass, "subdomain of good.com")
}

func TestSPF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		name   string
		opts   dnscheck.Options
		status dnscheck.Status
		want   []string
	}{
		{"Missing", dnscheck.Options{Domain: "nospf.com", Provider: "sendgrid"}, dnscheck.StatusFail, []string{"no SPF record", `nospf.com. 3600 IN TXT "v=spf1 include:sendgrid.net ~all"`}},
		{"TwoRecords", dnscheck.Options{Domain: "two.com", Provider: "sendgrid"}, dnscheck.StatusFail, []string{"2 SPF records", `two.com. 3600 IN TXT "v=spf1 include:sendgrid.net ip4:192.0.2.10 -all"`}},
		{"OverLookupLimit", dnscheck.Options{Domain: "over.com"}, dnscheck.StatusFail, []string{"needs 11 DNS lookups", "receivers stop at 10"}},
		{"VoidLookups", dnscheck.Options{Domain: "voids.com"}, dnscheck.StatusFail, []string{"3 void lookups (limit 2)", "nx1.voids.com has no SPF record"}},
		{"NoAll", dnscheck.Options{Domain: "noall.com", Provider: "sendgrid"}, dnscheck.StatusFail, []string{"no all term", `"v=spf1 include:sendgrid.net ~all"`}},
		{"PlusAll", dnscheck.Options{Domain: "plusall.com", Provider: "sendgrid"}, dnscheck.StatusFail, []string{"+all", `"v=spf1 include:sendgrid.net -all"`}},
		{"ProviderIncludeMissing", dnscheck.Options{Domain: "noinclude.com", Provider: "sendgrid"}, dnscheck.StatusFail, []string{"does not include sendgrid.net", `"v=spf1 ip4:192.0.2.1 include:sendgrid.net -all"`}},
		{"WrongProviderInclude", dnscheck.Options{Domain: "auth.good.com", Provider: "mailgun"}, dnscheck.StatusFail, []string{"does not include mailgun.org"}},
		{"InvalidSyntax", dnscheck.Options{Domain: "syntax.com", Provider: "sendgrid"}, dnscheck.StatusFail, []string{"invalid", "unknown term \"bogus\""}},
		{"SMTPHostAuthorised", dnscheck.Options{Domain: "relayok.com", Provider: "smtp", SMTPHost: "relay.mail.example"}, dnscheck.StatusPass, []string{"authorises SMTP host relay.mail.example"}},
		{"SMTPHostNotAuthorised", dnscheck.Options{Domain: "relaybad.com", SMTPHost: "relay.mail.example"}, dnscheck.StatusFail, []string{"does not authorise SMTP host", `"v=spf1 ip4:203.0.113.0/24 ip4:198.51.100.7 -all"`}},
		{"PostmarkNeedsNoSPF", dnscheck.Options{Domain: "pm.com", Provider: "postmark"}, dnscheck.StatusPass, []string{"does not need"}},
		{"PostmarkReturnPathMissing", dnscheck.Options{Domain: "pm-bad.com", Provider: "postmark"}, dnscheck.StatusFail, []string{"pm-bounces.pm-bad.com. 3600 IN CNAME pm.mtasv.net."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want(t, check(t, b, tc.opts), "spf", tc.status, tc.want...)
		})
	}
}

func TestDKIM(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		name   string
		opts   dnscheck.Options
		status dnscheck.Status
		want   []string
	}{
		{"Ed25519", dnscheck.Options{Domain: "auth.good.com", Selector: "ed"}, dnscheck.StatusPass, []string{"Ed25519 key"}},
		{"ThroughProviderCNAME", dnscheck.Options{Domain: "cname.com", Provider: "sendgrid"}, dnscheck.StatusPass, []string{"RSA 2048-bit"}},
		{"Missing", dnscheck.Options{Domain: "auth.good.com", Selector: "nope"}, dnscheck.StatusFail, []string{"no DKIM key record at nope._domainkey.auth.good.com", "authmail dkim keygen --domain auth.good.com --selector nope"}},
		{"MissingWithConfiguredKey", dnscheck.Options{Domain: "auth.good.com", Selector: "new", DKIMPrivateKey: connector.Secret(b.keyPEM)}, dnscheck.StatusFail, []string{"new._domainkey.auth.good.com. 3600 IN TXT " + strings.TrimPrefix(txt("new._domainkey.auth.good.com", dkimkey.TXTRecord(b.key)), "new._domainkey.auth.good.com. 300 IN TXT ")}},
		{"MissingProviderRecords", dnscheck.Options{Domain: "noinclude.com", Provider: "sendgrid"}, dnscheck.StatusFail, []string{"s1._domainkey.noinclude.com CNAME s1.domainkey.u<ACCOUNT>.wl<NNN>.sendgrid.net"}},
		{"Unparseable", dnscheck.Options{Domain: "good.com", Selector: "garbled"}, dnscheck.StatusFail, []string{"cannot be used", "not valid base64"}},
		{"Revoked", dnscheck.Options{Domain: "good.com", Selector: "revoked"}, dnscheck.StatusFail, []string{"revoked"}},
		{"RSA1024", dnscheck.Options{Domain: "good.com", Selector: "weak"}, dnscheck.StatusWarn, []string{"RSA 1024 bits", "rotate to 2048"}},
		{"MismatchWithConfiguredKey", dnscheck.Options{Domain: "auth.good.com", Selector: "s1", DKIMPrivateKey: connector.Secret(b.other)}, dnscheck.StatusFail, []string{"does not match the configured private key", "s1._domainkey.auth.good.com. 3600 IN TXT \"v=DKIM1; k=ed25519; p="}},
		{"BadConfiguredKey", dnscheck.Options{Domain: "auth.good.com", Selector: "s1", DKIMPrivateKey: "not pem"}, dnscheck.StatusFail, []string{"not a PEM"}},
		{"NoSelector", dnscheck.Options{Domain: "auth.good.com"}, dnscheck.StatusWarn, []string{"no DKIM selector"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want(t, check(t, b, tc.opts), "dkim", tc.status, tc.want...)
		})
	}
}

func TestDMARC(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		name   string
		from   string
		status dnscheck.Status
		want   []string
	}{
		{"OnOrganisationalDomainOnly", "noreply@auth.orgonly.com", dnscheck.StatusPass, []string{"p=quarantine at _dmarc.orgonly.com (organisational domain)", "no record at _dmarc.auth.orgonly.com"}},
		{"Missing", "noreply@auth.none.com", dnscheck.StatusFail, []string{"no DMARC record", `_dmarc.none.com. 3600 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@none.com"`}},
		{"PolicyNone", "noreply@pnone.com", dnscheck.StatusWarn, []string{"p=none", `"v=DMARC1; p=quarantine; rua=mailto:d@pnone.com"`}},
		{"PctBelow100", "noreply@pct.com", dnscheck.StatusWarn, []string{"pct=50", `"v=DMARC1; p=reject; rua=mailto:d@pct.com"`}},
		{"NoRua", "noreply@norua.com", dnscheck.StatusWarn, []string{"no rua=", `"v=DMARC1; p=reject; rua=mailto:dmarc-reports@norua.com"`}},
		{"InvalidPolicy", "noreply@badp.com", dnscheck.StatusFail, []string{"p=maybe"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want(t, check(t, b, dnscheck.Options{From: tc.from}), "dmarc", tc.status, tc.want...)
		})
	}
}

func TestAlignment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		name   string
		opts   dnscheck.Options
		status dnscheck.Status
		want   []string
	}{
		{"Aligned", dnscheck.Options{Domain: "auth.good.com", From: "noreply@auth.good.com", Selector: "s1"}, dnscheck.StatusPass, []string{"aligns with both"}},
		{"AlignedButDKIMNotEstablished", dnscheck.Options{Domain: "auth.good.com", From: "noreply@auth.good.com"}, dnscheck.StatusWarn, []string{"aligns only with SPF", "has no usable key"}},
		{"AlignedButDKIMKeyMissing", dnscheck.Options{Domain: "auth.good.com", From: "noreply@auth.good.com", Selector: "nope"}, dnscheck.StatusWarn, []string{"aligns only with SPF"}},
		{"NeitherSPFNorDKIMEstablished", dnscheck.Options{Domain: "unauth.com", From: "noreply@unauth.com", Selector: "s1"}, dnscheck.StatusFail, []string{"neither SPF nor DKIM is established for unauth.com", "Make the spf and dkim checks pass"}},
		{"MisalignedFrom", dnscheck.Options{Domain: "auth.good.com", From: "noreply@other.com", Selector: "s1"}, dnscheck.StatusFail, []string{"aligns with neither", "noreply@auth.good.com"}},
		{"RelaxedSubdomain", dnscheck.Options{Domain: "mail.relaxed.com", From: "noreply@relaxed.com", Selector: "s1"}, dnscheck.StatusPass, []string{"aligns with both", "(relaxed)"}},
		{"StrictSubdomain", dnscheck.Options{Domain: "mail.strict.com", From: "noreply@strict.com", Selector: "s1"}, dnscheck.StatusFail, []string{"adkim=s, aspf=s"}},
		{"PostmarkAlignsByDKIM", dnscheck.Options{Domain: "strict.com", From: "noreply@strict.com", Provider: "postmark", Selector: "20260101pm"}, dnscheck.StatusPass, []string{"aligns with DKIM", "pm-bounces.strict.com does not align"}},
		{"SPFOnlyUnderStrictDKIM", dnscheck.Options{Domain: "mail.strict.com", From: "noreply@strict.com", Provider: "postmark"}, dnscheck.StatusFail, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want(t, check(t, b, tc.opts), "alignment", tc.status, tc.want...)
		})
	}
}

func TestSeparationAndMX(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rep := check(t, b, dnscheck.Options{From: "noreply@good.com", Selector: "s1"})
	want(t, rep, "separation", dnscheck.StatusWarn, "organisational domain good.com", "auth.good.com")
	want(t, rep, "mx", dnscheck.StatusPass)

	rep = check(t, b, dnscheck.Options{From: "noreply@nospf.com", Provider: "mailgun"})
	want(t, rep, "mx", dnscheck.StatusFail, "no MX record for nospf.com", "nospf.com. 3600 IN MX 10 mxa.mailgun.org.")
}

func TestDNSFailureIsNeverAPass(t *testing.T) {
	t.Parallel()
	b := setup(t)
	fast, err := dnscheck.NewResolver(b.srv.Addr, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for _, domain := range []string{"auth.hang.com", "auth.broken.com"} {
		t.Run(domain, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			rep := dnscheck.Check(context.Background(), fast, dnscheck.Options{Domain: domain, Selector: "s1", Provider: "sendgrid"})
			if time.Since(start) > 8*time.Second {
				t.Fatalf("check took %v", time.Since(start))
			}
			for _, id := range []string{"spf", "dkim", "dmarc", "mx"} {
				want(t, rep, id, dnscheck.StatusError, "could not check")
			}
			// Identical domains align under any mode, but neither SPF nor
			// DKIM could be established: alignment cannot pass.
			want(t, rep, "alignment", dnscheck.StatusError, "could not check", "strict alignment is required")
			if !rep.Failed() || rep.Status() != dnscheck.StatusError {
				t.Fatalf("report status %s, failed %v", rep.Status(), rep.Failed())
			}
			rep = dnscheck.Check(context.Background(), fast, dnscheck.Options{Domain: "mail." + domain, From: "noreply@" + domain})
			want(t, rep, "alignment", dnscheck.StatusError, "could not check")
		})
	}
}

func TestResolverDistinguishesOutcomes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	fast, err := dnscheck.NewResolver(b.srv.Addr, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fast.LookupTXT(ctx, "missing.example"); !errorIs(err, dnscheck.ErrNXDomain) || !dnscheck.NotFound(err) {
		t.Errorf("NXDOMAIN: %v", err)
	}
	if _, err := fast.LookupMX(ctx, "two.com"); !errorIs(err, dnscheck.ErrNoRecords) || !dnscheck.NotFound(err) {
		t.Errorf("no MX: %v", err)
	}
	if _, err := fast.LookupTXT(ctx, "x.hang.com"); !errorIs(err, dnscheck.ErrTimeout) || dnscheck.NotFound(err) {
		t.Errorf("timeout: %v", err)
	}
	if _, err := fast.LookupA(ctx, "broken.com"); !errorIs(err, dnscheck.ErrServFail) || dnscheck.NotFound(err) {
		t.Errorf("servfail: %v", err)
	}
	ips, err := fast.LookupIP(ctx, "relay.mail.example")
	if err != nil || len(ips) != 1 || ips[0].String() != "198.51.100.7" {
		t.Errorf("LookupIP = %v, %v", ips, err)
	}
	target, err := fast.LookupCNAME(ctx, "pm-bounces.pm.com")
	if err != nil || target != "pm.mtasv.net." {
		t.Errorf("LookupCNAME = %q, %v", target, err)
	}
	txts, err := fast.LookupTXT(ctx, "s1._domainkey.good.com")
	if err != nil || len(txts) != 1 || txts[0] != dkimkey.TXTRecord(b.key) {
		t.Errorf("long TXT record not joined: %q, %v", txts, err)
	}
}

// TestNonexistentDomainIsReportedAsSuch: a sending or From domain that
// does not exist is named as such, in the report and in each check of
// records under it, instead of a list of missing records; checks of a
// domain that exists keep their own results; a domain whose existence
// could not be found out is not called nonexistent.
func TestNonexistentDomainIsReportedAsSuch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	missingRecord := []string{"no SPF record", "no DKIM key record", "no DMARC record", "no MX record"}
	noPile := func(t *testing.T, rep dnscheck.Report) {
		t.Helper()
		for _, c := range rep.Checks {
			for _, m := range missingRecord {
				if strings.Contains(c.Summary+strings.Join(c.Details, "\n"), m) {
					t.Errorf("%s reports %q for a domain that does not exist: %q", c.ID, m, c.Summary)
				}
			}
		}
	}

	rep := check(t, b, dnscheck.Options{Domain: "auth.nx-example.com", Selector: "s1", Provider: "sendgrid"})
	if len(rep.NonexistentDomains) != 1 || rep.NonexistentDomains[0] != "auth.nx-example.com" || !rep.Failed() {
		t.Fatalf("report = %+v, want auth.nx-example.com named as nonexistent", rep)
	}
	for _, id := range []string{"spf", "dkim", "dmarc", "mx"} {
		want(t, rep, id, dnscheck.StatusFail, "auth.nx-example.com does not exist (NXDOMAIN)", "register nx-example.com")
	}
	want(t, rep, "alignment", dnscheck.StatusFail, "does not exist (NXDOMAIN)", "DMARC fails")
	noPile(t, rep)
	var text strings.Builder
	if err := dnscheck.WriteText(&text, rep); err != nil || !strings.Contains(text.String(), "auth.nx-example.com does not exist (NXDOMAIN)") {
		t.Errorf("text report does not say the domain does not exist (%v):\n%s", err, text.String())
	}

	rep = check(t, b, dnscheck.Options{Domain: "auth.good.com", From: "noreply@nx.good.com", Selector: "s1", Provider: "sendgrid"})
	if len(rep.NonexistentDomains) != 1 || rep.NonexistentDomains[0] != "nx.good.com" {
		t.Fatalf("nonexistent domains = %q, want the From domain nx.good.com", rep.NonexistentDomains)
	}
	want(t, rep, "spf", dnscheck.StatusPass)
	want(t, rep, "dkim", dnscheck.StatusPass)
	want(t, rep, "dmarc", dnscheck.StatusFail, "nx.good.com does not exist (NXDOMAIN)")
	want(t, rep, "mx", dnscheck.StatusFail, "nx.good.com does not exist (NXDOMAIN)")
	want(t, rep, "alignment", dnscheck.StatusFail, "nx.good.com does not exist")

	fast, err := dnscheck.NewResolver(b.srv.Addr, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"auth.broken.com", "auth.hang.com"} {
		if rep := dnscheck.Check(context.Background(), fast, dnscheck.Options{Domain: d, Selector: "s1"}); len(rep.NonexistentDomains) != 0 {
			t.Errorf("%s, whose lookups fail, is reported nonexistent: %q", d, rep.NonexistentDomains)
		}
	}
}
