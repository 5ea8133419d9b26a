package emailtemplate_test

import (
	"context"
	"encoding/json"
	"html"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/emailtemplate"
)

// headerSafe reports whether s can go into a header: no control
// character, CR and LF among them.
func headerSafe(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 32 || r == 127 })
}

// FuzzRender renders arbitrary templates (subject, content, sender and
// reply-to, HTML or plain) with arbitrary payloads, through a connector
// template and through RenderDetails. Whatever the input: rendering never
// panics; no control character reaches the subject, the From or the
// Reply-To; in HTML a value is always escaped (a template with no "<" of
// its own renders with none, and a lone placeholder renders as exactly
// the escaped value). The seeds run with every go test.
func FuzzRender(f *testing.F) {
	seeds := []struct {
		subject, content, from, value, payload string
		html                                   bool
	}{
		{"Your code {{code}}", "<p>{{code}}</p>", "", "123456", `{"code":"123456"}`, true},
		{"{{v}}", "{{v}}", "{{v}} <no-reply@example.com>", "Eve\r\nBcc: victim@example.com", `{}`, true},
		{"Hi {{user.name}}", "Hello {{ user.name }}, {{application.name}}", "Acme <{{user.primaryEmail}}>", "x", `{"user":{"name":"<b>Bob</b> & \"Co\"","primaryEmail":"bob@example.com"},"application":{"name":"App"}}`, false},
		{"{{branding.senderName}}", "{{branding.logoUrl}} {{branding.primaryColor}}", "{{v}}", "<script>alert(1)</script>", `{"branding":{"senderName":"x\ny"}}`, true},
		{"\x00\x7f{{code}}\t", "{{{{v}}}}", "\"{{v}}\" <a@b.c>", "{{code}}", `{"code":"\u0000\r\n"}`, true},
		{"{{a.b.c.d}}", "{{a.0}} {{a}}", "", "'single' \"double\"", `{"a":[{"b":1},2.5,true,null]}`, true},
		{"", "", "", "", `not json`, false},
		{"\xff\xfe{{v}}", "<p>\xff{{v}}</p>", "{{v}}@example.com", "\xc3\x28", `{"v":1e308}`, true},
	}
	for _, s := range seeds {
		f.Add(s.subject, s.content, s.from, s.value, s.payload, s.html)
	}
	f.Fuzz(func(t *testing.T, subject, content, from, value, payloadJSON string, isHTML bool) {
		payload := map[string]any{}
		_ = json.Unmarshal([]byte(payloadJSON), &payload)
		if payload == nil {
			payload = map[string]any{}
		}
		payload["v"] = value
		contentType := emailtemplate.ContentTypeHTML
		if !isHTML {
			contentType = emailtemplate.ContentTypePlain
		}
		branding := emailtemplate.Branding{SenderName: value, CompanyInformation: value, LogoURL: value, PrimaryColor: value}
		check := func(how string, r emailtemplate.Rendered) {
			t.Helper()
			for name, h := range map[string]string{"subject": r.Subject, "From name": r.From.Name, "From address": r.From.Email,
				"Reply-To name": r.ReplyTo.Name, "Reply-To address": r.ReplyTo.Email} {
				if !headerSafe(h) {
					t.Fatalf("%s: the %s %q holds a control character", how, name, h)
				}
			}
			if isHTML && !strings.Contains(content, "<") && strings.Contains(r.HTML, "<") {
				t.Fatalf("%s: a template with no \"<\" rendered an unescaped one: %q", how, r.HTML)
			}
		}

		d := emailtemplate.Details{Subject: subject, Content: content, ContentType: contentType, SendFrom: from, ReplyTo: from}
		check("RenderDetails", emailtemplate.RenderDetails(d, connector.UsageGeneric, payload, branding))
		_ = emailtemplate.ValidateDetails(connector.UsageGeneric, d)

		r, err := emailtemplate.Render(context.Background(), nil, emailtemplate.Request{Usage: connector.UsageGeneric, Locale: value,
			FallbackLanguage: subject, Payload: payload, Branding: branding,
			ConnectorTemplates: []connector.Template{{UsageType: connector.UsageGeneric, Subject: subject, Content: content,
				ContentType: contentType, SendFrom: from, ReplyTo: from}}})
		if err != nil {
			t.Fatalf("rendering a connector template: %v", err)
		}
		check("Render", r)

		lone := emailtemplate.RenderDetails(emailtemplate.Details{Subject: "{{v}}", Content: "<p>{{v}}</p>", ContentType: emailtemplate.ContentTypeHTML},
			connector.UsageGeneric, map[string]any{"v": value}, emailtemplate.Branding{})
		if want := "<p>" + html.EscapeString(value) + "</p>"; lone.HTML != want {
			t.Fatalf("<p>{{v}}</p> with v=%q rendered %q, want %q", value, lone.HTML, want)
		}
		if !headerSafe(lone.Subject) {
			t.Fatalf("subject {{v}} with v=%q rendered %q", value, lone.Subject)
		}
	})
}
