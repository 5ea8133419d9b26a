package dkimkey_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/dkimkey"
	"github.com/authmail/authmail/internal/dnscheck"
	"github.com/authmail/authmail/internal/dnscheck/dnstest"
)

const message = "From: Example <noreply@auth.example.com>\r\n" +
	"To: user@example.net\r\n" +
	"Subject: Your sign-in code\r\n" +
	"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n" +
	"Message-ID: <abc123@auth.example.com>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Your code is 123456.\r\n" +
	"It expires in 10 minutes.\r\n"

func rsaPEM(t *testing.T, bits int) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	good, _, err := dkimkey.Generate("ed25519", 0)
	if err != nil {
		t.Fatal(err)
	}
	weak := rsaPEM(t, 1024)
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")})
	cases := []struct {
		name  string
		cfg   dkimkey.Config
		field string
		want  string
	}{
		{"MissingDomain", dkimkey.Config{Selector: "s1", PrivateKey: connector.Secret(good)}, "dkim.domain", "required"},
		{"BadDomain", dkimkey.Config{Domain: "not a domain", Selector: "s1", PrivateKey: connector.Secret(good)}, "dkim.domain", "not a domain"},
		{"MissingSelector", dkimkey.Config{Domain: "example.com", PrivateKey: connector.Secret(good)}, "dkim.selector", "required"},
		{"BadSelector", dkimkey.Config{Domain: "example.com", Selector: "s 1", PrivateKey: connector.Secret(good)}, "dkim.selector", "not a valid selector"},
		{"MissingKey", dkimkey.Config{Domain: "example.com", Selector: "s1"}, "dkim.privateKey", "required"},
		{"NotPEM", dkimkey.Config{Domain: "example.com", Selector: "s1", PrivateKey: "hello"}, "dkim.privateKey", "not a PEM"},
		{"UnknownPEM", dkimkey.Config{Domain: "example.com", Selector: "s1", PrivateKey: connector.Secret(cert)}, "dkim.privateKey", "unsupported PEM block"},
		{"WeakRSA", dkimkey.Config{Domain: "example.com", Selector: "s1", PrivateKey: connector.Secret(weak)}, "dkim.privateKey", "1024-bit RSA"},
		{"HeadersWithoutFrom", dkimkey.Config{Domain: "example.com", Selector: "s1", PrivateKey: connector.Secret(good), Headers: []string{"To", "Subject"}}, "dkim.headers", "must include From"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			var ce *connector.ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, connector.ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want a ConfigError", err)
			}
			if ce.Field != tc.field || !strings.Contains(ce.Reason, tc.want) {
				t.Fatalf("Validate() = field %q reason %q, want field %q reason containing %q", ce.Field, ce.Reason, tc.field, tc.want)
			}
			if k := tc.cfg.PrivateKey.Reveal(); k != "" && strings.Contains(err.Error(), k) {
				t.Fatalf("error leaks the key: %v", err)
			}
		})
	}
	ok := dkimkey.Config{Domain: "example.com", Selector: "s1", PrivateKey: connector.Secret(rsaPEM(t, 2048))}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate() on a PKCS#1 2048-bit key = %v", err)
	}
}

func TestConfigJSON(t *testing.T) {
	t.Parallel()
	var c dkimkey.Config
	raw := `{"domainName":"auth.example.com","keySelector":"mail","privateKey":"-----BEGIN PRIVATE KEY-----\nsecretstuff\n-----END PRIVATE KEY-----"}`
	if err := connector.DecodeConfig(json.RawMessage(raw), &c); err != nil {
		t.Fatal(err)
	}
	if c.Domain != "auth.example.com" || c.Selector != "mail" || !strings.Contains(c.PrivateKey.Reveal(), "secretstuff") {
		t.Fatalf("nodemailer aliases not read: %+v", c)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "secretstuff") || !strings.Contains(string(out), connector.Redacted) {
		t.Fatalf("private key not redacted: %s", out)
	}
}

// publish serves the signer's public key record in the test DNS server,
// split into 255-byte strings as a real zone holds it.
func publish(t *testing.T, srv *dnstest.Server, s *dkimkey.Signer) {
	t.Helper()
	name := dkimkey.RecordName(s.Selector(), s.Domain())
	srv.MustAdd(t, dkimkey.ZoneLine(name, dkimkey.TXTRecord(s.PublicKey()), 300))
}

func verify(t *testing.T, r *dnscheck.Resolver, signed []byte) []*dkim.Verification {
	t.Helper()
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(signed), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return r.LookupTXT(context.Background(), name) },
	})
	if err != nil {
		t.Fatalf("verifying: %v", err)
	}
	if len(verifs) != 1 {
		t.Fatalf("got %d verifications, want 1", len(verifs))
	}
	return verifs
}

