package pages

import (
	"encoding/json"
	"net/http"
)

// stateCookie names the cookie that carries what one page tells the next
// within an interaction: the address being signed in, the verification
// record of the code sent to it, when it was sent, and a notice to show
// once. It is sealed with the server secret and bound to the interaction,
// so it can be neither read nor moved to another sign-in.
const stateCookie = "_authmail_page"

// pageState is the page state of an interaction.
type pageState struct {
	// Email is the address the flow is for, as the user typed it.
	Email string `json:"e,omitempty"`
	// VerificationID is the verification record of the last code sent.
	VerificationID string `json:"v,omitempty"`
	// Event is the interaction event the code was sent for.
	Event string `json:"ev,omitempty"`
	// ResendAt is when another code may be sent (Unix seconds): the
	// server's resend cooldown, which the code page counts down.
	ResendAt int64 `json:"r,omitempty"`
	// Identified says the code identified the user of a password reset.
	Identified bool `json:"i,omitempty"`
	// MfaID is the record of the last second-factor code sent; MfaBind
	// says that code binds the factor.
	MfaID   string `json:"m,omitempty"`
	MfaBind bool   `json:"mb,omitempty"`
	// Notice is a sentence to show once on the next page.
	Notice msg `json:"n,omitempty"`
	// Permission is the account page's permission record (the user
	// re-verified), sent as the account API's logto-verification-id.
	Permission string `json:"p,omitempty"`
}

// stateAAD binds a sealed page state to its tenant and interaction.
func (s *Server) stateAAD(tenantID, interaction string) string {
	return "pages.state|" + s.Keys.IdentifierHash(tenantID, "pages.state", interaction)
}

// readState opens the request's page state; one that is missing, sealed
// for another interaction or tampered with reads as empty.
func (s *Server) readState(r *http.Request, tenantID, interaction string) pageState {
	var st pageState
	c, err := r.Cookie(stateCookie)
	if err != nil || interaction == "" {
		return st
	}
	raw, err := s.Keys.Open(c.Value, s.stateAAD(tenantID, interaction))
	if err != nil || json.Unmarshal(raw, &st) != nil {
		return pageState{}
	}
	return st
}

// writeState sets the page state cookie (HttpOnly, SameSite=Lax, for the
// session only).
func (s *Server) writeState(w http.ResponseWriter, tenantID, interaction string, st pageState) error {
	if interaction == "" {
		return nil
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: s.Keys.Seal(raw, s.stateAAD(tenantID, interaction)),
		Path: "/", HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode})
	return nil
}

// clearState removes the page state cookie (the interaction is over).
func (s *Server) clearState(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode})
}
