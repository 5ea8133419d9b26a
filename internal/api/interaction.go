package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/tenant"
)

// The experience API (Logto's /api/experience): public, bound to the
// _interaction cookie or, for an app signing in without redirects, to
// the interaction token (Authorization: Bearer), capped per client. Each handler decodes the body,
// calls one step of the experience service and encodes its answer.

// eventBody is PUT /api/experience.
type eventBody struct {
	InteractionEvent experience.Event `json:"interactionEvent"`
	// CaptchaToken is accepted for Logto's clients; no captcha policy is
	// enforced.
	CaptchaToken string `json:"captchaToken,omitempty"`
}

// switchEventBody is PUT /api/experience/interaction-event.
type switchEventBody struct {
	InteractionEvent experience.Event `json:"interactionEvent"`
}

// sendExperienceCodeBody is POST /api/experience/verification/verification-code.
type sendExperienceCodeBody struct {
	Identifier       experience.Identifier `json:"identifier"`
	InteractionEvent experience.Event      `json:"interactionEvent"`
}

// verifyExperienceCodeBody is POST .../verification-code/verify.
type verifyExperienceCodeBody struct {
	Identifier     experience.Identifier `json:"identifier"`
	VerificationID string                `json:"verificationId"`
	Code           string                `json:"code"`
}

// verifyPasswordBody is POST /api/experience/verification/password.
type verifyPasswordBody struct {
	Identifier experience.Identifier `json:"identifier"`
	Password   string                `json:"password"`
}

// identificationBody is POST /api/experience/identification; it may be
// empty (Register from the profile gathered).
type identificationBody struct {
	VerificationID string `json:"verificationId,omitempty"`
}

// profileBody is POST /api/experience/profile.
type profileBody struct {
	Type           string `json:"type"`
	Value          string `json:"value,omitempty"`
	VerificationID string `json:"verificationId,omitempty"`
}

// sendMfaCodeBody is POST /api/experience/verification/mfa-verification-code.
type sendMfaCodeBody struct {
	// IdentifierType is "email": the code goes to the identified user's
	// primary email.
	IdentifierType string `json:"identifierType"`
}

// verifyMfaCodeBody is POST .../mfa-verification-code/verify.
type verifyMfaCodeBody struct {
	VerificationID string `json:"verificationId"`
	Code           string `json:"code"`
	IdentifierType string `json:"identifierType,omitempty"`
}

// bindMfaBody is POST /api/experience/profile/mfa.
type bindMfaBody struct {
	// Type is the factor, EmailVerificationCode.
	Type           string `json:"type"`
	VerificationID string `json:"verificationId"`
}

// newPasswordBody is PUT /api/experience/profile/password.
type newPasswordBody struct {
	Password string `json:"password"`
}

// verificationJSON is a verification step's answer.
type verificationJSON struct {
	VerificationID string `json:"verificationId"`
}

// interactionJSON is GET /api/experience/interaction's answer.
type interactionJSON experience.View

// codeSentJSON is the code send's answer.
type codeSentJSON experience.CodeSent

// submitResultJSON is POST /api/experience/submit's answer.
type submitResultJSON experience.Submitted

// submitBody is POST /api/experience/submit's optional body.
type submitBody struct {
	// CodeVerifier is a Native app's PKCE verifier, for a sign-in without
	// redirects.
	CodeVerifier string `json:"codeVerifier,omitempty"`
}

