package emailtemplate

import (
	"unicode"

	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/unicode/norm"
)

// Content types of a template's content.
const (
	// ContentTypeHTML is an HTML body; an empty content type means the same.
	ContentTypeHTML = "text/html"
	// ContentTypePlain is a plain-text body.
	ContentTypePlain = "text/plain"
)

// Details is one template: Logto's EmailTemplateDetails plus authmail's
// optional plain-text alternative.
type Details struct {
	// Subject is the subject line template. Required.
	Subject string `json:"subject"`
	// Content is the body template. Required.
	Content string `json:"content"`
	// ContentType is "text/html" or "text/plain"; empty means HTML.
	ContentType string `json:"contentType,omitempty"`
	// ReplyTo is a template for the Reply-To mailbox.
	ReplyTo string `json:"replyTo,omitempty"`
	// SendFrom is a template for the sender: "Name <addr>", an address, or
	// a display name that goes with the connector's configured address.
	SendFrom string `json:"sendFrom,omitempty"`
	// Text is the plain-text alternative of an HTML template. When empty,
	// the text part is derived from the rendered HTML.
	Text string `json:"text,omitempty"`
}

// IsHTML reports whether the content is HTML (the default).
func (d Details) IsHTML() bool { return d.ContentType != ContentTypePlain }

// Branding is a tenant's branding, available to every template as
// branding.*.
type Branding struct {
	// SenderName is shown as the sender's display name and in the header of
	// the built-in templates. It must not contain a link.
	SenderName string `json:"senderName,omitempty"`
	// CompanyInformation is shown in the footer of the built-in templates.
	// It must not contain a link.
	CompanyInformation string `json:"companyInformation,omitempty"`
	// LogoURL is an https URL of the logo (http only on loopback).
	LogoURL string `json:"logoUrl,omitempty"`
	// PrimaryColor is a colour such as "#2563eb".
	PrimaryColor string `json:"primaryColor,omitempty"`
}

// Branding limits.
const (
	// SenderNameMaxLen is the longest sender name, in characters.
	SenderNameMaxLen = 64
	// CompanyInformationMaxLen is the longest company information, in characters.
	CompanyInformationMaxLen = 512
	// LogoURLMaxLen is the longest logo URL, in bytes.
	LogoURLMaxLen = 2048
	// DefaultPrimaryColor is branding.primaryColor when the tenant has none.
	DefaultPrimaryColor = "#2563eb"
)

// ErrInvalidTemplate is matched (with errors.Is) by every validation error of
// this package: [*ValidationError] and [*PlaceholderError].
var ErrInvalidTemplate = errors.New("invalid template")

// ValidationError says which field of a template or branding is wrong.
type ValidationError struct {
	// Field is the JSON name of the field, such as "subject" or "logoUrl".
	Field string
	// Reason says what is wrong.
	Reason string
}

// Error names the field and the reason.
func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// Is makes the error match ErrInvalidTemplate.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidTemplate }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

var (
	colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	// linkRE finds anything that looks like a link or a domain name: a
	// scheme followed by "://", an IPv4 address, or a label and a dot (ASCII,
	// ideographic or full-width) followed by two letters or more, as in
	// "example.com" or "www.example".
	linkRE = regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*://|\d{1,3}(?:\.\d{1,3}){3}|[\p{L}\p{N}-][.。．｡]\p{L}{2}`)
)

// Validate checks the branding: text fields without links (against
// phishing, as Logto's built-in email service does) or control characters,
// a safe logo URL, a #rrggbb colour, and bounded lengths. It returns a
// [*ValidationError] for the first problem.
func (b Branding) Validate() error {
	if err := checkBrandText("senderName", b.SenderName, SenderNameMaxLen, false); err != nil {
		return err
	}
	if err := checkBrandText("companyInformation", b.CompanyInformation, CompanyInformationMaxLen, true); err != nil {
		return err
	}
	if b.LogoURL != "" {
		if err := checkLogoURL(b.LogoURL); err != nil {
			return err
		}
	}
	if b.PrimaryColor != "" && !colorRE.MatchString(b.PrimaryColor) {
		return invalid("primaryColor", "must be a colour such as #2563eb")
	}
	return nil
}

func checkBrandText(field, s string, maxLen int, multiline bool) error {
	if !utf8.ValidString(s) {
		return invalid(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > maxLen {
		return invalid(field, "must be at most %d characters, not %d", maxLen, n)
	}
	for _, r := range s {
		if (r < 32 && !(multiline && r == '\n')) || r == 127 {
			return invalid(field, "must not contain control characters")
		}
		if invisible(r) {
			return invalid(field, "must not contain invisible or direction-changing characters (U+%04X)", r)
		}
	}
	// A link spelled with look-alikes ("exаmple.com" with a Cyrillic а,
	// "example․com" with a one-dot leader) is a link: the check also
	// runs on the text's compatibility form and its confusable skeleton
	// (Unicode TS 39).
	if linkRE.MatchString(s) || linkRE.MatchString(confusables.Skeleton(norm.NFKC.String(s))) {
		return invalid(field, "must not contain a link or domain name")
	}
	return nil
}

// invisible reports characters that show nothing or reorder what
// follows: format characters (zero-width, bidi controls), line and
// paragraph separators, private-use, surrogate and unassigned code points.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp) ||
		!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc)
}

func checkLogoURL(s string) error {
	if len(s) > LogoURLMaxLen {
		return invalid("logoUrl", "must be at most %d bytes", LogoURLMaxLen)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return invalid("logoUrl", "must be an absolute https URL")
	}
	if u.User != nil {
		return invalid("logoUrl", "must not contain a user name or password")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return invalid("logoUrl", "must be an https URL (http only on loopback)")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sanitized drops branding fields a template must never see unchecked (an
// unsafe logo URL or colour), so rendering stays safe even with branding
// that was never validated.
func (b Branding) sanitized() Branding {
	if b.LogoURL != "" && checkLogoURL(b.LogoURL) != nil {
		b.LogoURL = ""
	}
	if b.PrimaryColor != "" && !colorRE.MatchString(b.PrimaryColor) {
		b.PrimaryColor = ""
	}
	return b
}

// values is the branding as templates see it under "branding".
func (b Branding) values() map[string]any {
	color := b.PrimaryColor
	if color == "" {
		color = DefaultPrimaryColor
	}
	return map[string]any{
		"senderName":         b.SenderName,
		"companyInformation": b.CompanyInformation,
		"logoUrl":            b.LogoURL,
		"primaryColor":       color,
	}
}

// ValidColor reports whether s is a colour as branding takes it, #rrggbb.
func ValidColor(s string) bool { return colorRE.MatchString(s) }

// CheckImageURL checks an image URL the way branding's logo URL is
// checked (absolute https, http only on loopback, no credentials, bounded
// length), returning what is wrong with it.
func CheckImageURL(s string) error {
	var ve *ValidationError
	if err := checkLogoURL(s); errors.As(err, &ve) {
		return errors.New(ve.Reason)
	} else if err != nil {
		return err
	}
	return nil
}
