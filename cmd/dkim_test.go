package authmailcmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/dkimkey"
	"github.com/authmail/authmail/internal/dnscheck"
	"github.com/authmail/authmail/internal/dnscheck/dnstest"
)

// signedMessage is a message to sign with a generated key.
const signedMessage = "From: Example <noreply@auth.example.com>\r\n" +
	"To: user@example.net\r\n" +
	"Subject: Your sign-in code\r\n" +
	"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n" +
	"Message-ID: <abc123@auth.example.com>\r\n" +
	"\r\n" +
	"Your code is 123456.\r\n"

// TestDKIMKeygenPrintsTheRecordOfTheKeyItWrites: keygen writes a 0600 key
// file and prints, never the key, but a record and a zone-file line that
// verify mail signed with that key; a second run keeps the existing key.
func TestDKIMKeygenPrintsTheRecordOfTheKeyItWrites(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "dkim.pem")
	code, stdout, stderr := runArgs(t, nil, "dkim", "keygen", "--domain", "auth.example.com", "--selector", "am1", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	pemKey, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout, "PRIVATE KEY") {
		t.Fatal("the private key was printed")
	}

	// The printed zone-file line parses, and its value is the printed Value.
	var zoneLine, value string
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "am1._domainkey.auth.example.com. ") {
			zoneLine = line
		}
		if v, ok := strings.CutPrefix(line, "  Value: "); ok {
			value = v
		}
	}
	if !strings.Contains(stdout, "Name:  am1._domainkey.auth.example.com\n") {
		t.Fatalf("record name not printed:\n%s", stdout)
	}
	rr, err := dns.NewRR(zoneLine)
	if err != nil || rr == nil {
		t.Fatalf("zone line %q does not parse: %v", zoneLine, err)
	}
	txt := rr.(*dns.TXT)
	if len(txt.Txt) < 2 || strings.Join(txt.Txt, "") != value {
		t.Fatalf("zone line strings %d do not rejoin to the value", len(txt.Txt))
	}

	// The published record verifies a message signed with the written key.
	srv := dnstest.Start(t, zoneLine)
	r, err := dnscheck.NewResolver(srv.Addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cfg := dkimkey.Config{Domain: "auth.example.com", Selector: "am1", PrivateKey: connector.Secret(pemKey)}
	s, err := cfg.Signer()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Sign([]byte(signedMessage))
	if err != nil {
		t.Fatal(err)
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(signed), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return r.LookupTXT(context.Background(), name) },
	})
	if err != nil || len(verifs) != 1 {
		t.Fatalf("verifying: %d verifications, %v", len(verifs), err)
	}
	if verifs[0].Err != nil {
		t.Fatalf("record printed by keygen does not verify: %v", verifs[0].Err)
	}

	// A second run refuses to overwrite the key.
	code, _, stderr = runArgs(t, nil, "dkim", "keygen", "--domain", "auth.example.com", "--selector", "am1", "--out", out, "--type", "ed25519")
	if code != exitFailed || !strings.Contains(stderr, "already exists") {
		t.Fatalf("overwrite: exit %d, stderr %q", code, stderr)
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(again, pemKey) {
		t.Fatal("the existing key was changed")
	}
}

// TestDKIMKeygenRefusesBadArguments: each mistake exits with the usage
// code, says what is wrong and writes no key.
func TestDKIMKeygenRefusesBadArguments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--selector", "am1"}, "--domain is required"},
		{[]string{"--domain", "auth.example.com"}, "--selector is required"},
		{[]string{"--domain", "auth.example.com", "--selector", "auth_mail"}, `--selector "auth_mail" is not a valid selector`},
		{[]string{"--domain", "auth.example.com", "--selector", "-am1"}, "starts or ends with a hyphen"},
		{[]string{"--domain", "auth.example.com", "--selector", "am1", "--type", "dsa"}, `--type must be rsa or ed25519, not "dsa"`},
		{[]string{"--domain", "auth.example.com", "--selector", "am1", "--bits", "1024"}, "--bits must be between 2048 and 4096"},
		{[]string{"--domain", "auth.example.com", "--selector", "am1", "extra"}, `unexpected argument "extra"`},
		{[]string{"--nope"}, "flag provided but not defined: -nope"},
	} {
		args := append([]string{"dkim", "keygen", "--out", filepath.Join(dir, "key.pem")}, tc.args...)
		code, stdout, stderr := runArgs(t, nil, args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d and %q", tc.args, code, stdout, stderr, exitUsage, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused keygen wrote %v", entries)
	}
}
