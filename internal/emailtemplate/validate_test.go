package emailtemplate

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
)

func TestValidateDetails(t *testing.T) {
	t.Parallel()
	ok := Details{Subject: "Code {{code}}", Content: "<p>{{ code }} for {{application.name}}</p>"}
	with := func(f func(*Details)) Details {
		d := ok
		f(&d)
		return d
	}
	tests := []struct {
		name      string
		usage     connector.UsageType
		details   Details
		wantField string // "" means valid
	}{
		{"Valid", connector.UsageSignIn, ok, ""},
		{"ValidPlainText", connector.UsageSignIn, with(func(d *Details) { d.ContentType = ContentTypePlain }), ""},
		{"ValidWithTextAndAddresses", connector.UsageUserPermissionValidation, with(func(d *Details) {
			d.Text = "{{code}}"
			d.ReplyTo = "{{user.name}} <{{user.primaryEmail}}>"
			d.SendFrom = "{{branding.senderName}} Security"
		}), ""},
		{"ValidSendFromMailbox", connector.UsageSignIn, with(func(d *Details) { d.SendFrom = "Acme <no-reply@example.com>" }), ""},
		{"UnknownUsage", "Login", ok, "templateType"},
		{"SubjectRequired", connector.UsageSignIn, with(func(d *Details) { d.Subject = "  " }), "subject"},
		{"ContentRequired", connector.UsageSignIn, with(func(d *Details) { d.Content = "" }), "content"},
		{"SubjectTooLong", connector.UsageSignIn, with(func(d *Details) { d.Subject = strings.Repeat("a", SubjectMaxLen+1) }), "subject"},
		{"SubjectAtLimit", connector.UsageSignIn, with(func(d *Details) { d.Subject = strings.Repeat("a", SubjectMaxLen) }), ""},
		{"SubjectOneLine", connector.UsageSignIn, with(func(d *Details) { d.Subject = "a\r\nBcc: x@example.com" }), "subject"},
		{"ContentTooLong", connector.UsageSignIn, with(func(d *Details) { d.Content = strings.Repeat("a", ContentMaxLen+1) }), "content"},
		{"ContentAtLimit", connector.UsageSignIn, with(func(d *Details) { d.Content = strings.Repeat("a", ContentMaxLen) }), ""},
		{"TextTooLong", connector.UsageSignIn, with(func(d *Details) { d.Text = strings.Repeat("a", ContentMaxLen+1) }), "text"},
		{"InvalidUTF8", connector.UsageSignIn, with(func(d *Details) { d.Content = "\xff" }), "content"},
		{"UnknownContentType", connector.UsageSignIn, with(func(d *Details) { d.ContentType = "text/markdown" }), "contentType"},
		{"TextWithPlainContent", connector.UsageSignIn, with(func(d *Details) { d.ContentType = ContentTypePlain; d.Text = "x" }), "text"},
		{"ReplyToNotAMailbox", connector.UsageSignIn, with(func(d *Details) { d.ReplyTo = "support team" }), "replyTo"},
		{"ReplyToRendersEmpty", connector.UsageOrganizationInvitation, Details{Subject: "s", Content: "{{link}}", ReplyTo: "{{inviter.missing}}"}, "replyTo"},
		{"SendFromBrokenAddress", connector.UsageSignIn, with(func(d *Details) { d.SendFrom = "Acme <not an address>" }), "sendFrom"},
		{"SendFromRendersEmpty", connector.UsageSignIn, with(func(d *Details) { d.SendFrom = "{{application.missing}}" }), "sendFrom"},
		{"UnknownPlaceholder", connector.UsageSignIn, with(func(d *Details) { d.Content = "{{inviter.name}}" }), "placeholders"},
		{"ObjectPlaceholder", connector.UsageSignIn, with(func(d *Details) { d.Content = "{{application}}" }), "placeholders"},
		{"UnknownBrandingKey", connector.UsageSignIn, with(func(d *Details) { d.Subject = "{{branding.logoURL}}" }), "placeholders"},
		{"PlaceholderInReplyTo", connector.UsageGeneric, Details{Subject: "s", Content: "{{code}}", ReplyTo: "{{user.primaryEmail}}"}, "placeholders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateDetails(tt.usage, tt.details)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidTemplate) {
				t.Fatalf("want an error matching ErrInvalidTemplate, got %v", err)
			}
			var ve *ValidationError
			var pe *PlaceholderError
			switch {
			case errors.As(err, &pe):
				if tt.wantField != "placeholders" {
					t.Fatalf("got placeholder error %v, want field %s", err, tt.wantField)
				}
			case errors.As(err, &ve):
				if ve.Field != tt.wantField {
					t.Fatalf("got field %q (%v), want %q", ve.Field, err, tt.wantField)
				}
			default:
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
		})
	}
}

