package pages

import (
	"errors"
	"net/http"

	"github.com/authmail/authmail/internal/orgs"
)

// The invitation accept page: an invitation mailed without the app's link
// links here (orgs.AcceptPath and a one-time token). The invitee asks
// for a code to the invited address, enters it, and is a member: the
// browser goes on to the organization's return URL, or the page says the
// invitee joined.

// invitationPath is the accept page's route; {token} is the invitation's
// one-time token.
const invitationPath = orgs.AcceptPath + "{token}"

// invitationCSRF is what an accept page's CSRF tokens are bound to.
func invitationCSRF(token string) string { return "invitation:" + token }

// invitationData is what the accept page shows.
type invitationData struct {
	orgs.AcceptView
	// SendAction is the form that sends the code.
	SendAction string
}

// acceptBase is the accept page of the request's token.
func (p *page) acceptBase() string { return orgs.AcceptPath + p.r.PathValue("token") }

// invitationError turns the accept flow's own refusals into the error
// page's sentences.
func invitationError(err error) error {
	switch {
	case errors.Is(err, orgs.ErrLinkInvalid):
		return &pageError{status: http.StatusNotFound, key: msg("invitation.invalid")}
	case errors.Is(err, orgs.ErrSuspended):
		return &pageError{status: http.StatusForbidden, key: msg("invitation.suspended")}
	}
	return err
}

// invitationPage shows the invitation and offers to send the code.
func (s *Server) invitationPage(p *page) error {
	iv, err := s.Orgs.OpenInvitation(p.r.Context(), p.tenant, p.r.PathValue("token"))
	if err != nil {
		return invitationError(err)
	}
	v := p.view()
	v.Focus = "send"
	v.Data = invitationData{AcceptView: iv, SendAction: p.acceptBase() + "/send"}
	p.render(http.StatusOK, "invitation", v)
	return nil
}

// invitationSend mails the code to the invitee, then shows the code page;
// a refused send (too soon, over a cap) is said on the code page, where an
// earlier code may still be entered.
func (s *Server) invitationSend(p *page) error {
	err := s.Orgs.SendAcceptCode(p.r.Context(), p.tenant, p.r.PathValue("token"), p.caller.IP, p.caller.Languages)
	if err == nil {
		http.Redirect(p.w, p.r, p.acceptBase()+"/code", http.StatusSeeOther)
		return nil
	}
	if err = invitationError(err); isPageError(err) {
		return err
	}
	return p.refuse(err, "code", p.view(), func(status int, v view) { s.showInvitationCode(p, status, v) })
}

func isPageError(err error) bool {
	var pe *pageError
	return errors.As(err, &pe)
}

// invitationCodePage asks for the code sent to the invitee.
func (s *Server) invitationCodePage(p *page) error {
	v := p.view()
	v.Focus = "code"
	s.showInvitationCode(p, http.StatusOK, v)
	return nil
}

// showInvitationCode shows the code page of the request's invitation, or
// the error page when its link is no longer valid.
func (s *Server) showInvitationCode(p *page, status int, v view) {
	iv, err := s.Orgs.OpenInvitation(p.r.Context(), p.tenant, p.r.PathValue("token"))
	if err != nil {
		p.fail(invitationError(err))
		return
	}
	base := p.acceptBase()
	v.Data = codeData{Action: base + "/code", SendAction: base + "/send", Email: iv.Invitee, Length: p.exp.VerificationCodePolicy.Length}
	p.render(status, "code", v)
}

// invitationCodeSubmit checks the code and accepts: on to the
// organization's return URL, or the page that says the invitee joined.
func (s *Server) invitationCodeSubmit(p *page) error {
	v := p.view()
	show := func(status int, v view) { s.showInvitationCode(p, status, v) }
	code := codeDigits(p.r.PostForm.Get("code"))
	if code == "" {
		p.setField(&v, "code", p.cat.text(msg("error.code_required")))
		show(http.StatusBadRequest, v)
		return nil
	}
	done, err := s.Orgs.AcceptWithCode(p.r.Context(), p.tenant, p.r.PathValue("token"), code, p.caller.IP)
	if err != nil {
		if err = invitationError(err); isPageError(err) {
			return err
		}
		return p.refuse(err, "code", v, show)
	}
	if done.ReturnURL != "" {
		http.Redirect(p.w, p.r, done.ReturnURL, http.StatusSeeOther)
		return nil
	}
	v.Data = done
	p.render(http.StatusOK, "invitation-accepted", v)
	return nil
}
