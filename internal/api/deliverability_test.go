package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/dkimkey"
	"github.com/authmail/authmail/internal/dnscheck"
	"github.com/authmail/authmail/internal/dnscheck/dnstest"
	"github.com/authmail/authmail/internal/store/storetest"
)

// dlvZones serves two sending domains: auth.acme.test, set up for an SMTP
// relay with authmail's own DKIM key (every check passes), and
// bad.acme.test, with nothing but an MX (SPF, DKIM and DMARC fail).
func dlvZones(t *testing.T, dkimRecord string) *dnstest.Server {
	t.Helper()
	txt := func(name, value string) string { return dkimkey.ZoneLine(name, value, 300) }
	return dnstest.Start(t,
		"relay.acme.test. 300 IN A 198.51.100.7",
		txt("auth.acme.test", "v=spf1 ip4:198.51.100.7 -all"),
		txt("authmail1._domainkey.auth.acme.test", dkimRecord),
		txt("_dmarc.auth.acme.test", "v=DMARC1; p=reject; rua=mailto:dmarc@acme.test"),
		"auth.acme.test. 300 IN MX 10 mx.acme.test.",
		"bad.acme.test. 300 IN MX 10 mx.acme.test.",
	)
}

// dlvApp starts an app whose checks query srv, with an SMTP connector
// that signs as authmail1._domainkey.auth.acme.test with keyPEM.
func dlvApp(t *testing.T, srv *dnstest.Server, keyPEM string) *apptest.App {
	t.Helper()
	t.Setenv(dnscheck.ResolverEnv, srv.Addr)
	a := apptest.New(t, storetest.SQLiteURL(t))
	a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "smtp", "config": map[string]any{
		"host": "relay.acme.test", "port": 587, "requireTLS": true,
		"auth":      map[string]any{"user": "authmail", "pass": "relay-pass-4c1e"},
		"fromEmail": "Acme <no-reply@auth.acme.test>",
		"dkim":      map[string]any{"domain": "auth.acme.test", "selector": "authmail1", "privateKey": keyPEM},
	}}, http.StatusOK, nil)
	return a
}

// dlvCheck calls the route and decodes the report.
func dlvCheck(t *testing.T, a *apptest.App, query string) (dnscheck.Report, []byte) {
	t.Helper()
	status, body := a.Do("GET", "/api/deliverability/check"+query, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /api/deliverability/check%s: status %d: %s", query, status, body)
	}
	var rep dnscheck.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return rep, body
}

func dlvResult(t *testing.T, rep dnscheck.Report, id string) dnscheck.Result {
	t.Helper()
	r, ok := rep.Result(id)
	if !ok {
		t.Fatalf("report has no %s check: %+v", id, rep)
	}
	return r
}

func dlvKey(t *testing.T) (pemKey string, record string) {
	t.Helper()
	pemBytes, pub, err := dkimkey.Generate("rsa", 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pemBytes), dkimkey.TXTRecord(pub)
}

