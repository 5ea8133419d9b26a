package template_test

import (
	"fmt"

	"authmail/connector"
	"authmail/internal/template"
)

// Placeholders follow Logto's rules; values are escaped in HTML bodies and
// control characters never reach the subject.
func ExampleRenderDetails() {
	d := template.Details{
		Subject: "Code for {{user.name}}",
		Content: "<p>{{code}} for {{user.name}}, {{ user.missing }}{{link}}</p>",
	}
	payload := map[string]any{"code": "123456", "user": map[string]any{"name": "Jo <jo>\r\n"}}
	r := template.RenderDetails(d, connector.UsageUserPermissionValidation, payload, template.Branding{SenderName: "Acme"})
	fmt.Printf("%q\n%q\n%q\n%q\n", r.Subject, r.HTML, r.Text, r.From.Name)
	// Output:
	// "Code for Jo <jo>"
	// "<p>123456 for Jo &lt;jo&gt;\r\n, {{link}}</p>"
	// "123456 for Jo <jo> , {{link}}"
	// "Acme"
}

// ValidateDetails names the placeholders a usage type provides.
func ExampleValidateDetails() {
	err := template.ValidateDetails(connector.UsageGeneric, template.Details{Subject: "Hi {{user.name}}", Content: "{{code}}"})
	fmt.Println(err)
	// Output:
	// Generic templates cannot use {{user.name}}; they can use code, locale, uiLocales, expiresInMinutes, branding.senderName, branding.companyInformation, branding.logoUrl, branding.primaryColor
}
