package dnscheck_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/dnscheck"
)

func runCommand(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := dnscheck.DNSCheckCommand(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestCommandJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, b.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCommand("check", "auth.good.com", "--selector", "s1", "--from", "noreply@auth.good.com",
		"--provider", "sendgrid", "--dkim-key", keyFile, "--resolver", b.srv.Addr, "--timeout", "2s", "--format", "json")
	if code != dnscheck.ExitOK {
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
}

func TestCommandExitCodes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	code, out, _ := runCommand("--resolver", b.srv.Addr, "noinclude.com", "--provider", "sendgrid")
	if code != dnscheck.ExitFailed {
		t.Fatalf("failing domain: exit %d\n%s", code, out)
	}
	for _, want := range []string{"[FAIL ] spf", "does not include sendgrid.net", `fix:`, `noinclude.com. 3600 IN TXT "v=spf1 ip4:192.0.2.1 include:sendgrid.net -all"`, "could not be checked"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCommand("auth.hang.com", "--resolver", b.srv.Addr, "--timeout", "200ms", "--format", "json")
	if code != dnscheck.ExitFailed || !strings.Contains(out, `"status": "error"`) || strings.Contains(out, `"id": "spf",\n      "status": "pass"`) {
		t.Fatalf("timeout: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"--resolver", b.srv.Addr},
		{"a.com", "b.com", "--resolver", b.srv.Addr},
		{"good.com", "--format", "xml", "--resolver", b.srv.Addr},
		{"good.com", "--provider", "carrier-pigeon", "--resolver", b.srv.Addr},
		{"good.com", "--dkim-key", "/nonexistent/key.pem", "--resolver", b.srv.Addr},
		{"not_a_domain", "--resolver", b.srv.Addr},
		{"good.com", "--bogus"},
	} {
		if code, _, errOut := runCommand(args...); code != dnscheck.ExitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d", args, code, errOut, dnscheck.ExitUsage)
		}
	}
}

// Not parallel: it sets an environment variable.
func TestCommandResolverFromEnvironment(t *testing.T) {
	b := setup(t)
	t.Setenv(dnscheck.ResolverEnv, b.srv.Addr)
	code, out, errOut := runCommand("--from", "noreply@auth.good.com", "--selector", "s1", "--format", "json")
	if code != dnscheck.ExitOK {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	var rep dnscheck.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Resolver != b.srv.Addr || rep.Domain != "auth.good.com" {
		t.Fatalf("resolver %q domain %q, want %q and auth.good.com", rep.Resolver, rep.Domain, b.srv.Addr)
	}
	if b.srv.Queries() == 0 {
		t.Fatal("the fixture server saw no query")
	}
}