func TestDeliverabilityPassingZoneWithConnectorDefaults(t *testing.T) {
	keyPEM, record := dlvKey(t)
	srv := dlvZones(t, record)
	a := dlvApp(t, srv, keyPEM)

	rep, body := dlvCheck(t, a, "")
	if rep.Domain != "auth.acme.test" || rep.From != "no-reply@auth.acme.test" || rep.Selector != "authmail1" || rep.Provider != "smtp" {
		t.Errorf("defaults = domain %q from %q selector %q provider %q, want the SMTP connector's auth.acme.test, no-reply@auth.acme.test, authmail1, smtp",
			rep.Domain, rep.From, rep.Selector, rep.Provider)
	}
	if rep.Resolver != srv.Addr {
		t.Errorf("resolver = %q, want %s from %s", rep.Resolver, srv.Addr, dnscheck.ResolverEnv)
	}
	for _, c := range rep.Checks {
		if c.Status != dnscheck.StatusPass {
			t.Errorf("%s: %s (%s), want pass", c.ID, c.Status, c.Summary)
		}
	}
	if len(rep.Checks) != 6 {
		t.Errorf("%d checks, want 6", len(rep.Checks))
	}
	// The connector's key and host were used: the DKIM record was matched
	// against the private key, and SPF was evaluated for the relay.
	if d := strings.Join(dlvResult(t, rep, dnscheck.CheckDKIM).Details, "\n"); !strings.Contains(d, "matches the configured private key") {
		t.Errorf("DKIM details do not compare the configured key:\n%s", d)
	}
	if d := strings.Join(dlvResult(t, rep, dnscheck.CheckSPF).Details, "\n"); !strings.Contains(d, "relay.acme.test") {
		t.Errorf("SPF details do not mention the SMTP host:\n%s", d)
	}
	if bytes.Contains(body, []byte("PRIVATE KEY")) || bytes.Contains(body, []byte("relay-pass-4c1e")) {
		t.Errorf("the report reveals a secret: %s", body)
	}

	// The API returns the report dnscheck.Check makes for the connector's
	// settings; `authmail dns check --format json` prints that report too
	// (the command's tests check it), so both say the same.
	r, err := dnscheck.NewResolver(srv.Addr, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want, err := json.Marshal(dnscheck.Check(ctx, r, dnscheck.Options{Domain: "auth.acme.test", From: "no-reply@auth.acme.test",
		Selector: "authmail1", Provider: "smtp", SMTPHost: "relay.acme.test", DKIMPrivateKey: connector.Secret(keyPEM)}))
	if err != nil {
		t.Fatal(err)
	}
	var fromAPI, fromCheck any
	if err := json.Unmarshal(body, &fromAPI); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &fromCheck); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromAPI, fromCheck) {
		t.Errorf("the API's report is not dnscheck.Check's:\nAPI:   %s\nCheck: %s", body, want)
	}
}

func TestDeliverabilityFailingZone(t *testing.T) {
	keyPEM, record := dlvKey(t)
	a := dlvApp(t, dlvZones(t, record), keyPEM)

	rep, _ := dlvCheck(t, a, "?domain=bad.acme.test&from=alerts@bad.acme.test")
	if rep.Domain != "bad.acme.test" || rep.From != "alerts@bad.acme.test" {
		t.Errorf("checked %s / %s, want the asked bad.acme.test / alerts@bad.acme.test", rep.Domain, rep.From)
	}
	if rep.Selector != "authmail1" || rep.Provider != "smtp" {
		t.Errorf("selector %q provider %q, want the connector's authmail1 and smtp", rep.Selector, rep.Provider)
	}
	if !rep.Failed() {
		t.Fatalf("a domain with no SPF, DKIM or DMARC passes: %+v", rep)
	}
	for _, id := range []string{dnscheck.CheckSPF, dnscheck.CheckDKIM, dnscheck.CheckDMARC} {
		r := dlvResult(t, rep, id)
		if r.Status != dnscheck.StatusFail {
			t.Errorf("%s: %s (%s), want fail", id, r.Status, r.Summary)
		}
		if r.Fix == "" {
			t.Errorf("%s fails without saying what to fix", id)
		}
	}
	if r := dlvResult(t, rep, dnscheck.CheckDKIM); !strings.Contains(r.Summary, "authmail1._domainkey.bad.acme.test") || !strings.Contains(r.Fix, "_domainkey.bad.acme.test TXT") {
		t.Errorf("DKIM summary %q / fix %q do not name the record to publish", r.Summary, r.Fix)
	}
	if r := dlvResult(t, rep, dnscheck.CheckMX); r.Status != dnscheck.StatusPass {
		t.Errorf("mx: %s (%s), want pass", r.Status, r.Summary)
	}

	// Another selector on the connector's own domain: the configured key
	// belongs to authmail1, so it is not compared with this record.
	rep, _ = dlvCheck(t, a, "?selector=old")
	if rep.Domain != "auth.acme.test" || rep.Selector != "old" {
		t.Errorf("checked %s selector %s, want auth.acme.test selector old", rep.Domain, rep.Selector)
	}
	if r := dlvResult(t, rep, dnscheck.CheckDKIM); r.Status != dnscheck.StatusFail || !strings.Contains(r.Summary, "old._domainkey.auth.acme.test") {
		t.Errorf("dkim: %s (%s), want a missing old._domainkey.auth.acme.test", r.Status, r.Summary)
	}
}

