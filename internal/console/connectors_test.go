package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/smtpsink"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/testwait"
	"github.com/emersion/go-smtp"
)

func startSink(t *testing.T) *smtpsink.Sink {
	t.Helper()
	sink, err := smtpsink.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	return sink
}

// smtpForm is what an admin types into the SMTP guide to reach the sink:
// plain SMTP on loopback, no auth (the sink offers none), STARTTLS never
// attempted.
func smtpForm(sink *smtpsink.Sink) map[string]string {
	return map[string]string{"config.host": "127.0.0.1", "config.port": strconv.Itoa(sink.Port()),
		"config.fromEmail": "Acme <no-reply@acme.test>", "config.requireTLS": "", "config.ignoreTLS": "true",
		"config.auth.type": "", "config.auth.user": ""}
}

// TestTheCatalogIsGroupedAsTheProductWeFollowGroupsIt: built-in, popular
// providers, custom; every registered factory is there once, with its
// logo, name and description, and a Set up link to its guide.
func TestTheCatalogIsGroupedAsTheProductWeFollowGroupsIt(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := signedIn(t, a)
		page := v.get("/console/connectors")
		var groups []string
		for _, h := range findAll(find(page.doc, func(n *html.Node) bool { l, _ := attr(n, "aria-labelledby"); return l == "catalog-h" }), byTag("h3")) {
			groups = append(groups, text(h))
		}
		if want := []string{"Built-in", "Popular providers", "Custom"}; !slices.Equal(groups, want) {
			t.Fatalf("catalog groups %v, want %v", groups, want)
		}
		for _, f := range connector.Factories() {
			li := find(page.doc, byID("factory-"+f.ID))
			if li == nil {
				t.Errorf("%s is not in the catalog", f.ID)
				continue
			}
			if !strings.Contains(text(li), f.Name) || !strings.Contains(text(li), f.Description) {
				t.Errorf("%s's card %q lacks its name or description", f.ID, text(li))
			}
			if f.Logo != "" {
				if src, _ := attr(find(li, byTag("img")), "src"); src == "" {
					t.Errorf("%s's card has no logo", f.ID)
				}
			}
			link := find(li, func(n *html.Node) bool { h, _ := attr(n, "href"); return h == "/console/connectors/setup/"+f.ID })
			if link == nil {
				t.Errorf("%s's card does not link to its guide", f.ID)
			}
		}
		custom := findAll(find(page.doc, byTag("main")), func(n *html.Node) bool { return n.Data == "li" })
		var order []string
		for _, li := range custom {
			id, _ := attr(li, "id")
			order = append(order, strings.TrimPrefix(id, "factory-"))
		}
		if order[0] != "dev-inbox" || !slices.Contains(order[len(order)-2:], "smtp") || !slices.Contains(order[len(order)-2:], "http-email") {
			t.Errorf("catalog order %v: want the dev inbox first and SMTP and HTTP email last", order)
		}
		// A fresh install runs on the dev inbox, which every page says.
		if b := page.byIDText("main"); !strings.Contains(page.body, "Mail is not being sent.") || b == "" {
			t.Error("the dev inbox is active but the page has no banner saying mail is not sent")
		}
		if !strings.Contains(page.h1()+page.body, "Change email connector") {
			t.Error("with a connector in place the catalog does not offer to change it")
		}
	})
}

