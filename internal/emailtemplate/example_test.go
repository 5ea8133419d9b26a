package emailtemplate_test

import (
	"fmt"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/emailtemplate"
)

// Placeholders follow Logto's rules; values are escaped in HTML bodies and
// control characters never reach the subject.
func ExampleRenderDetails() {
	d := emailtemplate.Details{
		Subject: "Code for {{user.name}}",
		Content: "<p>{{code}} for {{user.name}}, {{ user.missing }}{{link}}</p>",
	}
	payload := map[string]any{"code": "123456", "user": map[string]any{"name": "Jo <jo>\r\n"}}
	r := emailtemplate.RenderDetails(d, connector.UsageUserPermissionValidation, payload, emailtemplate.Branding{SenderName: "Acme"})
	fmt.Printf("%q\n%q\n%q\n%q\n", r.Subject, r.HTML, r.Text, r.From.Name)
	// Output:
	// "Code for Jo <jo>"
	// "<p>123456 for Jo &lt;jo&gt;\r\n, {{link}}</p>"
	// "123456 for Jo <jo> , {{link}}"
	// "Acme"
}

// ValidateDetails names the placeholders a usage type provides.
func ExampleValidateDetails() {
	err := emailtemplate.ValidateDetails(connector.UsageGeneric, emailtemplate.Details{Subject: "Hi {{user.name}}", Content: "{{code}}"})
	fmt.Println(err)
	// Output:
	// Generic templates cannot use {{user.name}}; they can use code, locale, uiLocales, expiresInMinutes, branding.senderName, branding.companyInformation, branding.logoUrl, branding.primaryColor
}