func TestSignVerifiesAgainstPublishedKey(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	r, err := dnscheck.NewResolver(srv.Addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, algo := range []string{"rsa", "ed25519"} {
		t.Run(algo, func(t *testing.T) {
			pemKey, _, err := dkimkey.Generate(algo, 2048)
			if err != nil {
				t.Fatal(err)
			}
			cfg := dkimkey.Config{Domain: "auth.example.com", Selector: "sel-" + algo, PrivateKey: connector.Secret(pemKey)}
			s, err := cfg.Signer()
			if err != nil {
				t.Fatal(err)
			}
			publish(t, srv, s)
			signed, err := s.Sign([]byte(message))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(signed, []byte("DKIM-Signature: ")) || !bytes.HasSuffix(signed, []byte(message)) {
				t.Fatalf("signature not prepended to the message:\n%s", signed)
			}
			head := string(signed[:bytes.Index(signed, []byte("\r\nFrom:"))])
			for _, want := range []string{"c=relaxed/relaxed", "d=auth.example.com", "s=sel-" + algo, "a=" + algo + "-sha256"} {
				if !strings.Contains(head, want) {
					t.Errorf("signature lacks %q: %s", want, head)
				}
			}
			v := verify(t, r, signed)[0]
			if v.Err != nil {
				t.Fatalf("signature does not verify: %v", v.Err)
			}
			if v.Domain != "auth.example.com" {
				t.Errorf("verified domain = %q", v.Domain)
			}
			keys := strings.ToLower(strings.Join(v.HeaderKeys, ":"))
			for _, h := range dkimkey.DefaultHeaders {
				if !strings.Contains(keys, strings.ToLower(h)) {
					t.Errorf("header %s not signed (h=%s)", h, keys)
				}
			}

			// One body byte changed: the body hash no longer matches.
			tampered := bytes.Replace(signed, []byte("123456"), []byte("123457"), 1)
			if v := verify(t, r, tampered)[0]; v.Err == nil {
				t.Fatal("a changed body still verifies")
			}
			// A changed signed header fails too.
			tampered = bytes.Replace(signed, []byte("Subject: Your"), []byte("Subject: Our"), 1)
			if v := verify(t, r, tampered)[0]; v.Err == nil {
				t.Fatal("a changed Subject still verifies")
			}
		})
	}
}

func TestSignWithCustomHeaders(t *testing.T) {
	t.Parallel()
	pemKey, _, err := dkimkey.Generate("ed25519", 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := dkimkey.Config{Domain: "example.com", Selector: "s", PrivateKey: connector.Secret(pemKey), Headers: []string{"From", "Subject"}}
	s, err := cfg.Signer()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Sign([]byte(message))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(signed, []byte("h=From:Subject;")) {
		t.Fatalf("custom header list not used:\n%s", signed[:300])
	}
	if _, err := s.Sign([]byte("From: a@example.com")); err == nil {
		t.Fatal("a message without a body separator was signed")
	}
}

func TestTXTRecordAndSplit(t *testing.T) {
	t.Parallel()
	_, pub, err := dkimkey.Generate("rsa", 2048)
	if err != nil {
		t.Fatal(err)
	}
	rec := dkimkey.TXTRecord(pub)
	if !strings.HasPrefix(rec, "v=DKIM1; k=rsa; p=MII") {
		t.Fatalf("TXTRecord = %q", rec)
	}
	parts := dkimkey.SplitTXT(rec)
	if len(parts) < 2 || strings.Join(parts, "") != rec {
		t.Fatalf("SplitTXT gave %d parts that do not rejoin", len(parts))
	}
	for _, p := range parts {
		if len(p) > 255 {
			t.Fatalf("part of %d bytes", len(p))
		}
	}
	if got := dkimkey.RecordName("s1", "example.com."); got != "s1._domainkey.example.com" {
		t.Fatalf("RecordName = %q", got)
	}
	if _, _, err := dkimkey.Generate("rsa", 1024); err == nil {
		t.Fatal("Generate accepted 1024-bit RSA")
	}
	if _, _, err := dkimkey.Generate("dsa", 0); err == nil {
		t.Fatal("Generate accepted an unknown type")
	}
}

func TestConfigSchemaIsJSON(t *testing.T) {
	t.Parallel()
	var v struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(dkimkey.ConfigSchema, &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"domain", "selector", "privateKey", "headers"} {
		if _, ok := v.Properties[k]; !ok {
			t.Errorf("schema lacks %s", k)
		}
	}
	if dkimkey.SecretField != "dkim.privateKey" {
		t.Error("SecretField changed")
	}
}

// TestValidateSelectorFollowsTheGuidesRule: letters, digits and hyphens,
// in dot-separated parts of at most 63 characters that neither start nor
// end with a hyphen; anything else is refused and the error says why.
func TestValidateSelectorFollowsTheGuidesRule(t *testing.T) {
	for _, s := range []string{"authmail1", "202611", "2026.mail", "s1", "Sel-2", strings.Repeat("a", 63)} {
		if err := dkimkey.ValidateSelector(s); err != nil {
			t.Errorf("ValidateSelector(%q) = %v, want it accepted", s, err)
		}
	}
	for s, reason := range map[string]string{
		"":                      "is required",
		"auth_mail":             `'_' is not a letter, digit or hyphen`,
		"s 1":                   `' ' is not a letter`,
		"sél":                   `'é' is not a letter`,
		"-am1":                  "starts or ends with a hyphen",
		"am1-":                  "starts or ends with a hyphen",
		"a..b":                  "empty part",
		".am1":                  "empty part",
		"am1.":                  "empty part",
		strings.Repeat("a", 64): "64 characters, the limit is 63",
	} {
		if err := dkimkey.ValidateSelector(s); err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("ValidateSelector(%q) = %v, want a refusal saying %q", s, err, reason)
		}
	}
}

// TestGuidesUseSelectorsTheRuleAccepts: every selector the guides show (a
// --selector argument or a "selector" field) passes the rule they state.
func TestGuidesUseSelectorsTheRuleAccepts(t *testing.T) {
	guides, err := filepath.Glob("../../connectors/*/README.md")
	if err != nil {
		t.Fatal(err)
	}
	guides = append(guides, "../../docs/deliverability.md", "../../README.md")
	re := regexp.MustCompile(`(?:--selector[ =]|"(?:selector|keySelector)":\s*")([^\s"<>` + "`" + `]+)`)
	seen := 0
	for _, g := range guides {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			seen++
			if err := dkimkey.ValidateSelector(m[1]); err != nil {
				t.Errorf("%s shows the selector %q, which the rule refuses: %v", g, m[1], err)
			}
		}
	}
	if seen == 0 {
		t.Fatal("found no selector in the guides; the pattern no longer matches how they show one")
	}
}
