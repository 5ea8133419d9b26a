// Package standard registers every built-in email connector. The authmail
// binary imports it; a custom build imports it and its own connectors.
package standard

import (
	_ "github.com/authmail/authmail/connectors/aliyundm"  // Aliyun DirectMail
	_ "github.com/authmail/authmail/connectors/awsses"    // Amazon SES
	_ "github.com/authmail/authmail/connectors/devinbox"  // dev inbox
	_ "github.com/authmail/authmail/connectors/httpemail" // HTTP email (webhook)
	_ "github.com/authmail/authmail/connectors/mailgun"   // Mailgun
	_ "github.com/authmail/authmail/connectors/postmark"  // Postmark
	_ "github.com/authmail/authmail/connectors/sendgrid"  // SendGrid
	_ "github.com/authmail/authmail/connectors/smtp"      // SMTP
)
