package pages

import (
	"fmt"
	"net/http"

	"github.com/authmail/authmail/internal/account"
)

// The account page ("security"): a signed-in user, known by the sign-in
// session's cookie, confirms it is them (a code to their address or their
// password), then changes their email (a code to the new address) or
// their password. Each handler calls one step of the account service,
// the one the account API calls; the permission record and the code sent
// live in the page state, sealed and bound to the session.
const (
	// AccountSecurityPath is the account page.
	AccountSecurityPath   = "/account/security"
	accountVerifySend     = AccountSecurityPath + "/verify/send"
	accountVerifyPassword = AccountSecurityPath + "/verify/password"
	accountVerifyCode     = AccountSecurityPath + "/verify"
	accountEmail          = AccountSecurityPath + "/email"
	accountEmailCode      = AccountSecurityPath + "/email/verify"
	accountPassword       = AccountSecurityPath + "/password"
)

// The page state's events of the account page's codes.
const (
	eventAccountVerify = "account.verify"
	eventAccountEmail  = "account.email"
)

// securityData is what the account page shows.
type securityData struct {
	account.Security
	// NewEmail is the new address typed (shown again when refused).
	NewEmail string
	// Email and Hint serve the new-password fields (the username hint for
	// password managers, the policy's hint).
	Email, Hint string
	// Actions of the page's forms.
	SendAction, PasswordAction, EmailAction, NewPasswordAction string
}

// accountCaller is the page's user as the account service knows them,
// with the page's permission record.
func (p *page) accountCaller() account.Caller {
	return account.Caller{Tenant: p.tenant, Session: p.session, VerificationID: p.state.Permission, IP: p.caller.IP,
		Languages: p.caller.Languages}
}

// securityPage shows the account page: the way to confirm it is you, or,
// once confirmed, the forms to change the email and the password.
func (s *Server) securityPage(p *page) error {
	v := p.view()
	v.Notice = p.takeNotice()
	s.showSecurity(p, http.StatusOK, v, "")
	return nil
}

// showSecurity renders the account page with newEmail in its field, or
// the error page when the account cannot be read.
func (s *Server) showSecurity(p *page, status int, v view, newEmail string) {
	sec, err := s.Account.Security(p.r.Context(), p.accountCaller())
	if err != nil {
		p.fail(err)
		return
	}
	if !sec.Verified && p.state.Permission != "" {
		p.state.Permission, p.dirty = "", true // expired: confirm again
	}
	v.Data = securityData{Security: sec, NewEmail: newEmail, Email: sec.Email, Hint: p.passwordHint(),
		SendAction: accountVerifySend, PasswordAction: accountVerifyPassword, EmailAction: accountEmail, NewPasswordAction: accountPassword}
	p.render(status, "account-security", v)
}

// securityVerifySend emails a code to the user's address (or a new one,
// from the code page) and shows the code page.
func (s *Server) securityVerifySend(p *page) error {
	sent, err := s.Account.SendOwnCode(p.r.Context(), p.accountCaller())
	if err != nil {
		return p.refuse(err, "", p.view(), func(status int, v view) { s.showSecurity(p, status, v, "") })
	}
	if p.state.Event == eventAccountVerify && p.state.VerificationID != "" {
		p.state.Notice = msg("notice.code_sent")
	}
	p.keepCode(eventAccountVerify, sent.Email, sent.VerificationRecordID)
	return p.redirect(accountVerifyCode)
}

// keepCode keeps a code sent in the page state, with the cooldown.
func (p *page) keepCode(event, email, id string) {
	p.state.Event, p.state.Email, p.state.VerificationID = event, email, id
	p.state.ResendAt = p.s.Now().Unix() + int64(p.exp.VerificationCodePolicy.ResendCooldown)
	p.dirty = true
}

// securityVerifyPassword checks the user's password.
func (s *Server) securityVerifyPassword(p *page) error {
	v := p.view()
	show := func(status int, v view) { s.showSecurity(p, status, v, "") }
	pw := p.r.PostForm.Get("current")
	if pw == "" {
		p.setField(&v, "current", p.cat.text(msg("error.password_required")))
		show(http.StatusBadRequest, v)
		return nil
	}
	rec, err := s.Account.VerifyPassword(p.r.Context(), p.accountCaller(), pw)
	if err != nil {
		return p.refuse(err, "current", v, show)
	}
	p.state.Permission, p.state.Notice = rec.VerificationRecordID, msg("notice.verified")
	return p.redirect(AccountSecurityPath)
}

// securityCodePage asks for the code of the page state's event.
func (s *Server) securityCodePage(path string) func(p *page) error {
	return func(p *page) error {
		if !p.hasAccountCode(path) {
			return p.noAccountCode()
		}
		v := p.view()
		v.Focus = "code"
		v.Notice = p.takeNotice()
		s.showAccountCode(p, path, http.StatusOK, v)
		return nil
	}
}

// hasAccountCode reports whether the page state holds the code the code
// page at path asks for.
func (p *page) hasAccountCode(path string) bool {
	event := eventAccountVerify
	if path == accountEmailCode {
		event = eventAccountEmail
	}
	return p.state.Event == event && p.state.VerificationID != "" && p.state.Email != ""
}

