// Package standard registers every built-in email connector. The authmail
// binary imports it; a custom build imports it and its own connectors.
package standard

import (
	_ "authmail/connectors/aliyundm"  // Aliyun DirectMail
	_ "authmail/connectors/devinbox"  // dev inbox
	_ "authmail/connectors/httpemail" // HTTP email (webhook)
	_ "authmail/connectors/mailgun"   // Mailgun
	_ "authmail/connectors/postmark"  // Postmark
	_ "authmail/connectors/sendgrid"  // SendGrid
	_ "authmail/connectors/ses"       // Amazon SES
	_ "authmail/connectors/smtp"      // SMTP
)
