package smtp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/connector/connectortest"
	"github.com/authmail/authmail/internal/dkimkey"
	"github.com/authmail/authmail/internal/dnscheck"
	"github.com/authmail/authmail/internal/dnscheck/dnstest"
)

// The signing identity of the DKIM tests; the test server's From address
// is no-reply@acme.test.
const (
	dkimDomain   = "acme.test"
	dkimSelector = "authmail1"
)

var (
	dkimKeysMu sync.Mutex
	dkimKeys   = map[string]string{}
)

// dkimKey returns a PEM private key of type algo (rsa or ed25519),
// generated once per test binary.
func dkimKey(t *testing.T, algo string) string {
	t.Helper()
	dkimKeysMu.Lock()
	defer dkimKeysMu.Unlock()
	if k, ok := dkimKeys[algo]; ok {
		return k
	}
	pemBytes, _, err := dkimkey.Generate(algo, 0)
	if err != nil {
		t.Fatalf("generating %s key: %v", algo, err)
	}
	dkimKeys[algo] = string(pemBytes)
	return dkimKeys[algo]
}

// dkimBlock is the connector's dkim config block for key.
func dkimBlock(key string) map[string]any {
	return map[string]any{"domain": dkimDomain, "selector": dkimSelector, "privateKey": key}
}

