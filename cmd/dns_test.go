package authmailcmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/dkimkey"
	"github.com/authmail/authmail/internal/dnscheck"
	"github.com/authmail/authmail/internal/dnscheck/dnstest"

	// --provider resolves through the registry of the built-in connectors.
	_ "github.com/authmail/authmail/connectors/standard"
)

// dnsFixture serves a domain set up for SendGrid whose checks all pass
// (auth.good.com, DKIM selector s1), one whose SPF lacks SendGrid's include
// (noinclude.com) and one that never answers (hang.com). keyPEM is the
// private key of the published DKIM record.
func dnsFixture(t *testing.T) (srv *dnstest.Server, keyPEM []byte) {
	t.Helper()
	keyPEM, pub, err := dkimkey.Generate("rsa", 2048)
	if err != nil {
		t.Fatal(err)
	}
	txt := func(name, value string) string { return dkimkey.ZoneLine(name, value, 300) }
	rec := dkimkey.TXTRecord(pub)
	srv = dnstest.Start(t,
		txt("sendgrid.net", "v=spf1 ip4:167.89.0.0/17 ip4:198.37.144.0/20 ~all"),
		txt("auth.good.com", "v=spf1 include:sendgrid.net -all"),
		txt("s1._domainkey.auth.good.com", rec),
		txt("_dmarc.auth.good.com", "v=DMARC1; p=reject; rua=mailto:dmarc@good.com"),
		"auth.good.com. 300 IN MX 10 mx.good.com.",
		txt("good.com", "v=spf1 include:sendgrid.net -all"),
		"good.com. 300 IN MX 10 mx.good.com.",
		txt("_dmarc.good.com", "v=DMARC1; p=reject; rua=mailto:dmarc@good.com"),
		txt("noinclude.com", "v=spf1 ip4:192.0.2.1 -all"),
	)
	srv.Hang("hang.com")
	return srv, keyPEM
}