func TestPlaceholderErrorListsProvided(t *testing.T) {
	t.Parallel()
	tests := []struct {
		usage        connector.UsageType
		content      string
		wantUnknown  []string
		wantProvided []string
	}{
		{connector.UsageSignIn, "{{link}} {{code}} {{user.name}} {{inviter.name}}", []string{"user.name", "inviter.name"},
			[]string{"code", "link", "application.*", "organization.*"}},
		{connector.UsageGeneric, "{{application.name}} {{organization.name}}", []string{"application.name", "organization.name"},
			[]string{"code"}},
		{connector.UsageOrganizationInvitation, "{{code}} {{link}} {{inviter.name}}", []string{"code"},
			[]string{"link", "organization.*", "inviter.*"}},
		{connector.UsageBindNewIdentifier, "{{organization.name}}", []string{"organization.name"},
			[]string{"code", "user.*", "application.*"}},
		{connector.UsageMfaVerification, "{{inviter.name}}", []string{"inviter.name"},
			[]string{"code", "user.*", "application.*", "organization.*"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.usage), func(t *testing.T) {
			t.Parallel()
			err := ValidateDetails(tt.usage, Details{Subject: "s", Content: tt.content})
			var pe *PlaceholderError
			if !errors.As(err, &pe) {
				t.Fatalf("want *PlaceholderError, got %v", err)
			}
			if !slices.Equal(pe.Unknown, tt.wantUnknown) {
				t.Errorf("Unknown = %v, want %v", pe.Unknown, tt.wantUnknown)
			}
			wantProvided := append(tt.wantProvided, "locale", "uiLocales", "expiresInMinutes",
				"branding.senderName", "branding.companyInformation", "branding.logoUrl", "branding.primaryColor")
			if !slices.Equal(pe.Provided, wantProvided) {
				t.Errorf("Provided = %v, want %v", pe.Provided, wantProvided)
			}
			msg := err.Error()
			for _, p := range append(pe.Unknown, wantProvided...) {
				if !strings.Contains(msg, p) {
					t.Errorf("message %q does not mention %s", msg, p)
				}
			}
		})
	}
}

func TestProvided(t *testing.T) {
	t.Parallel()
	for _, u := range connector.UsageTypes() {
		if len(Provided(u)) == 0 {
			t.Errorf("Provided(%s) is empty", u)
		}
	}
	if Provided("Nope") != nil {
		t.Error("Provided of an unknown usage type should be nil")
	}
	p := Provided(connector.UsageGeneric)
	p[0] = "changed"
	if Provided(connector.UsageGeneric)[0] != "code" {
		t.Error("Provided returned shared state")
	}
}

func TestSamplePayload(t *testing.T) {
	t.Parallel()
	for _, u := range connector.UsageTypes() {
		p := SamplePayload(u)
		for _, pattern := range Provided(u) {
			root := strings.TrimSuffix(pattern, ".*")
			if strings.HasPrefix(root, "branding") {
				continue
			}
			if _, ok := p[root]; !ok {
				t.Errorf("SamplePayload(%s) lacks %s", u, root)
			}
		}
		for root := range p {
			if !slices.ContainsFunc(Provided(u), func(s string) bool { return strings.TrimSuffix(s, ".*") == root }) {
				t.Errorf("SamplePayload(%s) has %s, which %s does not provide", u, root, u)
			}
		}
	}
	p := SamplePayload(connector.UsageSignIn)
	if p["code"] != "123456" {
		t.Errorf("sample code = %v", p["code"])
	}
	if v, _ := lookup(p, "application.name"); v == "" {
		t.Error("sample application has no name")
	}
	p["application"].(map[string]any)["name"] = "changed"
	if v, _ := lookup(SamplePayload(connector.UsageSignIn), "application.name"); v == "changed" {
		t.Error("SamplePayload shares maps between calls")
	}
	if v, _ := lookup(SamplePayload(connector.UsageOrganizationInvitation), "inviter.name"); v == "" {
		t.Error("sample invitation has no inviter name")
	}
}

func TestLanguageTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in        string
		canonical string // "" means an error
		valid     bool
	}{
		{"en", "en", true},
		{"fr-CA", "fr-CA", true},
		{"zh-Hant", "zh-Hant", true},
		{"zh-Hant-TW", "zh-Hant-TW", true},
		{"pt-BR", "pt-BR", true},
		{"fr-ca", "fr-CA", false},
		{"fr_CA", "fr-CA", false},
		{"EN", "en", false},
		{"", "", false},
		{"und", "", false},
		{"x", "", false},
		{"en-", "", false},
		{"not a tag", "", false},
		{"en-US-x-twelvechars", "", false},
		{strings.Repeat("a", 100), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := CanonicalLanguageTag(tt.in)
			if tt.canonical == "" {
				if err == nil {
					t.Errorf("CanonicalLanguageTag(%q) = %q, want an error", tt.in, got)
				}
			} else if err != nil || got != tt.canonical {
				t.Errorf("CanonicalLanguageTag(%q) = %q, %v; want %q", tt.in, got, err, tt.canonical)
			}
			if ValidLanguageTag(tt.in) != tt.valid {
				t.Errorf("ValidLanguageTag(%q) = %v, want %v", tt.in, !tt.valid, tt.valid)
			}
		})
	}
}

func TestBrandingValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		branding  Branding
		wantField string // "" means valid
	}{
		{"Empty", Branding{}, ""},
		{"Full", Branding{SenderName: "Acme", CompanyInformation: "Acme Inc.\n1 Main St., Springfield", LogoURL: "https://cdn.example.com/logo.png", PrimaryColor: "#0F766e"}, ""},
		{"Accents", Branding{SenderName: "Société Générale", CompanyInformation: "Équipe sécurité, 12 rue de la Paix, 75002 Paris"}, ""},
		{"AbbreviationsAreFine", Branding{CompanyInformation: "Acme Co. Ltd. e.g. i.e. v1.2"}, ""},
		{"SenderNameURL", Branding{SenderName: "https://evil.test"}, "senderName"},
		{"SenderNameDomain", Branding{SenderName: "Login at acme-secure.com"}, "senderName"},
		{"SenderNameWWW", Branding{SenderName: "www.acme"}, "senderName"},
		{"SenderNameIDN", Branding{SenderName: "пример.рф"}, "senderName"},
		{"SenderNameFullWidthDot", Branding{SenderName: "evil．com"}, "senderName"},
		{"SenderNameIP", Branding{SenderName: "go to 10.0.0.1 now"}, "senderName"},
		{"SenderNameZeroWidthBeforeDot", Branding{SenderName: "evil\u200b.com"}, "senderName"},
		{"SenderNameZeroWidthJoiner", Branding{SenderName: "evil.\u200dcom"}, "senderName"},
		{"SenderNameBidiOverride", Branding{SenderName: "Acme \u202emoc.live"}, "senderName"},
		{"SenderNameOneDotLeader", Branding{SenderName: "evil\u2024com"}, "senderName"},
		{"SenderNameSmallFullStop", Branding{SenderName: "evil\ufe52com"}, "senderName"},
		{"CompanyInfoCyrillicScheme", Branding{CompanyInformation: "see \u04bbttps://evil"}, "companyInformation"},
		{"CompanyInfoMathLetters", Branding{CompanyInformation: "\U0001d41e\U0001d42f\U0001d422\U0001d425.\U0001d41c\U0001d428\U0001d426"}, "companyInformation"},
		{"CompanyInfoLineSeparator", Branding{CompanyInformation: "Acme\u2028Inc"}, "companyInformation"},
		{"NonLatinNamesAreFine", Branding{SenderName: "Компания Пример", CompanyInformation: "株式会社サンプル 東京都"}, ""},
		{"SenderNameNewline", Branding{SenderName: "Acme\r\nBcc: x"}, "senderName"},
		{"SenderNameTooLong", Branding{SenderName: strings.Repeat("a", SenderNameMaxLen+1)}, "senderName"},
		{"SenderNameAtLimitInRunes", Branding{SenderName: strings.Repeat("é", SenderNameMaxLen)}, ""},
		{"CompanyInfoLink", Branding{CompanyInformation: "Visit http://acme.test/login"}, "companyInformation"},
		{"CompanyInfoEmail", Branding{CompanyInformation: "support@acme.io"}, "companyInformation"},
		{"CompanyInfoSchemeOnly", Branding{CompanyInformation: "ftp://files"}, "companyInformation"},
		{"CompanyInfoTab", Branding{CompanyInformation: "a\tb"}, "companyInformation"},
		{"CompanyInfoTooLong", Branding{CompanyInformation: strings.Repeat("a", CompanyInformationMaxLen+1)}, "companyInformation"},
		{"LogoHTTP", Branding{LogoURL: "http://cdn.example.com/logo.png"}, "logoUrl"},
		{"LogoHTTPLoopback", Branding{LogoURL: "http://127.0.0.1:8080/logo.png"}, ""},
		{"LogoHTTPLocalhost", Branding{LogoURL: "http://localhost/logo.png"}, ""},
		{"LogoHTTPIPv6Loopback", Branding{LogoURL: "http://[::1]/logo.png"}, ""},
		{"LogoJavascript", Branding{LogoURL: "javascript:alert(1)"}, "logoUrl"},
		{"LogoData", Branding{LogoURL: "data:image/png;base64,AAAA"}, "logoUrl"},
		{"LogoRelative", Branding{LogoURL: "/logo.png"}, "logoUrl"},
		{"LogoUserinfo", Branding{LogoURL: "https://google.com@evil.test/logo.png"}, "logoUrl"},
		{"LogoTooLong", Branding{LogoURL: "https://cdn.example.com/" + strings.Repeat("a", LogoURLMaxLen)}, "logoUrl"},
		{"ColorShort", Branding{PrimaryColor: "#fff"}, "primaryColor"},
		{"ColorName", Branding{PrimaryColor: "red"}, "primaryColor"},
		{"ColorInjection", Branding{PrimaryColor: "#000000;background:url(x)"}, "primaryColor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.branding.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.wantField || !errors.Is(err, ErrInvalidTemplate) {
				t.Fatalf("got %v, want a ValidationError on %s", err, tt.wantField)
			}
		})
	}
}