// publishKey starts a fixture DNS server publishing key's record exactly
// as `authmail dkim keygen` prints it, and returns a verifier lookup that
// queries it.
func publishKey(t *testing.T, key string) func(string) ([]string, error) {
	t.Helper()
	pub, err := dkimkey.PublicKeyFromPEM([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	zone := dkimkey.ZoneLine(dkimkey.RecordName(dkimSelector, dkimDomain), dkimkey.TXTRecord(pub), 300)
	srv := dnstest.Start(t, zone)
	r, err := dnscheck.NewResolver(srv.Addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return func(name string) ([]string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return r.LookupTXT(ctx, name)
	}
}

// verifyDKIM runs go-msgauth's verifier on raw and returns its one result.
func verifyDKIM(t *testing.T, raw []byte, lookup func(string) ([]string, error)) *dkim.Verification {
	t.Helper()
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if len(vs) != 1 {
		t.Fatalf("found %d DKIM signatures, want 1", len(vs))
	}
	return vs[0]
}

// dkimMessage has what a signature must survive: a UTF-8 subject and
// name, a Reply-To, several text lines with bare LFs, HTML and a custom
// header.
func dkimMessage(id string) connector.Message {
	m := connectortest.Message(id)
	m.Subject = "Votre code de connexion — ünïcode"
	m.From = connector.Address{Name: "Équipe Acme"}
	m.ReplyTo = connector.Address{Email: "support@acme.test"}
	m.Text = "Your code is 123456\nIt expires in 10 minutes.\n\n-- \nAcme"
	m.Headers = map[string]string{"X-Entity-Ref-ID": id}
	return m
}

func TestDKIMConformance(t *testing.T) {
	key := dkimKey(t, "rsa")
	connectortest.Run(t, connectortest.Suite{
		Factory: Factory(),
		NewBackend: func(t *testing.T) connectortest.Backend {
			s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
			s.extraConfig = map[string]any{"dkim": dkimBlock(key)}
			return s
		},
		InvalidConfigs: invalidConfigs,
		Secrets:        []string{testPass, key},
	})
}

func TestDKIMSignatureVerifies(t *testing.T) {
	for _, algo := range []string{"rsa", "ed25519"} {
		t.Run(algo, func(t *testing.T) {
			key := dkimKey(t, algo)
			lookup := publishKey(t, key)
			s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
			c := build(t, merge(t, s.Config(), map[string]any{"dkim": dkimBlock(key)}), nil)
			send(t, c, dkimMessage("dkim-"+algo))
			raw := s.Deliveries()[0].raw

			v := verifyDKIM(t, raw, lookup)
			if v.Err != nil {
				t.Fatalf("signature does not verify: %v\n%s", v.Err, raw)
			}
			if v.Domain != dkimDomain {
				t.Errorf("d= %q, want %q", v.Domain, dkimDomain)
			}
			signed := strings.ToLower(strings.Join(v.HeaderKeys, ":"))
			for _, h := range []string{"from", "to", "subject", "date", "message-id", "reply-to", "mime-version", "content-type"} {
				if !slices.Contains(strings.Split(signed, ":"), h) {
					t.Errorf("h= %q does not sign %s", signed, h)
				}
			}
			sig := headerValue(t, raw, "DKIM-Signature")
			wantAlgo := map[string]string{"rsa": "rsa-sha256", "ed25519": "ed25519-sha256"}[algo]
			for _, tag := range []string{"c=relaxed/relaxed", "s=" + dkimSelector, "a=" + wantAlgo} {
				if !strings.Contains(strings.Join(strings.Fields(sig), ""), tag) {
					t.Errorf("DKIM-Signature %q lacks %s", sig, tag)
				}
			}
			if !bytes.HasPrefix(raw, []byte("DKIM-Signature:")) {
				t.Errorf("the signature is not the first header field:\n%.200s", raw)
			}
			if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
				t.Error("the message has a bare LF; the signed bytes are not the bytes on the wire")
			}

			t.Run("OneBodyByteChanged", func(t *testing.T) {
				tampered := flipBodyByte(t, raw)
				v := verifyDKIM(t, tampered, lookup)
				if v.Err == nil {
					t.Fatal("a message whose body changed still verifies")
				}
				if !strings.Contains(v.Err.Error(), "body hash") {
					t.Errorf("error = %v, want a body hash mismatch", v.Err)
				}
			})
			t.Run("SubjectChanged", func(t *testing.T) {
				tampered := bytes.Replace(raw, []byte("\r\nSubject: "), []byte("\r\nSubject: Re: "), 1)
				if bytes.Equal(tampered, raw) {
					t.Fatal("no Subject line to change")
				}
				if v := verifyDKIM(t, tampered, lookup); v.Err == nil {
					t.Fatal("a message whose Subject changed still verifies")
				}
			})
			t.Run("OtherKeyPublished", func(t *testing.T) {
				other := map[string]string{"rsa": "ed25519", "ed25519": "rsa"}[algo]
				if v := verifyDKIM(t, raw, publishKey(t, dkimKey(t, other))); v.Err == nil {
					t.Fatal("a signature verifies against another key")
				}
			})
		})
	}
}

// flipBodyByte changes the code in the message body from 123456 to 123457.
func flipBodyByte(t *testing.T, raw []byte) []byte {
	t.Helper()
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	i := bytes.Index(raw[end:], []byte("123456"))
	if end < 0 || i < 0 {
		t.Fatalf("no code in the body:\n%s", raw)
	}
	out := bytes.Clone(raw)
	out[end+i+5] = '7'
	return out
}

// headerValue returns the unfolded value of the first header field name.
func headerValue(t *testing.T, raw []byte, name string) string {
	t.Helper()
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	unfolded := strings.NewReplacer("\r\n ", " ", "\r\n\t", " ").Replace(string(head))
	for _, line := range strings.Split(unfolded, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s header in:\n%s", name, head)
	return ""
}

func TestDKIMUnsignedWithoutBlock(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	send(t, build(t, s.Config(), nil), dkimMessage("unsigned"))
	if raw := s.Deliveries()[0].raw; bytes.Contains(raw, []byte("DKIM-Signature")) {
		t.Errorf("a config without dkim signed the message:\n%.300s", raw)
	}
}

func TestDKIMInvalidConfigs(t *testing.T) {
	rsaKey := dkimKey(t, "rsa")
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(weak)}))
	truncated := rsaKey[:len(rsaKey)/2] + "\n-----END PRIVATE KEY-----\n"
	cases := []struct {
		name  string
		dkim  any
		field string
	}{
		{"MissingDomain", map[string]any{"selector": dkimSelector, "privateKey": rsaKey}, "dkim.domain"},
		{"DomainIsAnAddress", map[string]any{"domain": "no-reply@acme.test", "selector": dkimSelector, "privateKey": rsaKey}, "dkim.domain"},
		{"MissingSelector", map[string]any{"domain": dkimDomain, "privateKey": rsaKey}, "dkim.selector"},
		{"BadSelector", map[string]any{"domain": dkimDomain, "selector": "my key", "privateKey": rsaKey}, "dkim.selector"},
		{"SelectorWithUnderscore", map[string]any{"domain": dkimDomain, "selector": "auth_mail", "privateKey": rsaKey}, "dkim.selector"},
		{"SelectorEndingInHyphen", map[string]any{"domain": dkimDomain, "selector": "authmail-", "privateKey": rsaKey}, "dkim.selector"},
		{"MissingKey", map[string]any{"domain": dkimDomain, "selector": dkimSelector}, "dkim.privateKey"},
		{"KeyNotPEM", map[string]any{"domain": dkimDomain, "selector": dkimSelector, "privateKey": "not a key"}, "dkim.privateKey"},
		{"KeyTruncated", map[string]any{"domain": dkimDomain, "selector": dkimSelector, "privateKey": truncated}, "dkim.privateKey"},
		{"WeakRSAKey", map[string]any{"domain": dkimDomain, "selector": dkimSelector, "privateKey": weakPEM}, "dkim.privateKey"},
		{"HeadersWithoutFrom", map[string]any{"domain": dkimDomain, "selector": dkimSelector, "privateKey": rsaKey, "headers": []string{"Subject"}}, "dkim.headers"},
		{"DomainNotAString", map[string]any{"domain": 5, "selector": dkimSelector, "privateKey": rsaKey}, "dkim.domain"},
		{"NotAnObject", "yes", "dkim"},
	}
	base := cfgJSON(`"host": "mail.acme.test", "port": 587, "fromEmail": "a@acme.test"`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := merge(t, base, map[string]any{"dkim": tc.dkim})
			_, err := connector.Build(context.Background(), ID, raw, testEnv(nil))
			if got := configField(t, err); got != tc.field {
				t.Errorf("field = %q, want %q (%v)", got, tc.field, err)
			}
			for _, k := range []string{rsaKey, weakPEM, truncated} {
				if strings.Contains(err.Error(), strings.TrimSpace(k)) || strings.Contains(err.Error(), "MII") {
					t.Errorf("error reveals the key: %v", err)
				}
			}
		})
	}
}