// TestSettingUpSMTPInTheGuide: the guide shows the README beside a form
// made from the schema (the password masked, STARTTLS a switch); checking
// the connection, sending a test (which arrives) and saving all work on
// the unsaved form; the saved connector replaces the dev inbox at once and
// the next code goes through it.
func TestSettingUpSMTPInTheGuide(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sink := startSink(t)
		v := signedIn(t, a)
		page := v.get("/console/connectors/setup/smtp")
		if page.StatusCode != http.StatusOK || page.h1() != "Set up SMTP" {
			t.Fatalf("guide: %d %q", page.StatusCode, page.h1())
		}
		if !strings.Contains(page.byIDText("readme-h"), "README: SMTP") || find(page.doc, func(n *html.Node) bool { c, _ := attr(n, "class"); return c == "readme" }) == nil {
			t.Fatal("the guide has no README")
		}
		if typ, _ := attr(find(page.doc, byID("config-auth-pass")), "type"); typ != "password" {
			t.Errorf("auth.pass is a %q input, want password", typ)
		}
		if typ, _ := attr(find(page.doc, byID("config-requireTLS")), "type"); typ != "checkbox" {
			t.Errorf("requireTLS is a %q input, want a checkbox", typ)
		}
		if find(page.doc, byID("config-auth-type")).Data != "select" {
			t.Error("auth.type is not a select")
		}
		if !strings.Contains(page.byIDText("replace-note"), "Saving replaces Dev inbox at once") {
			t.Errorf("replace note %q", page.byIDText("replace-note"))
		}
		form := smtpForm(sink)

		checked := v.submit(page, "/console/connectors/setup/smtp", "check", form)
		if checked.StatusCode != http.StatusOK || !strings.Contains(checked.byIDText("result"), "The connection and the credentials work.") {
			t.Fatalf("check: %d %q %s", checked.StatusCode, checked.byIDText("result"), checked.alert())
		}
		if len(sink.Messages()) != 0 {
			t.Fatal("the check sent mail")
		}
		// What was typed stays in the form.
		if checked.value("config-port") != strconv.Itoa(sink.Port()) {
			t.Fatalf("after the check the port reads %q", checked.value("config-port"))
		}

		tested := v.submit(checked, "/console/connectors/setup/smtp", "test", map[string]string{"testEmail": "admin@example.com"})
		if tested.StatusCode != http.StatusOK || !strings.Contains(tested.byIDText("result"), "accepted for admin@example.com") {
			t.Fatalf("test: %d %q %s", tested.StatusCode, tested.byIDText("result"), tested.alert())
		}
		if got := sink.To("admin@example.com"); len(got) != 1 || !strings.Contains(string(got[0].Raw), "000000") {
			t.Fatalf("the test email did not arrive with code 000000: %d messages", len(got))
		}

		saved := v.submit(tested, "/console/connectors/setup/smtp", "save", nil)
		if saved.StatusCode != http.StatusSeeOther || saved.Header.Get("Location") != "/console/connectors?notice=connector_saved" {
			t.Fatalf("save: %d to %q: %s", saved.StatusCode, saved.Header.Get("Location"), saved.alert())
		}
		list := v.get(saved.Header.Get("Location"))
		if !strings.Contains(list.body, "Saved. The next message goes through this connector.") || strings.Contains(list.body, "Mail is not being sent.") {
			t.Fatal("after saving SMTP the page has no notice, or still says the dev inbox is active")
		}
		if !strings.Contains(text(find(list.doc, func(n *html.Node) bool { l, _ := attr(n, "aria-labelledby"); return l == "current-h" })), "SMTP") {
			t.Fatal("the current connector is not SMTP")
		}
		a.JSON("POST", "/api/verification-codes", map[string]any{"email": "user@example.com"}, http.StatusNoContent, nil)
		testwait.Until(t, 10*time.Second, func() bool { return len(sink.To("user@example.com")) == 1 }, "the code arrives at the sink")
	})
}

// TestTheGuideShowsEachRefusalNextToItsField: a number that is not one, a
// config the schema refuses (naming its field) and a test without a
// recipient are each shown next to the field, and nothing is saved.
func TestTheGuideShowsEachRefusalNextToItsField(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sink := startSink(t)
		v := signedIn(t, a)
		page := v.get("/console/connectors/setup/smtp")
		form := smtpForm(sink)
		form["config.port"] = "five"
		r := v.submit(page, "/console/connectors/setup/smtp", "save", form)
		if r.StatusCode != http.StatusBadRequest || r.fieldError("config-port") != "Enter a number." || r.value("config-port") != "five" {
			t.Fatalf("port five: %d, error %q, value %q", r.StatusCode, r.fieldError("config-port"), r.value("config-port"))
		}
		form["config.port"] = "70000"
		r = v.submit(page, "/console/connectors/setup/smtp", "save", form)
		if r.StatusCode != http.StatusBadRequest || r.fieldError("config-port") == "" {
			t.Fatalf("port 70000: %d, error %q, page %q", r.StatusCode, r.fieldError("config-port"), r.alert())
		}
		form["config.port"] = strconv.Itoa(sink.Port())
		form["config.host"] = ""
		r = v.submit(page, "/console/connectors/setup/smtp", "check", form)
		if r.StatusCode != http.StatusBadRequest || r.fieldError("config-host") == "" {
			t.Fatalf("no host: %d, error %q, page %q", r.StatusCode, r.fieldError("config-host"), r.alert())
		}
		form["config.host"] = "127.0.0.1"
		r = v.submit(page, "/console/connectors/setup/smtp", "test", form)
		if r.StatusCode != http.StatusBadRequest || r.fieldError("test-email") == "" {
			t.Fatalf("test without a recipient: %d, %q", r.StatusCode, r.fieldError("test-email"))
		}
		form["config.templates"] = "[{"
		r = v.submit(page, "/console/connectors/setup/smtp", "save", form)
		if r.StatusCode != http.StatusBadRequest || r.fieldError("config-templates") != "This is not valid JSON." {
			t.Fatalf("bad JSON: %d, %q", r.StatusCode, r.fieldError("config-templates"))
		}
		var list []map[string]any
		a.JSON("GET", "/api/connectors", nil, http.StatusOK, &list)
		if len(list) != 1 || list[0]["connectorId"] != "dev-inbox" {
			t.Fatalf("after refused saves the connectors are %v, want the dev inbox alone", list)
		}
	})
}

