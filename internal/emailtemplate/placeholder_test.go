package emailtemplate

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/authmail/authmail/connector"
)

func TestPlaceholderRules(t *testing.T) {
	payload := map[string]any{
		"code":         "123456",
		"nothing":      nil,
		"count":        3,
		"ratio":        1.5,
		"flag":         true,
		"big":          json.Number("12345678901234567890"),
		"application":  map[string]any{"name": "Sample App", "branding": map[string]any{"logoUrl": "https://x.test/l.png"}, "empty": nil},
		"user":         map[string]any{"name": `<script>alert("x")</script> & 'co'`},
		"list":         []any{"first", map[string]any{"k": "v"}},
		"organization": map[string]string{"name": "Acme"},
		"evil":         "Hi\r\nBcc: victim@example.com",
	}
	tests := []struct {
		name  string
		tmpl  string
		html  string // rendered in an HTML body
		plain string // rendered in a text body
	}{
		{"MissingRootStaysUnchanged", "a {{link}} b", "a {{link}} b", "a {{link}} b"},
		{"MissingNestedRootStaysUnchanged", "{{inviter.name}}", "{{inviter.name}}", "{{inviter.name}}"},
		{"MissingNestedPathIsEmpty", "[{{application.missing}}]", "[]", "[]"},
		{"NestedNullIsEmpty", "[{{application.empty}}]", "[]", "[]"},
		{"PathThroughScalarIsEmpty", "[{{code.length}}]", "[]", "[]"},
		{"NullRootIsEmpty", "[{{nothing}}]", "[]", "[]"},
		{"ObjectIsEmpty", "[{{application}}]", "[]", "[]"},
		{"ListIsEmpty", "[{{list}}]", "[]", "[]"},
		{"ListIndex", "{{list.0}} {{list.1.k}} [{{list.9}}]", "first v []", "first v []"},
		{"DottedPath", "{{application.branding.logoUrl}}", "https://x.test/l.png", "https://x.test/l.png"},
		{"StringMap", "{{organization.name}}", "Acme", "Acme"},
		{"WhitespaceInsideBraces", "{{ code }} {{\tcode}} {{code  }}", "123456 123456 123456", "123456 123456 123456"},
		{"Scalars", "{{count}} {{ratio}} {{flag}} {{big}}", "3 1.5 true 12345678901234567890", "3 1.5 true 12345678901234567890"},
		{"NotAPlaceholder", "{{ code-x }} {code} {{}}", "{{ code-x }} {code} {{}}", "{{ code-x }} {code} {{}}"},
		{"Repeated", "{{code}}{{code}}", "123456123456", "123456123456"},
		{"EscapesScriptAndQuotesInHTMLOnly", "{{user.name}}",
			"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;co&#39;",
			`<script>alert("x")</script> & 'co'`},
		{"EscapesInAttributes", `<a title="{{user.name}}">`,
			`<a title="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;co&#39;">`,
			`<a title="<script>alert("x")</script> & 'co'">`},
		{"TemplateTextIsNotEscaped", "<b>{{code}}</b>", "<b>123456</b>", "<b>123456</b>"},
		{"BrandingAvailable", "{{branding.senderName}}|{{branding.primaryColor}}|{{branding.logoUrl}}|{{branding.companyInformation}}",
			"Acme|#123456||Acme Inc", "Acme|#123456||Acme Inc"},
	}
	b := Branding{SenderName: "Acme", CompanyInformation: "Acme Inc", PrimaryColor: "#123456"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := RenderDetails(Details{Subject: "s", Content: tt.tmpl, ContentType: ContentTypeHTML, Text: tt.tmpl}, connector.UsageSignIn, payload, b)
			if h.HTML != tt.html {
				t.Errorf("HTML body: got %q, want %q", h.HTML, tt.html)
			}
			if h.Text != tt.plain {
				t.Errorf("text alternative: got %q, want %q", h.Text, tt.plain)
			}
			p := RenderDetails(Details{Subject: "s", Content: tt.tmpl, ContentType: ContentTypePlain}, connector.UsageSignIn, payload, b)
			if p.Text != tt.plain || p.HTML != "" {
				t.Errorf("plain-text template: got text %q html %q, want text %q and no html", p.Text, p.HTML, tt.plain)
			}
		})
	}
}

func TestHeadersNeverCarryControlCharacters(t *testing.T) {
	payload := map[string]any{
		"code": "123456",
		"user": map[string]any{"name": "Eve\r\nBcc: victim@example.com", "primaryEmail": "eve@example.com\r\nBcc: x@example.com"},
	}
	d := Details{
		Subject:  "Code {{code}} for {{user.name}}\x00\x7f",
		Content:  "<p>{{user.name}}</p>",
		SendFrom: "{{user.name}} <support@example.com>",
		ReplyTo:  "{{user.primaryEmail}}",
	}
	r := RenderDetails(d, connector.UsageUserPermissionValidation, payload, Branding{})
	if want := "Code 123456 for EveBcc: victim@example.com"; r.Subject != want {
		t.Errorf("subject = %q, want %q", r.Subject, want)
	}
	if r.From.Name != "EveBcc: victim@example.com" || r.From.Email != "support@example.com" {
		t.Errorf("from = %q <%s>, want the name without CR LF and support@example.com", r.From.Name, r.From.Email)
	}
	for _, s := range []string{r.Subject, r.From.Name, r.From.Email, r.ReplyTo.Name, r.ReplyTo.Email} {
		for _, c := range s {
			if c < 32 || c == 127 {
				t.Fatalf("header value %q carries control character %U", s, c)
			}
		}
	}
	// The body keeps the value (escaped), line breaks included.
	if r.HTML != "<p>Eve\r\nBcc: victim@example.com</p>" {
		t.Errorf("html = %q", r.HTML)
	}
}