// directBody is POST /api/experience/direct.
type directBody struct {
	// ClientID and ClientSecret authenticate the app; they may come as
	// HTTP Basic instead (client_secret_basic). A Native app has no
	// secret: it sends codeChallenge.
	ClientID     string `json:"clientId,omitempty"`
	ClientSecret string `json:"clientSecret,omitempty"`
	// CodeChallenge is the PKCE challenge, codeChallengeMethod S256.
	CodeChallenge       string `json:"codeChallenge,omitempty"`
	CodeChallengeMethod string `json:"codeChallengeMethod,omitempty"`
	// Scope is space-separated and must hold openid (offline_access for
	// a refresh token).
	Scope string `json:"scope"`
	// Resource is an API resource's indicator the access token is for.
	Resource string `json:"resource,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	// UILocales are space-separated languages for the emails, best first.
	UILocales string `json:"uiLocales,omitempty"`
	LoginHint string `json:"loginHint,omitempty"`
}

// directStartedJSON is POST /api/experience/direct's answer.
type directStartedJSON experience.DirectStarted

func (s *Server) caller(r *http.Request) experience.Caller {
	return experience.CallerOf(r, tenant.FromContext(r.Context()))
}

func (s *Server) putExperience(w http.ResponseWriter, r *http.Request) error {
	var b eventBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := s.Experience.SetEvent(r.Context(), s.caller(r), b.InteractionEvent); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) switchExperienceEvent(w http.ResponseWriter, r *http.Request) error {
	var b switchEventBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := s.Experience.SwitchEvent(r.Context(), s.caller(r), b.InteractionEvent); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getInteraction(w http.ResponseWriter, r *http.Request) error {
	v, err := s.Experience.Interaction(r.Context(), s.caller(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, interactionJSON(v))
	return nil
}

func (s *Server) sendExperienceCode(w http.ResponseWriter, r *http.Request) error {
	var b sendExperienceCodeBody
	if err := decode(r, &b); err != nil {
		return err
	}
	sent, err := s.Experience.SendCode(r.Context(), s.caller(r), b.Identifier, b.InteractionEvent)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, codeSentJSON(sent))
	return nil
}

func (s *Server) verifyExperienceCode(w http.ResponseWriter, r *http.Request) error {
	var b verifyExperienceCodeBody
	if err := decode(r, &b); err != nil {
		return err
	}
	id, err := s.Experience.VerifyCode(r.Context(), s.caller(r), b.Identifier, b.VerificationID, b.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, verificationJSON{VerificationID: id})
	return nil
}

func (s *Server) verifyExperiencePassword(w http.ResponseWriter, r *http.Request) error {
	var b verifyPasswordBody
	if err := decode(r, &b); err != nil {
		return err
	}
	id, err := s.Experience.VerifyPassword(r.Context(), s.caller(r), b.Identifier, b.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, verificationJSON{VerificationID: id})
	return nil
}

func (s *Server) identify(w http.ResponseWriter, r *http.Request) error {
	var b identificationBody
	if err := decodeOptional(r, &b); err != nil {
		return err
	}
	id, err := s.Experience.Identify(r.Context(), s.caller(r), b.VerificationID)
	if err != nil {
		return err
	}
	if id.Created {
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

func (s *Server) addProfile(w http.ResponseWriter, r *http.Request) error {
	var b profileBody
	if err := decode(r, &b); err != nil {
		return err
	}
	err := s.Experience.AddProfile(r.Context(), s.caller(r), experience.ProfileInput{Type: b.Type, Value: b.Value, VerificationID: b.VerificationID})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var b newPasswordBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := s.Experience.ResetPassword(r.Context(), s.caller(r), b.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) startDirect(w http.ResponseWriter, r *http.Request) error {
	var b directBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if id, secret, ok := r.BasicAuth(); ok {
		// RFC 6749 section 2.3.1: both are form-encoded first.
		if b.ClientID, ok = unescapeForm(id); !ok {
			return invalidInput("clientId", "the Basic credentials are not form-encoded")
		}
		if b.ClientSecret, ok = unescapeForm(secret); !ok {
			return invalidInput("clientSecret", "the Basic credentials are not form-encoded")
		}
	}
	req := experience.DirectStart{ClientID: b.ClientID, ClientSecret: b.ClientSecret, CodeChallenge: b.CodeChallenge,
		CodeChallengeMethod: b.CodeChallengeMethod, Scopes: strings.Fields(b.Scope), Nonce: b.Nonce,
		UILocales: strings.Fields(b.UILocales), LoginHint: b.LoginHint}
	if b.Resource != "" {
		req.Resources = []string{b.Resource}
	}
	out, err := s.Experience.StartDirect(r.Context(), s.caller(r), req)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, directStartedJSON(out))
	return nil
}

// unescapeForm undoes the form encoding of a Basic credential.
func unescapeForm(s string) (string, bool) {
	out, err := url.QueryUnescape(s)
	return out, err == nil
}

func (s *Server) submitExperience(w http.ResponseWriter, r *http.Request) error {
	var b submitBody
	if err := decodeOptional(r, &b); err != nil {
		return err
	}
	out, err := s.Experience.SubmitWith(r.Context(), s.caller(r), experience.SubmitInput{CodeVerifier: b.CodeVerifier})
	if err != nil {
		return err
	}
	if out.AccessToken != "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	if out.Session != "" {
		s.Experience.SetSessionCookie(w, out.Session)
		s.Experience.ClearInteractionCookie(w)
	}
	writeJSON(w, http.StatusOK, submitResultJSON(out))
	return nil
}

func (s *Server) sendMfaCode(w http.ResponseWriter, r *http.Request) error {
	var b sendMfaCodeBody
	if err := decode(r, &b); err != nil {
		return err
	}
	sent, err := s.Experience.SendMfaCode(r.Context(), s.caller(r), b.IdentifierType)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, codeSentJSON(sent.CodeSent))
	return nil
}

func (s *Server) verifyMfaCode(w http.ResponseWriter, r *http.Request) error {
	var b verifyMfaCodeBody
	if err := decode(r, &b); err != nil {
		return err
	}
	id, err := s.Experience.VerifyMfaCode(r.Context(), s.caller(r), b.VerificationID, b.Code, b.IdentifierType)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, verificationJSON{VerificationID: id})
	return nil
}

func (s *Server) bindMfa(w http.ResponseWriter, r *http.Request) error {
	var b bindMfaBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := s.Experience.BindMfa(r.Context(), s.caller(r), experience.MfaInput{Type: b.Type, VerificationID: b.VerificationID}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