// noAccountCode is the error page for a code page opened without a code
// sent, with the way back to the account page.
func (p *page) noAccountCode() error {
	v := p.view()
	v.Error = p.cat.text(msg("error.verification_not_found"))
	v.Data = errorData{Href: AccountSecurityPath, Label: p.cat.text(msg("account.back"))}
	p.render(http.StatusBadRequest, "error", v)
	return nil
}

func (s *Server) showAccountCode(p *page, path string, status int, v view) {
	wait := max(int(p.state.ResendAt-s.Now().Unix()), 0)
	send := accountVerifySend
	if path == accountEmailCode {
		send = accountEmailCode + "/send"
	}
	v.Data = codeData{Action: path, SendAction: send, Restart: AccountSecurityPath, Email: p.state.Email,
		Length: p.exp.VerificationCodePolicy.Length, Wait: wait, Clock: fmt.Sprintf("%d:%02d", wait/60, wait%60), Account: true}
	p.render(status, "code", v)
}

// accountCode reads the code typed on a code page, or shows the page
// again asking for it.
func (s *Server) accountCode(p *page, path string, v view) (string, bool) {
	code := codeDigits(p.r.PostForm.Get("code"))
	if code == "" {
		p.setField(&v, "code", p.cat.text(msg("error.code_required")))
		s.showAccountCode(p, path, http.StatusBadRequest, v)
		return "", false
	}
	return code, true
}

// securityVerifySubmit checks the code sent to the user's address: the
// changes are unlocked.
func (s *Server) securityVerifySubmit(p *page) error {
	if !p.hasAccountCode(accountVerifyCode) {
		return p.noAccountCode()
	}
	v := p.view()
	code, ok := s.accountCode(p, accountVerifyCode, v)
	if !ok {
		return nil
	}
	id, err := s.Account.VerifyCode(p.r.Context(), p.accountCaller(), emailIdentifier(p.state.Email), p.state.VerificationID, code)
	if err != nil {
		return p.refuse(err, "code", v, func(status int, v view) { s.showAccountCode(p, accountVerifyCode, status, v) })
	}
	p.state = pageState{Permission: id, Notice: msg("notice.verified")}
	return p.redirect(AccountSecurityPath)
}

// securityEmailSubmit sends a code to the new address and shows the
// code page.
func (s *Server) securityEmailSubmit(p *page) error {
	v := p.view()
	email := p.formField("email")
	show := func(status int, v view) { s.showSecurity(p, status, v, email) }
	if email == "" {
		p.setField(&v, "email", p.cat.text(msg("error.email_required")))
		show(http.StatusBadRequest, v)
		return nil
	}
	sent, err := s.Account.SendCode(p.r.Context(), p.accountCaller(), emailIdentifier(email), "")
	if err != nil {
		return p.refuseEmail(err, v, show)
	}
	p.keepCode(eventAccountEmail, email, sent.VerificationRecordID)
	return p.redirect(accountEmailCode)
}

// securityEmailResend sends a new code to the new address.
func (s *Server) securityEmailResend(p *page) error {
	if !p.hasAccountCode(accountEmailCode) {
		return p.noAccountCode()
	}
	sent, err := s.Account.SendCode(p.r.Context(), p.accountCaller(), emailIdentifier(p.state.Email), "")
	if err != nil {
		return p.refuse(err, "", p.view(), func(status int, v view) { s.showAccountCode(p, accountEmailCode, status, v) })
	}
	p.keepCode(eventAccountEmail, p.state.Email, sent.VerificationRecordID)
	p.state.Notice = msg("notice.code_sent")
	return p.redirect(accountEmailCode)
}

// securityEmailCodeSubmit checks the new address's code and changes the
// email.
func (s *Server) securityEmailCodeSubmit(p *page) error {
	if !p.hasAccountCode(accountEmailCode) {
		return p.noAccountCode()
	}
	v := p.view()
	code, ok := s.accountCode(p, accountEmailCode, v)
	if !ok {
		return nil
	}
	_, err := s.Account.ChangeEmailWithCode(p.r.Context(), p.accountCaller(), p.state.Email, p.state.VerificationID, code)
	if err != nil {
		return p.refuse(err, "code", v, func(status int, v view) { s.showAccountCode(p, accountEmailCode, status, v) })
	}
	p.state = pageState{Permission: p.state.Permission, Notice: msg("notice.email_changed")}
	return p.redirect(AccountSecurityPath)
}

// securityPasswordSubmit changes the password.
func (s *Server) securityPasswordSubmit(p *page) error {
	v := p.view()
	show := func(status int, v view) { s.showSecurity(p, status, v, "") }
	pw, ok := p.newPassword(&v)
	if !ok {
		show(http.StatusBadRequest, v)
		return nil
	}
	if err := s.Account.SetPassword(p.r.Context(), p.accountCaller(), pw); err != nil {
		return p.refusePassword(err, v, show)
	}
	p.state.Notice = msg("notice.account_password_changed")
	return p.redirect(AccountSecurityPath)
}