func TestSenderAndReplyTo(t *testing.T) {
	payload := map[string]any{"user": map[string]any{"primaryEmail": "jane@example.com", "name": "Jane"}}
	b := Branding{SenderName: "Acme"}
	tests := []struct {
		name        string
		sendFrom    string
		replyTo     string
		wantFrom    connector.Address
		wantReplyTo connector.Address
		payload     map[string]any // nil means the one above
	}{
		{"NoSendFromUsesBrandingName", "", "", connector.Address{Name: "Acme"}, connector.Address{}, nil},
		{"FullMailbox", "Support <support@example.com>", "", connector.Address{Name: "Support", Email: "support@example.com"}, connector.Address{}, nil},
		{"BareAddressKeepsBrandingName", "support@example.com", "", connector.Address{Name: "Acme", Email: "support@example.com"}, connector.Address{}, nil},
		{"DisplayNameOnly", "Acme Security", "", connector.Address{Name: "Acme Security"}, connector.Address{}, nil},
		{"PlaceholderReplyTo", "", "{{user.name}} <{{user.primaryEmail}}>", connector.Address{Name: "Acme"}, connector.Address{Name: "Jane", Email: "jane@example.com"}, nil},
		{"QuotedName", `"Acme, Support" <support@example.com>`, "", connector.Address{Name: "Acme, Support", Email: "support@example.com"}, connector.Address{}, nil},
		{"NameValueCannotChangeAddress", "{{user.name}} <support@example.com>", "", connector.Address{Name: "Jane, <evil@example.net>", Email: "support@example.com"}, connector.Address{},
			map[string]any{"user": map[string]any{"name": "Jane, <evil@example.net>"}}},
		{"InvalidReplyToIsDropped", "", "not an address", connector.Address{Name: "Acme"}, connector.Address{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := payload
			if tt.payload != nil {
				p = tt.payload
			}
			r := RenderDetails(Details{Subject: "s", Content: "c", SendFrom: tt.sendFrom, ReplyTo: tt.replyTo}, connector.UsageBindNewIdentifier, p, b)
			if r.From != tt.wantFrom {
				t.Errorf("From = %#v, want %#v", r.From, tt.wantFrom)
			}
			if r.ReplyTo != tt.wantReplyTo {
				t.Errorf("ReplyTo = %#v, want %#v", r.ReplyTo, tt.wantReplyTo)
			}
		})
	}
}

func TestRenderDoesNotModifyPayload(t *testing.T) {
	payload := map[string]any{"code": "1", "branding": "caller's"}
	r := RenderDetails(Details{Subject: "{{branding.senderName}}", Content: "c"}, connector.UsageSignIn, payload, Branding{SenderName: "Acme"})
	if r.Subject != "Acme" {
		t.Errorf("subject = %q: the request's branding must replace a payload key named branding", r.Subject)
	}
	if len(payload) != 2 || payload["branding"] != "caller's" {
		t.Errorf("payload was modified: %v", payload)
	}
}

func TestUnsafeBrandingIsIgnoredWhenRendering(t *testing.T) {
	b := Branding{LogoURL: "javascript:alert(1)", PrimaryColor: "red;background:url(x)"}
	r := RenderDetails(Details{Subject: "s", Content: `<img src="{{branding.logoUrl}}" style="color:{{branding.primaryColor}}">`}, connector.UsageSignIn, nil, b)
	if want := `<img src="" style="color:` + DefaultPrimaryColor + `">`; r.HTML != want {
		t.Errorf("html = %q, want %q", r.HTML, want)
	}
}

func TestPlaceholders(t *testing.T) {
	got := Placeholders("{{ code }} {{application.name}} {{code}} {{ not valid }} {{user.primaryEmail}}")
	want := []string{"code", "application.name", "user.primaryEmail"}
	if !slices.Equal(got, want) {
		t.Errorf("Placeholders = %v, want %v", got, want)
	}
}

type stringerPtr struct{ s string }

func (p *stringerPtr) String() string { return p.s }

func TestStringify(t *testing.T) {
	t.Parallel()
	var nilStringer *stringerPtr
	tests := []struct {
		in   any
		want string
	}{
		{nil, ""},
		{"s", "s"},
		{10, "10"},
		{int32(-3), "-3"},
		{uint8(7), "7"},
		{float64(10), "10"},
		{0.25, "0.25"},
		{false, "false"},
		{&stringerPtr{"x"}, "x"},
		{nilStringer, ""},
		{map[string]any{"a": 1}, ""},
		{[]string{"a"}, ""},
		{struct{ A int }{1}, ""},
	}
	for _, tt := range tests {
		if got := stringify(tt.in); got != tt.want {
			t.Errorf("stringify(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
