package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/dkimkey"
	"github.com/authmail/authmail/internal/dnscheck"
	"github.com/authmail/authmail/internal/dnscheck/dnstest"
	"github.com/authmail/authmail/internal/store/storetest"
)

// TestTheDomainCheckShowsEachFindingWithTheRecordToPublish: the form is
// filled in from the SMTP connector; a domain publishing nothing but an
// MX fails SPF, DKIM and DMARC, each with the record to publish; a
// malformed domain is refused next to its field.
func TestTheDomainCheckShowsEachFindingWithTheRecordToPublish(t *testing.T) {
	srv := dnstest.Start(t, "bad.acme.test. 300 IN MX 10 mx.acme.test.", "relay.acme.test. 300 IN A 198.51.100.7")
	t.Setenv(dnscheck.ResolverEnv, srv.Addr)
	a := apptest.New(t, storetest.SQLiteURL(t))
	a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "smtp", "config": map[string]any{
		"host": "relay.acme.test", "port": 587, "fromEmail": "Acme <no-reply@bad.acme.test>"}}, http.StatusOK, nil)
	v := signedIn(t, a)
	page := v.get("/console/deliverability")
	if page.value("check-from") != "no-reply@bad.acme.test" {
		t.Fatalf("the From field reads %q, want the connector's sender", page.value("check-from"))
	}
	r := v.get("/console/deliverability?run=1&from=no-reply%40bad.acme.test")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("check: %d %s", r.StatusCode, r.alert())
	}
	for _, id := range []string{"spf", "dmarc"} {
		f := r.byIDText("finding-" + id)
		if !strings.Contains(f, "Fail") || !strings.Contains(f, "Publish or change:") {
			t.Errorf("%s finding %q: want a failure with the record to publish", id, f)
		}
	}
	if f := r.byIDText("finding-dkim"); strings.Contains(f, "Pass") || !strings.Contains(f, "_domainkey.bad.acme.test") {
		t.Errorf("dkim finding %q: want what to publish under _domainkey", f)
	}
	if f := r.byIDText("finding-spf"); !strings.Contains(f, "v=spf1") {
		t.Errorf("the SPF fix does not give the record: %q", f)
	}
	if r := v.get("/console/deliverability?run=1&domain=not+a+domain"); r.StatusCode != http.StatusBadRequest || r.fieldError("check-domain") == "" {
		t.Fatalf("bad domain: %d %q", r.StatusCode, r.fieldError("check-domain"))
	}
}

// TestMakingADKIMKeyShowsTheRecordAndTheKeyOnce: the record is the public
// half of the private key shown, placed at selector._domainkey.domain.
func TestMakingADKIMKeyShowsTheRecordAndTheKeyOnce(t *testing.T) {
	a := apptest.New(t, storetest.SQLiteURL(t))
	v := signedIn(t, a)
	page := v.get("/console/deliverability")
	r := v.submit(page, "/console/deliverability/dkim", "", map[string]string{"domain": "auth.acme.test", "selector": "authmail1", "algorithm": "rsa"})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.byIDText("dkim-key"), "authmail1._domainkey.auth.acme.test") {
		t.Fatalf("make key: %d %q %s", r.StatusCode, r.byIDText("dkim-key"), r.alert())
	}
	cfg := rawText(find(r.doc, byID("dkim-config")))
	start := strings.Index(cfg, "-----BEGIN")
	end := strings.Index(cfg, "-----END PRIVATE KEY-----")
	if start < 0 || end < 0 {
		t.Fatalf("no private key in %q", cfg)
	}
	pemKey := strings.ReplaceAll(cfg[start:end+len("-----END PRIVATE KEY-----")], `\n`, "\n")
	signer, err := dkimkey.ParsePrivateKey([]byte(pemKey))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.byIDText("dkim-record"), dkimkey.TXTRecord(signer.Public()); got != want {
		t.Fatalf("record %q is not the key's %q", got, want)
	}
	if strings.Contains(a.Logs(), "PRIVATE KEY") {
		t.Fatal("the private key is in the log")
	}
	r = v.submit(page, "/console/deliverability/dkim", "", map[string]string{"domain": "auth.acme.test", "selector": "bad selector"})
	if r.StatusCode != http.StatusBadRequest || r.fieldError("key-selector") == "" {
		t.Fatalf("bad selector: %d %q", r.StatusCode, r.fieldError("key-selector"))
	}
}
