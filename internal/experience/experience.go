// Package experience runs Logto's experience flows: sign-in, sign-up and
// password reset by email code or password, one step per method, for the
// JSON experience API (internal/api, under /api/experience) and the hosted
// pages (internal/pages) alike.
//
// A flow lives in an interaction: a row started for an OIDC authorization
// request (Start, called by internal/oidc) and found by the _interaction
// cookie, of which only a keyed hash is stored; or, for an app signing
// users in without redirects, started by StartDirect and found by its
// interaction token (Authorization: Bearer), a secret of the same kind.
// Its state (the event, the verification records keyed by type, the
// identified user, the profile to fill in) is sealed at rest and lives an
// hour. The steps, in the order a
// client calls them: SetEvent (PUT /api/experience), SendCode and VerifyCode
// or VerifyPassword (a verification record), Identify (which creates the
// user in Register), AddProfile and ResetPassword when more is needed, and
// Submit, which completes the authorization request through the Completer
// and opens a sign-in session (the _session cookie, 14 days) so that the
// next authorization request of the browser completes at once.
//
// Errors carry Logto's codes and statuses (*Error), because clients branch
// on them. A verified code's record is consumed in the transaction of the
// write it unlocks; an unknown address is answered as a known one
// (suppressed delivery, one password failure, one argon2id run each); and
// password and code failures share the lockouts of package verification.
package experience

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/ratelimit"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
)

// Cookie names, as Logto's (oidc-provider's) and the session's.
const (
	// InteractionCookie holds the interaction's secret.
	InteractionCookie = "_interaction"
	// SessionCookie holds the sign-in session's secret.
	SessionCookie = "_session"
)

// Lifetimes, as Logto's oidc-provider configures them.
const (
	// InteractionTTL is how long an interaction lives after Start.
	InteractionTTL = time.Hour
	// SessionTTL is how long a sign-in session lives after Submit.
	SessionTTL = 14 * 24 * time.Hour
)

// The hosted pages Start sends a browser to (paths under the public URL),
// one per first screen.
const (
	SignInPage         = "/sign-in"
	RegisterPage       = "/register"
	ForgotPasswordPage = "/forgot-password"
)

// Event is an interaction event: what the flow is for.
type Event string

// The events, Logto's InteractionEvent.
const (
	EventSignIn         Event = "SignIn"
	EventRegister       Event = "Register"
	EventForgotPassword Event = "ForgotPassword"
)

// Events lists the events, for enums.
func Events() []Event { return []Event{EventSignIn, EventRegister, EventForgotPassword} }

func (e Event) valid() bool {
	return e == EventSignIn || e == EventRegister || e == EventForgotPassword
}

// RecordType is a verification record's type, Logto's VerificationType.
type RecordType string

// The record types the flows make.
const (
	// RecordEmailCode is a code sent to an email address.
	RecordEmailCode RecordType = "EmailVerificationCode"
	// RecordPassword is a password checked for an email address.
	RecordPassword RecordType = "Password"
)

// Authentication methods a Login lists (RFC 8176).
const (
	AMRPassword = "pwd"
	AMRCode     = "otp"
)

// AuthRequest is what the OIDC provider tells the experience about the
// authorization it waits on.
type AuthRequest struct {
	// ID is the authorization request's ID; ClientID the application's.
	ID       string `json:"id"`
	ClientID string `json:"clientId"`
	// UILocales are the languages of ui_locales, best first.
	UILocales []string `json:"uiLocales,omitempty"`
	// LoginHint is login_hint; Prompt is prompt ("login" forces a new
	// sign-in, "none" forbids one).
	LoginHint string `json:"loginHint,omitempty"`
	Prompt    string `json:"prompt,omitempty"`
	// FirstScreen is Logto's first_screen: "sign_in" (the default),
	// "register" or "reset_password".
	FirstScreen string `json:"firstScreen,omitempty"`
	// Direct says the request is an app's sign-in without redirects
	// (StartDirect): its interaction answers only to the interaction
	// token, and its submit returns tokens, not a redirect.
	Direct bool `json:"direct,omitempty"`
}

// prompts reports whether the request's prompt lists p.
func (r AuthRequest) prompts(p string) bool {
	for _, v := range strings.Fields(r.Prompt) {
		if v == p {
			return true
		}
	}
	return false
}

// Login is who signed in, and how.
type Login struct {
	UserID   string
	AuthTime time.Time
	// AMR lists the methods used, AMRPassword and AMRCode.
	AMR []string
}