// TestTheProvidersAnswerIsShown: a test the server refuses shows the
// provider's (masked) answer.
func TestTheProvidersAnswerIsShown(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sink := startSink(t)
		sink.FailRecipients(func(string) *smtpError {
			return &smtpError{Code: 550, EnhancedCode: [3]int{5, 1, 1}, Message: "no such mailbox here"}
		})
		v := signedIn(t, a)
		page := v.get("/console/connectors/setup/smtp")
		form := smtpForm(sink)
		form["testEmail"] = "nobody@example.com"
		r := v.submit(page, "/console/connectors/setup/smtp", "test", form)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.byIDText("result"), "The provider refused.") || !strings.Contains(r.byIDText("result"), "no such mailbox here") {
			t.Fatalf("refused test: %d, result %q", r.StatusCode, r.byIDText("result"))
		}
	})
}

// TestEditingKeepsTheStoredSecretUnlessTheServerChanges: the saved
// password never reaches the page; saving with it left empty keeps it,
// while pointing the connector at another host asks for it again.
func TestEditingKeepsTheStoredSecretUnlessTheServerChanges(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sink := startSink(t)
		cfg := map[string]any{"host": "127.0.0.1", "port": sink.Port(), "fromEmail": "Acme <no-reply@acme.test>", "ignoreTLS": true,
			"auth": map[string]any{"user": "u", "pass": "hunter2-secret"}}
		a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "smtp", "config": cfg}, http.StatusOK, nil)
		v := signedIn(t, a)
		page := v.get("/console/connectors/setup/smtp")
		if strings.Contains(page.body, "hunter2-secret") {
			t.Fatal("the edit page shows the stored password")
		}
		if page.h1() != "SMTP settings" {
			t.Errorf("editing the current connector: heading %q", page.h1())
		}
		if ph, _ := attr(find(page.doc, byID("config-auth-pass")), "placeholder"); !strings.Contains(ph, "leave empty to keep") {
			t.Errorf("the password field's placeholder %q does not say the saved one is kept", ph)
		}
		r := v.submit(page, "/console/connectors/setup/smtp", "save", map[string]string{"config.replyTo": "help@acme.test"})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("saving with the password left empty: %d %s", r.StatusCode, r.alert())
		}
		opened := openedConfig(t, a)
		auth, _ := opened["auth"].(map[string]any)
		if auth["pass"] != "hunter2-secret" || opened["replyTo"] != "help@acme.test" {
			t.Fatalf("after the edit the config is %v, want the password kept and the reply-to set", opened)
		}
		r = v.submit(v.get("/console/connectors/setup/smtp"), "/console/connectors/setup/smtp", "save", map[string]string{"config.host": "localhost"})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.fieldError("config-auth-pass"), "Type the secret again") {
			t.Fatalf("moving the host with the password left empty: %d, %q %s", r.StatusCode, r.fieldError("config-auth-pass"), r.alert())
		}
	})
}

// TestDeletingAConnectorSaysWhatReliesOnItAndAsksAgain: the confirmation
// says whether anything relies on the connector; when something came to
// rely on it after the page was shown, the delete is refused and the page
// asks again, listing it, and "Delete anyway" deletes.
func TestDeletingAConnectorSaysWhatReliesOnItAndAsksAgain(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var list []map[string]any
		a.JSON("GET", "/api/connectors", nil, http.StatusOK, &list)
		id := list[0]["id"].(string)
		v := signedIn(t, a)
		page := v.get("/console/connectors/delete/" + id)
		if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "Nothing in the sign-in experience relies on this connector") {
			t.Fatalf("confirmation: %d; want it to say nothing relies on the connector", page.StatusCode)
		}
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
			"signUp": map[string]any{"identifiers": []string{"email"}, "password": false, "verify": true},
			"signIn": map[string]any{"methods": []map[string]any{{"identifier": "email", "password": false, "verificationCode": true, "isPasswordPrimary": false}}},
		}, http.StatusOK, nil)
		r := v.submit(page, "/console/connectors/delete/"+id, "", nil)
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "Sign-in with an email code") || !strings.Contains(r.body, "Sign-up with an email address") {
			t.Fatalf("delete after email sign-in came to rely on it: %d; want 409 listing sign-up and sign-in", r.StatusCode)
		}
		a.JSON("GET", "/api/connectors", nil, http.StatusOK, &list)
		if len(list) != 1 {
			t.Fatalf("a refused delete deleted: %v", list)
		}
		if r := v.submit(r, "/console/connectors/delete/"+id, "", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete anyway: %d %s", r.StatusCode, r.alert())
		}
		a.JSON("GET", "/api/connectors", nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Fatalf("after the delete: %v", list)
		}
		if r := v.get("/console/connectors/delete/" + id); r.StatusCode != http.StatusNotFound {
			t.Fatalf("deleting it again: %d, want 404", r.StatusCode)
		}
		if r := v.get("/console/connectors"); !strings.Contains(r.body, "There is no email connector") {
			t.Fatal("with no connector the page does not say so")
		}
	})
}

// openedConfig is the tenant's active connector's stored config, opened.
func openedConfig(t *testing.T, a *apptest.App) map[string]any {
	t.Helper()
	row, err := a.App.Store.ConnectorActive(context.Background(), tenant.Default)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := a.App.Connectors().OpenConfig(row)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

type smtpError = smtp.SMTPError
