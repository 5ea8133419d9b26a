package emailtemplate

import (
	"context"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
)

func TestTextFromHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		html string
		want string
	}{
		{"Empty", "", ""},
		{"PlainText", "just text", "just text"},
		{"HeadStyleScriptDropped", "<html><head><title>T</title><style>p{color:red}</style></head><body><script>var a = '<p>';</script><p>Hi</p></body></html>", "Hi"},
		{"ParagraphsAreBlankLines", "<p>One</p><p>Two</p>", "One\n\nTwo"},
		{"BrIsNewline", "a<br>b<br/>c", "a\nb\nc"},
		{"TwoBrsLeaveABlankLine", "a<br><br>b", "a\n\nb"},
		{"TableRowsAreLines", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
		{"NestedBlocksGiveOneBreak", "<div><div><p>x</p></div></div><div>y</div>", "x\n\ny"},
		{"WhitespaceCollapsed", "<p>  Hello \n\t   world  </p>", "Hello world"},
		{"EntitiesDecoded", "<p>Tom &amp; Jerry &lt;3 &eacute;t&eacute; &#8212; caf&#xe9;</p>", "Tom & Jerry <3 été — café"},
		{"NbspIsSpace", "a&nbsp;&nbsp;b", "a b"},
		{"LinkWithTarget", `<p>Open <a href="https://example.com/x?a=1&amp;b=2">your account</a> now.</p>`, "Open your account (https://example.com/x?a=1&b=2) now."},
		{"LinkTextIsURL", `<a href="https://example.com">https://example.com</a>`, "https://example.com"},
		{"MailtoShownOnce", `<a href="mailto:help@example.com">help@example.com</a>`, "help@example.com"},
		{"LinkWithoutText", `<a href="https://example.com/logo"><img src="x.png"></a>`, "https://example.com/logo"},
		{"AnchorAndScriptLinksDropped", `<a href="#top">Top</a> <a href="JavaScript:x()">Run</a>`, "Top Run"},
		{"LinkWithNestedMarkup", `<a href="https://e.test"><b>Bold</b> link</a>`, "Bold link (https://e.test)"},
		{"HiddenElementsDropped", `<div style="display: none; max-height:0">preheader <div>inner</div></div><p>Body</p>`, "Body"},
		{"ListItems", "<ul><li>one</li><li>two</li></ul>", "- one\n- two"},
		{"Headings", "<h1>Title</h1>text", "Title\n\ntext"},
		{"CommentsDropped", "a<!-- secret -->b", "ab"},
		{"Unclosed", "<p>a<p>b<div>c", "a\n\nb\nc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := TextFromHTML(tt.html); got != tt.want {
				t.Errorf("TextFromHTML(%q) =\n%q\nwant\n%q", tt.html, got, tt.want)
			}
		})
	}
}

func TestHTMLTemplateWithoutTextGetsDerivedText(t *testing.T) {
	t.Parallel()
	d := Details{Subject: "s", Content: `<p>Code: <b>{{code}}</b></p><p>For {{user.name}}</p>`}
	r := RenderDetails(d, connector.UsageUserPermissionValidation, map[string]any{"code": "1", "user": map[string]any{"name": "A & B <c>"}}, Branding{})
	if want := "Code: 1\n\nFor A & B <c>"; r.Text != want {
		t.Errorf("derived text = %q, want %q", r.Text, want)
	}
}

// BenchmarkRender renders a typical SignIn message from the built-in
// default through an empty store, as the delivery pipeline does.
func BenchmarkRender(b *testing.B) {
	ctx := context.Background()
	store := &memStore{templates: map[string]Details{}}
	req := Request{Tenant: "default", Usage: connector.UsageSignIn, Locale: "fr-CA", FallbackLanguage: "en",
		Payload: SamplePayload(connector.UsageSignIn), Branding: goldenBranding}
	b.ReportAllocs()
	for b.Loop() {
		store.lookups = store.lookups[:0]
		r, err := Render(ctx, store, req)
		if err != nil || !strings.Contains(r.HTML, "123456") {
			b.Fatalf("Render: %v", err)
		}
	}
}

// BenchmarkRenderStored renders a stored HTML template without a text part,
// so the text is derived.
func BenchmarkRenderStored(b *testing.B) {
	ctx := context.Background()
	d, err := BuiltinDetails(connector.UsageSignIn, "en", SamplePayload(connector.UsageSignIn), goldenBranding)
	if err != nil {
		b.Fatal(err)
	}
	d.Text = ""
	store := &memStore{templates: map[string]Details{"default/en/SignIn": d}}
	req := Request{Tenant: "default", Usage: connector.UsageSignIn, Locale: "en",
		Payload: SamplePayload(connector.UsageSignIn), Branding: goldenBranding}
	b.ReportAllocs()
	for b.Loop() {
		store.lookups = store.lookups[:0]
		if _, err := Render(ctx, store, req); err != nil {
			b.Fatal(err)
		}
	}
}