// Completer finishes the authorization request an interaction was started
// for, and returns where the browser goes next (the OIDC provider's
// callback).
type Completer interface {
	Complete(ctx context.Context, tenant, authRequestID string, login Login) (redirectTo string, err error)
}

// Deps are what the flows use.
type Deps struct {
	Store        *store.Store
	Keys         *keyring.Keyring
	Tenants      *tenant.Settings
	Users        *identity.Service
	Codes        *sendcode.Service
	Verification *verification.Service
	// Completer completes authorization requests (the OIDC provider); Submit
	// fails without one.
	Completer Completer
	// Authorizer makes and completes the authorization requests of
	// sign-ins without redirects (the OIDC provider); StartDirect fails
	// without one.
	Authorizer Authorizer
	// Limiter, when set, counts every request of a sign-in without
	// redirects toward AppLimit per application, on top of the caps per
	// client the routes count.
	Limiter  *ratelimit.Limiter
	AppLimit ratelimit.Limit
	// PublicURL is where browsers reach authmail, such as
	// https://auth.example.com: the hosted pages are under it and cookies
	// are Secure when it is https.
	PublicURL string
	// AppName, when set, names an application for the email payload
	// (application.name); "" when unknown.
	AppName func(ctx context.Context, tenant, clientID string) (string, error)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Service runs the flows.
type Service struct {
	d      Deps
	secure bool
}

// New returns the service over d.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	return &Service{d: d, secure: strings.HasPrefix(d.PublicURL, "https://")}
}

// Caller is the browser a step acts for: what every step needs to know of
// the request besides its body.
type Caller struct {
	// Tenant is the tenant the request acts for.
	Tenant string
	// Interaction is the _interaction cookie's value, or the interaction
	// token of a sign-in without redirects (Bearer); "" when there is none.
	Interaction string
	// Bearer says Interaction is an interaction token, sent as
	// Authorization: Bearer <token>, not a cookie.
	Bearer bool
	// IP is the end user's address: it is counted by the send caps and
	// the lockouts and reaches the connector.
	IP string
	// Languages are the request's Accept-Language, best first.
	Languages []language.Tag
}

// CallerOf reads a request's caller: its interaction token
// (Authorization: Bearer, which comes before a cookie) or cookie, its
// address (the connection's: no proxy header is trusted) and its
// languages.
func CallerOf(r *http.Request, tenant string) Caller {
	c := Caller{Tenant: tenant, Languages: emailtemplate.ParseAcceptLanguage(r.Header.Get("Accept-Language"))}
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && strings.TrimSpace(token) != "" {
		c.Interaction, c.Bearer = strings.TrimSpace(token), true
	} else if ck, err := r.Cookie(InteractionCookie); err == nil {
		c.Interaction = ck.Value
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.IP = host
	}
	return c
}

// SessionOf returns a request's _session cookie value, "" when there is
// none.
func SessionOf(r *http.Request) string {
	if ck, err := r.Cookie(SessionCookie); err == nil {
		return ck.Value
	}
	return ""
}

// SetInteractionCookie sets the _interaction cookie Start returned.
func (s *Service) SetInteractionCookie(w http.ResponseWriter, value string) {
	s.setCookie(w, InteractionCookie, value, InteractionTTL)
}

// SetSessionCookie sets the _session cookie Submit returned.
func (s *Service) SetSessionCookie(w http.ResponseWriter, value string) {
	s.setCookie(w, SessionCookie, value, SessionTTL)
}

// ClearInteractionCookie removes the _interaction cookie (the interaction
// is over).
func (s *Service) ClearInteractionCookie(w http.ResponseWriter) {
	s.setCookie(w, InteractionCookie, "", 0)
}

// ClearSessionCookie removes the _session cookie (the session ended).
func (s *Service) ClearSessionCookie(w http.ResponseWriter) { s.setCookie(w, SessionCookie, "", 0) }

// setCookie writes a cookie as oidc-provider's: HttpOnly, SameSite=Lax,
// Path=/, Secure when the public URL is https; ttl 0 removes it.
func (s *Service) setCookie(w http.ResponseWriter, name, value string, ttl time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure,
		MaxAge: int(ttl / time.Second)}
	if ttl == 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// Error is a refusal with Logto's code and status: clients branch on the
// code, and the hosted pages turn it into a sentence.
type Error struct {
	// Status is the HTTP status Logto answers with.
	Status int
	// Code is the stable code, such as "session.not_found".
	Code string
	// Message is Logto's English message.
	Message string
	// Data is the error's data member, when it has one.
	Data any
	// RetryAfter is set while a lockout lasts.
	RetryAfter time.Duration
}

// Error returns "code: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is matches errors with the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

