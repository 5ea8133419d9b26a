package pages

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// codeData is what the code page shows.
type codeData struct {
	// Action is the code form's action, SendAction the resend form's,
	// Restart the flow's first page (another address).
	Action, SendAction, Restart string
	// Email is where the code went.
	Email string
	// Length is the number of digits of a code.
	Length int
	// Wait is how many seconds until another code may be sent, Clock the
	// same as m:ss.
	Wait  int
	Clock string
	// Reset says the code is for a password reset: the page then says a
	// code went out only if the address has an account.
	Reset bool
	// CanUsePassword offers the password page instead (sign-in).
	CanUsePassword bool
	// Account says the code is the account page's: Restart goes back to
	// it.
	Account bool
	// MFA says the code is a second factor, Binding that it turns the
	// factor on.
	MFA, Binding bool
}

// sendCode sends a code for the flow to email and keeps its record and
// cooldown in the page state.
func (p *page) sendCode(f flow, email string) error {
	sent, err := p.s.Experience.SendCode(p.r.Context(), p.caller, emailIdentifier(email), f.event)
	if err != nil {
		return err
	}
	p.state.Email, p.state.Event, p.state.VerificationID = email, string(f.event), sent.VerificationID
	p.state.ResendAt = p.s.Now().Unix() + int64(sent.ResendAfter)
	p.dirty = true
	return nil
}

// hasCode reports whether the page state holds a code sent in flow f.
func (p *page) hasCode(f flow) bool {
	return p.state.Email != "" && p.state.VerificationID != "" && p.state.Event == string(f.event)
}

// noCode is the error page for a code page opened without a code sent:
// Logto's "Session not found", with the way back to the flow's start.
func (p *page) noCode(f flow) error {
	v := p.view()
	v.Error = p.cat.text(msg("error.session_not_found"))
	v.Data = errorData{Href: f.path, Label: p.cat.text(msg("error.start_again"))}
	p.render(http.StatusBadRequest, "error", v)
	return nil
}

// codePage asks for the code sent to the flow's address.
func (s *Server) codePage(f flow) func(p *page) error {
	return func(p *page) error {
		if !p.hasCode(f) {
			return p.noCode(f)
		}
		v := p.view()
		v.Focus = "code"
		v.Notice = p.takeNotice()
		s.showCode(p, f, http.StatusOK, v)
		return nil
	}
}

func (s *Server) showCode(p *page, f flow, status int, v view) {
	v.Data = s.codeData(p, f)
	p.render(status, "code", v)
}

// codeData is what the code page of flow f shows.
func (s *Server) codeData(p *page, f flow) codeData {
	wait := int(p.state.ResendAt - s.Now().Unix())
	if wait < 0 {
		wait = 0
	}
	return codeData{Action: f.codePath(), SendAction: f.codePath() + "/send", Restart: f.path, Email: p.state.Email,
		Length: p.exp.VerificationCodePolicy.Length, Wait: wait, Clock: fmt.Sprintf("%d:%02d", wait/60, wait%60),
		Reset: f == forgotFlow, CanUsePassword: f == signInFlow && signInByPassword(p.exp)}
}

// typedCode reads the code form's code; an empty one is refused on its
// field (the page shown again with show).
func (p *page) typedCode(v view, show func(int, view)) (string, bool) {
	code := codeDigits(p.r.PostForm.Get("code"))
	if code == "" {
		p.setField(&v, "code", p.cat.text(msg("error.code_required")))
		show(http.StatusBadRequest, v)
		return "", false
	}
	return code, true
}

// codeDigits is a typed code without the spaces and dashes people copy
// with it.
func codeDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' {
			return -1
		}
		return r
	}, s)
}

// codeSubmit checks the code, then identifies the user (sign-in, reset)
// or creates the account (register), and finishes: to the app, to the
// page that asks for what the account lacks, to the cross-over pages
// (no account for a sign-in, an account already there for a
// registration), or to the new password page.
func (s *Server) codeSubmit(f flow) func(p *page) error {
	return func(p *page) error {
		if !p.hasCode(f) {
			return p.noCode(f)
		}
		v := p.view()
		show := func(status int, v view) { s.showCode(p, f, status, v) }
		code, ok := p.typedCode(v, show)
		if !ok {
			return nil
		}
		id, err := s.Experience.VerifyCode(p.r.Context(), p.caller, emailIdentifier(p.state.Email), p.state.VerificationID, code)
		if err != nil {
			return p.refuse(err, "code", v, show)
		}
		return s.afterCode(p, f, id, func(err error) error { return p.refuse(err, "", v, show) })
	}
}

// afterCode goes on from the verified code record id of flow f (typed, or
// a magic link): it identifies the user (sign-in, reset) or creates the
// account (register) and finishes, or goes to a cross-over page, the page
// that asks for what the account lacks, or the new password page; refuse
// answers any other refusal.
func (s *Server) afterCode(p *page, f flow, id string, refuse func(error) error) error {
	_, err := s.Experience.Identify(p.r.Context(), p.caller, id)
	switch {
	case f == signInFlow && isCode(err, "user.user_not_exist") && registerByEmail(p.exp):
		return p.redirect(createAccountPath)
	case f == registerFlow && isCode(err, "user.email_already_in_use") && signInByCode(p.exp):
		return p.redirect(existingAccountPath)
	}
	if done, perr := p.toProfile(err); done {
		return perr
	}
	if err != nil {
		return refuse(err)
	}
	if f == forgotFlow {
		p.state.VerificationID, p.state.Identified = "", true
		return p.redirect(resetPath)
	}
	return p.finish()
}

// codeSend sends a code for the flow's address again (or, from the
// password page, for the first time) and shows the code page.
func (s *Server) codeSend(f flow) func(p *page) error {
	return func(p *page) error {
		if p.state.Email == "" || p.state.Event != string(f.event) {
			return p.noCode(f)
		}
		v := p.view()
		fromPassword := f == signInFlow && p.state.VerificationID == ""
		show := func(status int, v view) {
			if fromPassword {
				s.showPassword(p, status, v)
				return
			}
			s.showCode(p, f, status, v)
		}
		if err := p.sendCode(f, p.state.Email); err != nil {
			return p.refuse(err, "", v, show)
		}
		if !fromPassword {
			p.state.Notice = msg("notice.code_sent")
		}
		return p.redirect(f.codePath())
	}
}

// errorData is an error page's way out, when it has one.
type errorData struct {
	Href, Label string
}
