package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeTour follows the README: its first lines name the two
// commands, and its five-minute tour (send a code, read it in the dev
// inbox, verify it, read the message log, then switch to a real provider)
// works against the built binary started as `go run ./cmd/authmail` starts
// it, only on a free port instead of 8080.
func TestReadmeTour(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatalf("the repository has no README: %v", err)
	}
	readme := string(b)
	head := strings.Join(strings.SplitN(readme, "\n", 8)[:7], "\n")
	for _, cmd := range []string{"go run ./cmd/authmail", "go test ./..."} {
		if !strings.Contains(head, cmd) {
			t.Errorf("the README's first lines do not name %q:\n%s", cmd, head)
		}
	}
	keyFile := regexp.MustCompile(`KEY=\$\(cat ([^)]+)\)`).FindStringSubmatch(readme)
	if keyFile == nil {
		t.Fatal("the tour does not say where the admin key is (KEY=$(cat ...))")
	}
	for _, route := range []string{"/api/verification-codes ", "/api/dev-inbox/messages?to=", "/api/verification-codes/verify",
		"/api/messages?to=", "/api/connectors/smtp/check", "/api/connectors/smtp/test", "/api/connectors?check=true"} {
		if !strings.Contains(readme, route) {
			t.Errorf("the tour no longer uses %s; update this test with it", route)
		}
	}

	// The tour's SMTP server here is a sink on loopback, which takes
	// --allow-private-endpoints, as the README says for a local relay.
	if !strings.Contains(readme, "--allow-private-endpoints") {
		t.Error("the tour does not say that a relay on this machine needs --allow-private-endpoints")
	}
	work := t.TempDir()
	p := instance{bare: true, workDir: work, args: []string{"--allow-private-endpoints"}}.start(t)
	if !strings.Contains(p.out.String(), "generated the admin key") || !strings.Contains(p.out.String(), keyFile[1]) {
		t.Errorf("the log does not give the admin key's path %s:\n%s", keyFile[1], p.out.String())
	}
	p.key = readKeyFile(t, filepath.Join(work, keyFile[1]))
	const alice = "alice@example.com"

	// 1. Send a code.
	p.mustDo("POST", "/api/verification-codes", map[string]string{"email": alice}, http.StatusNoContent, nil)

	// 2. Read it in the dev inbox, the way the tour's grep does.
	status, inbox := p.do("GET", "/api/dev-inbox/messages?to="+alice, nil)
	if status != http.StatusOK {
		t.Fatalf("dev inbox: status %d: %s", status, inbox)
	}
	m := regexp.MustCompile(`"code":"([0-9]*)"`).FindSubmatch(inbox)
	if m == nil || len(m[1]) != 6 {
		t.Fatalf(`the dev inbox answer has no "code":"NNNNNN" for the tour's grep: %s`, inbox)
	}
	code := string(m[1])
	var mails []struct {
		To, Subject, Text, HTML string
	}
	if err := json.Unmarshal(inbox, &mails); err != nil || len(mails) != 1 {
		t.Fatalf("dev inbox: %v, %d messages: %s", err, len(mails), inbox)
	}
	if mails[0].To != alice || !strings.Contains(mails[0].Text, code) || !strings.Contains(mails[0].HTML, code) {
		t.Errorf("the dev inbox message does not carry the code %s in text and html: %+v", code, mails[0])
	}

	// 3. Verify it; a second try is refused.
	verify := map[string]string{"email": alice, "verificationCode": code}
	p.mustDo("POST", "/api/verification-codes/verify", verify, http.StatusNoContent, nil)
	var apiErr struct {
		Code string `json:"code"`
	}
	p.mustDo("POST", "/api/verification-codes/verify", verify, http.StatusBadRequest, &apiErr)
	if apiErr.Code != "verification_code.not_found" || !strings.Contains(readme, apiErr.Code) {
		t.Errorf("second verification: code %q; the README says verification_code.not_found", apiErr.Code)
	}

	// 4. The message log.
	var log []apiMessage
	p.mustDo("GET", "/api/messages?to="+alice, nil, http.StatusOK, &log)
	if len(log) != 1 || log[0].Status != "sent" || log[0].Attempts != 1 {
		t.Errorf("message log for %s: %+v; want one message sent at the first attempt", alice, log)
	}

	// Then switch to a real provider: check the config unsaved (nothing
	// is sent), test it, then save it with its check.
	sink := startSink(t)
	cfg := map[string]any{"host": "127.0.0.1", "port": sink.Port(), "fromEmail": "Acme <no-reply@auth.acme.com>"}
	p.mustDo("POST", "/api/connectors/smtp/check", map[string]any{"config": cfg}, http.StatusNoContent, nil)
	if got := sink.Messages(); len(got) != 0 {
		t.Fatalf("the connector check sent %d messages to the sink, want none", len(got))
	}
	p.mustDo("POST", "/api/connectors/smtp/test", map[string]any{"email": "you@acme.com", "config": cfg}, http.StatusNoContent, nil)
	if got := sink.To("you@acme.com"); len(got) != 1 {
		t.Fatalf("the connector test sent %d messages to the sink, want 1", len(got))
	}
	var saved struct {
		Check struct{ Result string } `json:"check"`
	}
	p.mustDo("POST", "/api/connectors?check=true", map[string]any{"connectorId": "smtp", "config": cfg}, http.StatusOK, &saved)
	if saved.Check.Result != "passed" {
		t.Errorf("saving with ?check=true answered check %+v, want passed", saved.Check)
	}
	p.mustDo("POST", "/api/verification-codes", map[string]string{"email": "bob@example.com"}, http.StatusNoContent, nil)
	if got := sink.To("bob@example.com"); len(got) != 1 {
		t.Fatalf("after saving the SMTP connector, bob's code reached the sink %d times, want 1", len(got))
	}
	status, inbox = p.do("GET", "/api/dev-inbox/messages?to=bob@example.com", nil)
	if status != http.StatusOK || strings.Contains(string(inbox), "bob@example.com") {
		t.Errorf("bob's code went to the dev inbox after the switch: %d %s", status, inbox)
	}
}
