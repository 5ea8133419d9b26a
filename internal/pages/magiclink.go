package pages

import (
	"net/http"

	"github.com/authmail/authmail/internal/experience"
)

// magicData is what the magic link page shows: the confirmation form
// (Action, the page itself), or the code to type in the browser that
// asked for it (Code).
type magicData struct {
	Action, Code string
}

// magicLinkPage is what a magic link opens: a GET reads the link without
// using it (a mail scanner that fetches it takes nothing) and asks the
// person to confirm with a button, whose POST uses it.
func (s *Server) magicLinkPage(p *page) error {
	token := p.r.PathValue("token")
	if err := s.Experience.LinkStatus(p.r.Context(), p.tenant, token); err != nil {
		return err
	}
	v := p.view()
	v.Focus = "confirm"
	v.Data = magicData{Action: experience.MagicLinkPage + "/" + token}
	p.render(http.StatusOK, "magic-link", v)
	return nil
}

// magicLinkSubmit uses the link: in the browser that asked for the code
// it verifies it and goes on as the code page does (to the app, a
// cross-over page or what the account lacks); anywhere else it shows the
// code to type in that browser and signs nothing in.
func (s *Server) magicLinkSubmit(p *page) error {
	use, err := s.Experience.UseLink(p.r.Context(), p.caller, p.r.PathValue("token"))
	if err != nil {
		return err
	}
	if !use.Verified {
		v := p.view()
		v.Data = magicData{Code: use.Code}
		p.render(http.StatusOK, "magic-link", v)
		return nil
	}
	f := signInFlow
	if use.Event == experience.EventRegister {
		f = registerFlow
	}
	return s.afterCode(p, f, use.VerificationID, func(err error) error { return err })
}
