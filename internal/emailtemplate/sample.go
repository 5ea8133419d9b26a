package emailtemplate

import (
	"strings"

	"github.com/authmail/authmail/connector"
)

// SamplePayload returns realistic placeholder values for previews: those
// the usage type provides (code 123456, application, organization, user,
// inviter, link: a magic link beside a code), plus locale, uiLocales and expiresInMinutes. Each call
// returns fresh maps the caller may change.
func SamplePayload(usage connector.UsageType) map[string]any {
	p := map[string]any{
		"locale":           "en",
		"uiLocales":        "en",
		"expiresInMinutes": 10,
	}
	for _, pattern := range provided[usage] {
		root := strings.TrimSuffix(pattern, ".*")
		if v := sampleValue(root); v != nil {
			p[root] = v
		}
	}
	if _, ok := p["code"]; ok && p["link"] != nil {
		// A code's link is a magic link.
		p["link"] = "https://auth.example.com/magic-link/sample-token"
	}
	return p
}

func sampleValue(root string) any {
	switch root {
	case "code":
		return "123456"
	case "link":
		return "https://auth.example.com/invitations/accept?token=sample-token"
	case "application":
		return map[string]any{"id": "sample-app", "name": "Sample App"}
	case "organization":
		return map[string]any{"id": "sample-org", "name": "Acme Corporation"}
	case "user":
		return map[string]any{"id": "sample-user", "name": "Jane Doe", "username": "jane", "primaryEmail": "jane.doe@example.com"}
	case "inviter":
		return map[string]any{"id": "sample-inviter", "name": "John Smith", "username": "john", "primaryEmail": "john.smith@example.com"}
	}
	return nil
}
