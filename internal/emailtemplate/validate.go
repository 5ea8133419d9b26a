package emailtemplate

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/authmail/authmail/connector"
)

// Template size limits.
const (
	// SubjectMaxLen is the longest subject template, in bytes (RFC 5322's
	// line limit).
	SubjectMaxLen = 998
	// ContentMaxLen is the longest content or text template, in bytes.
	ContentMaxLen = 512 << 10
	// AddressMaxLen is the longest replyTo or sendFrom template, in bytes.
	AddressMaxLen = 998
)

// ValidateDetails checks a template before it is saved for a usage type:
// subject and content present, sizes bounded, a known content type, valid
// UTF-8, only placeholders the usage type provides ([*PlaceholderError]
// lists those it does), and replyTo and sendFrom that render (with
// [SamplePayload]) to a mailbox, or for sendFrom to a display name. Other
// problems are a [*ValidationError]. Both match [ErrInvalidTemplate].
func ValidateDetails(usage connector.UsageType, d Details) error {
	if !usage.Valid() {
		return invalid("templateType", "must be one of %s", usageList())
	}
	fields := []struct {
		name, value string
		maxLen      int
		required    bool
	}{
		{"subject", d.Subject, SubjectMaxLen, true},
		{"content", d.Content, ContentMaxLen, true},
		{"text", d.Text, ContentMaxLen, false},
		{"replyTo", d.ReplyTo, AddressMaxLen, false},
		{"sendFrom", d.SendFrom, AddressMaxLen, false},
	}
	for _, f := range fields {
		switch {
		case f.required && strings.TrimSpace(f.value) == "":
			return invalid(f.name, "is required")
		case len(f.value) > f.maxLen:
			return invalid(f.name, "must be at most %d bytes, not %d", f.maxLen, len(f.value))
		case !utf8.ValidString(f.value):
			return invalid(f.name, "must be valid UTF-8")
		}
	}
	if strings.ContainsAny(d.Subject, "\r\n") {
		return invalid("subject", "must be a single line")
	}
	switch d.ContentType {
	case "", ContentTypeHTML:
	case ContentTypePlain:
		if d.Text != "" {
			return invalid("text", "is only for text/html templates")
		}
	default:
		return invalid("contentType", "must be %s or %s", ContentTypeHTML, ContentTypePlain)
	}
	if err := checkPlaceholders(usage, d); err != nil {
		return err
	}
	return checkMailboxes(usage, d)
}

func usageList() string {
	var names []string
	for _, u := range connector.UsageTypes() {
		names = append(names, string(u))
	}
	return strings.Join(names, ", ")
}

// checkPlaceholders reports placeholders the usage type never provides.
func checkPlaceholders(usage connector.UsageType, d Details) error {
	provided := Provided(usage)
	var unknown []string
	for _, s := range []string{d.Subject, d.Content, d.Text, d.ReplyTo, d.SendFrom} {
		for _, p := range Placeholders(s) {
			if !allowed(p, provided) && !slices.Contains(unknown, p) {
				unknown = append(unknown, p)
			}
		}
	}
	if unknown == nil {
		return nil
	}
	return &PlaceholderError{Usage: usage, Unknown: unknown, Provided: provided}
}

// sampleBranding is the branding replyTo and sendFrom are checked with.
var sampleBranding = Branding{SenderName: "Sample", CompanyInformation: "Sample Inc"}

// checkMailboxes renders replyTo and sendFrom with sample values and
// checks their shape.
func checkMailboxes(usage connector.UsageType, d Details) error {
	data := templateData(SamplePayload(usage), sampleBranding)
	if d.ReplyTo != "" {
		s := strings.TrimSpace(header(d.ReplyTo, data))
		if _, err := connector.ParseAddress(s); err != nil {
			return invalid("replyTo", "must be an address or \"Name <address>\" (with sample values it renders to %q)", s)
		}
	}
	if d.SendFrom != "" {
		s := strings.TrimSpace(header(d.SendFrom, data))
		if strings.ContainsAny(s, "@<>") {
			if _, err := connector.ParseAddress(s); err != nil {
				return invalid("sendFrom", "must be an address, \"Name <address>\" or a display name (with sample values it renders to %q)", s)
			}
		} else if s == "" {
			return invalid("sendFrom", "renders to nothing with sample values")
		}
	}
	return nil
}