func TestDKIMAcceptsNodemailerNames(t *testing.T) {
	key := dkimKey(t, "ed25519")
	lookup := publishKey(t, key)
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	block := map[string]any{"domainName": dkimDomain, "keySelector": dkimSelector, "privateKey": key}
	send(t, build(t, merge(t, s.Config(), map[string]any{"dkim": block}), nil), dkimMessage("nodemailer-names"))
	if v := verifyDKIM(t, s.Deliveries()[0].raw, lookup); v.Err != nil {
		t.Fatalf("signature does not verify: %v", v.Err)
	}
}

func TestDKIMCustomHeaders(t *testing.T) {
	key := dkimKey(t, "ed25519")
	lookup := publishKey(t, key)
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	block := dkimBlock(key)
	block["headers"] = []string{"From", "Subject", "X-Entity-Ref-ID"}
	send(t, build(t, merge(t, s.Config(), map[string]any{"dkim": block}), nil), dkimMessage("custom-headers"))
	raw := s.Deliveries()[0].raw
	v := verifyDKIM(t, raw, lookup)
	if v.Err != nil {
		t.Fatalf("signature does not verify: %v", v.Err)
	}
	if got := strings.ToLower(strings.Join(v.HeaderKeys, ":")); got != "from:subject:x-entity-ref-id" {
		t.Errorf("h= %q, want from:subject:x-entity-ref-id", got)
	}
	tampered := bytes.Replace(raw, []byte("X-Entity-Ref-Id: custom-headers"), []byte("X-Entity-Ref-Id: custom-headerz"), 1)
	if bytes.Equal(tampered, raw) {
		t.Fatalf("no X-Entity-Ref-Id header to change:\n%s", raw)
	}
	if v := verifyDKIM(t, tampered, lookup); v.Err == nil {
		t.Error("a message whose signed custom header changed still verifies")
	}
}