// TestDNSCheckWritesTheReportAsJSON: --format json is the report the
// HTTP API returns, with the fields its clients read, and never the key.
func TestDNSCheckWritesTheReportAsJSON(t *testing.T) {
	t.Parallel()
	srv, keyPEM := dnsFixture(t)
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runArgs(t, nil, "dns", "check", "auth.good.com", "--selector", "s1", "--from", "noreply@auth.good.com",
		"--provider", "sendgrid", "--dkim-key", keyFile, "--resolver", srv.Addr, "--timeout", "2s", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	var rep dnscheck.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not a JSON report: %v\n%s", err, out)
	}
	if rep.Domain != "auth.good.com" || rep.From != "noreply@auth.good.com" || rep.Provider != "sendgrid" || len(rep.Checks) != 6 {
		t.Fatalf("report = %+v", rep)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	first := raw["checks"].([]any)[0].(map[string]any)
	for _, key := range []string{"id", "status", "summary", "found", "details"} {
		if _, ok := first[key]; !ok {
			t.Errorf("JSON check lacks %q: %v", key, first)
		}
	}
	if first["id"] != "spf" || first["status"] != "pass" {
		t.Errorf("first check = %v", first)
	}
	if strings.Contains(out, "PRIVATE KEY") {
		t.Fatal("the private key reached the output")
	}
	// It is dnscheck.Check's report, which the HTTP API returns too.
	r, err := dnscheck.NewResolver(srv.Addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(dnscheck.Check(context.Background(), r, dnscheck.Options{Domain: "auth.good.com", Selector: "s1",
		From: "noreply@auth.good.com", Provider: "sendgrid", DKIMPrivateKey: connector.Secret(keyPEM)}))
	if err != nil {
		t.Fatal(err)
	}
	var fromCheck any
	if err := json.Unmarshal(want, &fromCheck); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(raw, fromCheck) {
		t.Errorf("the printed report is not dnscheck.Check's:\nprinted: %s\nCheck:   %s", out, want)
	}
}

// TestDNSCheckExitCodes: a failing check and a DNS timeout exit with
// exitFailed (a timeout is never a pass), a usage mistake with exitUsage
// and a message on stderr.
func TestDNSCheckExitCodes(t *testing.T) {
	t.Parallel()
	srv, _ := dnsFixture(t)
	code, out, _ := runArgs(t, nil, "dns", "check", "--resolver", srv.Addr, "noinclude.com", "--provider", "sendgrid")
	if code != exitFailed {
		t.Fatalf("failing domain: exit %d\n%s", code, out)
	}
	for _, want := range []string{"[FAIL ] spf", "does not include sendgrid.net", `fix:`, `noinclude.com. 3600 IN TXT "v=spf1 ip4:192.0.2.1 include:sendgrid.net -all"`, "could not be checked"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runArgs(t, nil, "dns", "check", "auth.hang.com", "--resolver", srv.Addr, "--timeout", "200ms", "--format", "json")
	if code != exitFailed || !strings.Contains(out, `"status": "error"`) || strings.Contains(out, `"id": "spf",\n      "status": "pass"`) {
		t.Fatalf("timeout: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"--resolver", srv.Addr},
		{"a.com", "b.com", "--resolver", srv.Addr},
		{"good.com", "--format", "xml", "--resolver", srv.Addr},
		{"good.com", "--provider", "carrier-pigeon", "--resolver", srv.Addr},
		{"good.com", "--dkim-key", "/nonexistent/key.pem", "--resolver", srv.Addr},
		{"not_a_domain", "--resolver", srv.Addr},
		{"good.com", "--bogus"},
	} {
		if code, _, errOut := runArgs(t, nil, append([]string{"dns", "check"}, args...)...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d", args, code, errOut, exitUsage)
		}
	}
}

// TestDNSCheckResolverFromEnvironment: without --resolver, the check asks
// the nameserver in AUTHMAIL_DNS_RESOLVER.
func TestDNSCheckResolverFromEnvironment(t *testing.T) {
	t.Parallel()
	srv, _ := dnsFixture(t)
	code, out, errOut := runArgs(t, map[string]string{dnscheck.ResolverEnv: srv.Addr},
		"dns", "check", "--from", "noreply@auth.good.com", "--selector", "s1", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	var rep dnscheck.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Resolver != srv.Addr || rep.Domain != "auth.good.com" {
		t.Fatalf("resolver %q domain %q, want %q and auth.good.com", rep.Resolver, rep.Domain, srv.Addr)
	}
	if srv.Queries() == 0 {
		t.Fatal("the fixture server saw no query")
	}
}

// TestDNSCheckAcceptsEveryRegisteredProvider runs the check with
// --provider set to every factory ID and alias the registry knows: each is
// accepted, and the report names the factory it resolves to.
func TestDNSCheckAcceptsEveryRegisteredProvider(t *testing.T) {
	t.Parallel()
	srv, _ := dnsFixture(t)
	factories, aliases := connector.Factories(), 0
	if len(factories) == 0 {
		t.Fatal("no connector factory is registered")
	}
	for _, f := range factories {
		aliases += len(f.Aliases)
		for _, id := range append([]string{f.ID}, f.Aliases...) {
			t.Run(id, func(t *testing.T) {
				t.Parallel()
				code, out, errOut := runArgs(t, nil, "dns", "check", "auth.good.com", "--provider", id, "--resolver", srv.Addr, "--timeout", "2s", "--format", "json")
				if code == exitUsage {
					t.Fatalf("--provider %s refused: %s", id, errOut)
				}
				var rep dnscheck.Report
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatalf("output is not a JSON report: %v\n%s", err, out)
				}
				if rep.Provider != f.ID {
					t.Errorf("--provider %s: report provider %q, want %q", id, rep.Provider, f.ID)
				}
			})
		}
	}
	if aliases == 0 {
		t.Error("no registered factory has an alias, so no alias was tried")
	}
}