func newError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// The refusals, matched with errors.Is. Those with data are made per use.
var (
	ErrSessionNotFound = &Error{Status: http.StatusBadRequest, Code: "session.not_found",
		Message: "Session not found. Please go back and sign in again.",
		Data:    map[string]string{"error_description": "interaction session id cookie not found"}}
	ErrInteractionNotFound = newError(http.StatusNotFound, "session.interaction_not_found",
		"Interaction session not found. Please go back and start the session again.")
	ErrVerificationNotFound = newError(http.StatusNotFound, "session.verification_session_not_found",
		"The verification was not successful. Restart the verification flow and try again.")
	ErrVerificationFailed = newError(http.StatusBadRequest, "session.verification_failed",
		"The verification was not successful. Restart the verification flow and try again.")
	ErrIdentifierNotFound = newError(http.StatusNotFound, "session.identifier_not_found",
		"User identifier not found. Please go back and sign in again.")
	ErrInvalidInteractionType = newError(http.StatusBadRequest, "session.invalid_interaction_type",
		"This operation is not supported for the current interaction.")
	ErrNotForForgotPassword = newError(http.StatusBadRequest, "session.not_supported_for_forgot_password",
		"This operation is not supported for forgot password.")
	ErrIdentityConflict = newError(http.StatusConflict, "session.identity_conflict",
		"Identity mismatch detected. Please initiate a new session to proceed with a different identity.")
	ErrInvalidCredentials = newError(http.StatusUnprocessableEntity, "session.invalid_credentials",
		"Incorrect account or password.")
	ErrBlocked = newError(http.StatusBadRequest, "session.verification_blocked_too_many_attempts",
		"Too many attempts in a short time. Please try again later.")
	ErrForbidden    = newError(http.StatusForbidden, "auth.forbidden", "Forbidden.")
	ErrUserNotExist = newError(http.StatusNotFound, "user.user_not_exist",
		"User does not exist.")
	ErrEmailInUse = newError(http.StatusUnprocessableEntity, "user.email_already_in_use",
		"This email is associated with an existing account.")
	ErrUsernameInUse = newError(http.StatusUnprocessableEntity, "user.username_already_in_use",
		"This username is already in use.")
	ErrEmailExistsInProfile = newError(http.StatusUnprocessableEntity, "user.email_exists_in_profile",
		"Your profile has already been associated with an email address.")
	ErrMethodNotEnabled = newError(http.StatusUnprocessableEntity, "user.sign_in_method_not_enabled",
		"This sign-in method is not enabled.")
	ErrMissingProfile = newError(http.StatusUnprocessableEntity, "user.missing_profile",
		"You need to provide additional info before signing-in.")
	ErrNewPasswordRequired = newError(http.StatusUnprocessableEntity, "user.new_password_required_in_profile",
		"You need to set a new password.")
	ErrSuspended    = newError(http.StatusUnauthorized, "user.suspended", "This account is suspended.")
	ErrSamePassword = newError(http.StatusUnprocessableEntity, "user.same_password",
		"New password cannot be the same as your old password.")
	ErrEmailMismatch = newError(http.StatusBadRequest, "verification_code.email_mismatch",
		"The email address does not match the one the code was sent to.")
	// ErrLoginRequired answers Start for prompt=none when the browser has
	// no sign-in session (the OIDC provider answers login_required).
	ErrLoginRequired = newError(http.StatusBadRequest, "oidc.login_required", "The user must sign in.")
	// ErrNoCompleter means no OIDC provider is wired to complete sign-ins.
	ErrNoCompleter = errors.New("no authorization request can be completed: the OIDC provider is not set up")
)

// with returns a copy of e with data.
func (e *Error) with(data any) *Error {
	out := *e
	out.Data = data
	return &out
}

// invalidInput is a 400 guard.invalid_input naming the field, as the API's
// own body checks answer.
func invalidInput(field, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "guard.invalid_input", Message: field + ": " + message,
		Data: map[string]string{"field": field}}
}

// newSecret is a cookie value or verification ID: 160 random bits, URL-safe.
func newSecret() string {
	return base64.RawURLEncoding.EncodeToString(keyring.RandomBytes(20))
}

// sameSecret compares two secrets in constant time.
func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// The purposes of the keyed hashes of cookie values.
const (
	purposeInteraction = "interaction"
	purposeSession     = "sign_in_session"
)

func (s *Service) hash(tenant, purpose, secret string) string {
	return s.d.Keys.IdentifierHash(tenant, purpose, secret)
}

// page is a hosted page's URL.
func (s *Service) page(path string) string { return s.d.PublicURL + path }