func TestDKIMKeyStaysSecret(t *testing.T) {
	key := dkimKey(t, "rsa")
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	raw := merge(t, s.Config(), map[string]any{"dkim": map[string]any{"domain": "other.example", "selector": dkimSelector, "privateKey": key}})
	logs := &logSink{}
	c := build(t, raw, logs)
	send(t, c, dkimMessage("secret"))

	if !strings.Contains(logs.String(), "dkim domain does not align") {
		t.Errorf("no warning about d=other.example and From acme.test:\n%s", logs.String())
	}
	body := strings.TrimSpace(strings.SplitN(key, "\n", 3)[1]) // a line of base64 from inside the key
	for what, text := range map[string]string{
		"logs":            logs.String(),
		"settings %v":     fmt.Sprintf("%v", c.cfg),
		"settings %#v":    fmt.Sprintf("%#v", c.cfg),
		"redacted config": string(connector.Redact(Factory(), raw)),
		"received mail":   string(s.Deliveries()[0].raw),
	} {
		if strings.Contains(text, body) {
			t.Errorf("%s reveal the private key", what)
		}
	}
	var redacted struct {
		DKIM map[string]string `json:"dkim"`
	}
	if err := json.Unmarshal(connector.Redact(Factory(), raw), &redacted); err != nil {
		t.Fatal(err)
	}
	if redacted.DKIM["privateKey"] != connector.Redacted || redacted.DKIM["selector"] != dkimSelector {
		t.Errorf("redacted dkim block = %v, want the key redacted and the rest kept", redacted.DKIM)
	}
	// A PATCH that sends the redacted config back keeps the stored key.
	kept, err := connector.KeepSecrets(Factory(), connector.Redact(Factory(), raw), raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := connector.Secrets(Factory(), kept); !slices.Contains(got, key) {
		t.Error("KeepSecrets lost the DKIM key")
	}
}

func TestDKIMSigningErrorIsPermanent(t *testing.T) {
	c := build(t, merge(t, cfgJSON(`"host": "127.0.0.1", "port": 2525, "fromEmail": "a@acme.test"`),
		map[string]any{"dkim": dkimBlock(dkimKey(t, "ed25519"))}), nil)
	_, err := c.sign([]byte("Subject: no blank line"))
	if err == nil || connector.Temporary(err) || !errors.Is(err, connector.ErrInvalidConfig) {
		t.Fatalf("sign error = %v, want a permanent config error", err)
	}
}

// TestSchemaDKIMMatchesDkimkey keeps the dkim property of schema.json
// equal to the block's own schema in package dkimkey.
func TestSchemaDKIMMatchesDkimkey(t *testing.T) {
	var doc struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(schema, &doc); err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(dkimkey.ConfigSchema, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc.Properties["dkim"], want) {
		t.Errorf("schema.json properties.dkim differs from dkimkey.ConfigSchema:\n got %v\nwant %v", doc.Properties["dkim"], want)
	}
}

func TestToCRLF(t *testing.T) {
	for in, want := range map[string]string{
		"a\nb\r\nc\n": "a\r\nb\r\nc\r\n",
		"\n":          "\r\n",
		"a\r\n":       "a\r\n",
		"":            "",
	} {
		if got := string(toCRLF([]byte(in))); got != want {
			t.Errorf("toCRLF(%q) = %q, want %q", in, got, want)
		}
	}
}
