package pages

import (
	"net/http"

	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/tenant"
)

// mfaPath is the second-factor code page, Logto's
// /mfa-verification/{factor}; it also binds the factor (Logto's
// /mfa-binding/{factor}) for a user who turned it on.
const mfaPath = "/mfa-verification/" + tenant.MfaEmailCode

// offersMfa says the password page lets a person turn on the email code
// as their second factor: the factor is on and each user chooses
// (the UserControlled policy).
func offersMfa(exp tenant.Experience) bool {
	return exp.MfaByEmail() && exp.Mfa.Policy == tenant.MfaUserControlled
}

// startMfa mails a second-factor code to the identified user and sends
// the browser to the code page; the code binds the factor when the user
// does not have it yet.
func (p *page) startMfa() error {
	if err := p.sendMfaCode(); err != nil {
		return err
	}
	return p.redirect(mfaPath)
}

// sendMfaCode sends a second-factor code and keeps its record, whether
// it binds, and the cooldown in the page state.
func (p *page) sendMfaCode() error {
	sent, err := p.s.Experience.SendMfaCode(p.r.Context(), p.caller, "email")
	if err != nil {
		return err
	}
	p.state.MfaID, p.state.MfaBind = sent.VerificationID, sent.Binding
	p.state.ResendAt = p.s.Now().Unix() + int64(sent.ResendAfter)
	p.dirty = true
	return nil
}

// mfaPage asks for the second-factor code.
func (s *Server) mfaPage(p *page) error {
	if p.state.MfaID == "" {
		return p.noCode(signInFlow)
	}
	v := p.view()
	v.Focus = "code"
	v.Notice = p.takeNotice()
	s.showMfa(p, http.StatusOK, v)
	return nil
}

func (s *Server) showMfa(p *page, status int, v view) {
	data := s.codeData(p, signInFlow)
	data.Action, data.SendAction, data.CanUsePassword = mfaPath, mfaPath+"/send", false
	data.MFA, data.Binding = true, p.state.MfaBind
	v.Data = data
	p.render(status, "code", v)
}

// mfaSubmit checks the second-factor code, binds the factor when the user
// turned it on, and finishes the sign-in.
func (s *Server) mfaSubmit(p *page) error {
	if p.state.MfaID == "" {
		return p.noCode(signInFlow)
	}
	v := p.view()
	show := func(status int, v view) { s.showMfa(p, status, v) }
	code, ok := p.typedCode(v, show)
	if !ok {
		return nil
	}
	ctx := p.r.Context()
	id, err := s.Experience.VerifyMfaCode(ctx, p.caller, p.state.MfaID, code, "email")
	if err != nil {
		return p.refuse(err, "code", v, show)
	}
	if p.state.MfaBind {
		if err := s.Experience.BindMfa(ctx, p.caller, experience.MfaInput{Type: tenant.MfaEmailCode, VerificationID: id}); err != nil {
			return p.refuse(err, "", v, show)
		}
	}
	return p.finish()
}

// mfaSend sends a new second-factor code.
func (s *Server) mfaSend(p *page) error {
	if p.state.MfaID == "" {
		return p.noCode(signInFlow)
	}
	v := p.view()
	if err := p.sendMfaCode(); err != nil {
		return p.refuse(err, "", v, func(status int, v view) { s.showMfa(p, status, v) })
	}
	p.state.Notice = msg("notice.code_sent")
	return p.redirect(mfaPath)
}