func TestDeliverabilityProviderDefault(t *testing.T) {
	srv := dnstest.Start(t, dkimkey.ZoneLine("auth.acme.test", "v=spf1 include:sendgrid.net -all", 300))
	t.Setenv(dnscheck.ResolverEnv, srv.Addr)
	a := apptest.New(t, storetest.SQLiteURL(t))
	a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "sendgrid", "config": map[string]any{
		"apiKey": "SG.test-key-0123456789", "fromEmail": "no-reply@auth.acme.test", "fromName": "Acme",
	}}, http.StatusOK, nil)
	rep, _ := dlvCheck(t, a, "")
	if rep.Provider != "sendgrid" || rep.From != "no-reply@auth.acme.test" || rep.Domain != "auth.acme.test" {
		t.Fatalf("defaults = provider %q from %q domain %q, want sendgrid, no-reply@auth.acme.test, auth.acme.test", rep.Provider, rep.From, rep.Domain)
	}
	// With no selector given, SendGrid's own s1 and s2 are looked up.
	if r := dlvResult(t, rep, dnscheck.CheckDKIM); !strings.Contains(r.Summary+r.Fix, "s1._domainkey.auth.acme.test") {
		t.Errorf("dkim: %s (%s; fix %s), want SendGrid's s1 selector", r.Status, r.Summary, r.Fix)
	}
	// An explicit provider wins over the connector's, and any registered
	// factory ID or alias names one.
	for _, f := range connector.Factories() {
		for _, id := range append([]string{f.ID}, f.Aliases...) {
			if rep, _ := dlvCheck(t, a, "?provider="+id); rep.Provider != f.ID {
				t.Errorf("provider=%s: report provider %q, want %q", id, rep.Provider, f.ID)
			}
		}
	}
}

func TestDeliverabilityInvalidInput(t *testing.T) {
	srv := dnstest.Start(t)
	t.Setenv(dnscheck.ResolverEnv, srv.Addr)
	a := apptest.New(t, storetest.SQLiteURL(t))

	// A fresh install runs the dev inbox, which has no sender to default to.
	e := a.WantError("GET", "/api/deliverability/check", nil, http.StatusBadRequest, "guard.invalid_input")
	if !strings.Contains(string(e.Data), `"domain"`) {
		t.Errorf("error data %s does not name domain", e.Data)
	}
	cases := map[string]string{
		"?domain=not_a_domain":                          "domain",
		"?domain=example":                               "domain",
		"?from=alice@":                                  "from",
		"?domain=auth.acme.test&selector=a%20b":         "selector",
		"?domain=auth.acme.test&selector=a%3Bb":         "selector",
		"?domain=auth.acme.test&smtpHost=a/b":           "smtpHost",
		"?domain=auth.acme.test%0d%0aX-Injected:1":      "domain",
		"?domain=" + strings.Repeat("a", 330) + ".test": "domain",
	}
	for q, field := range cases {
		e := a.WantError("GET", "/api/deliverability/check"+q, nil, http.StatusBadRequest, "guard.invalid_input")
		var data struct {
			Field string `json:"field"`
		}
		if err := json.Unmarshal(e.Data, &data); err != nil || data.Field != field {
			t.Errorf("%s: error names %q (%s), want %q", q, data.Field, e.Message, field)
		}
	}
	// An unknown provider is an unknown connector factory ID, answered as
	// on every route that takes one.
	if e := a.WantError("GET", "/api/deliverability/check?domain=auth.acme.test&provider=pigeon", nil, http.StatusUnprocessableEntity, "connector.not_found_with_connector_id"); !strings.Contains(string(e.Data), `"field":"provider"`) {
		t.Errorf("unknown provider: data %s does not name provider", e.Data)
	}
	if srv.Queries() != 0 {
		t.Errorf("invalid requests sent %d DNS queries, want none", srv.Queries())
	}
	resp, _ := a.Request("GET", "/api/deliverability/check?domain=auth.acme.test", nil, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the admin key: status %d, want 401", resp.StatusCode)
	}
}
