// Package account runs Logto's account API for a signed-in user: reading
// the profile, re-verifying (a password check or a UserPermissionValidation
// code, which yields a verification record valid ten minutes, sent back as
// the logto-verification-id header), and with it changing the password,
// the primary email (the new address proved by a BindNewIdentifier code),
// the username and the name, and deleting the account. The account center
// settings (Center) turn the API on and say which fields may be read or
// changed.
//
// Who the caller is comes from the user's opaque access token, which the
// OpenID Connect provider looks up (Tokens), or, for the hosted account
// page, from the browser's sign-in session (Sessions). This package never
// reads a token itself.
//
// A verification record is a row of account_verifications made for one
// user, found by the keyed hash of its ID. A permission record (a password
// or a UserPermissionValidation code) unlocks every change for its ten
// minutes, as Logto's; a BindNewIdentifier record is consumed by the email
// change it proves, in the change's transaction. Errors are
// *experience.Error with Logto's codes and statuses.
package account

import (
	"context"
	"encoding/base32"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
)

// VerificationHeader is the header that names a permission record, as
// Logto's.
const VerificationHeader = "logto-verification-id"

// RecordTTL is how long a verification record lives, Logto's ten minutes.
const RecordTTL = verification.RecordTTL

// Scopes the account API reads, Logto's names.
const (
	ScopeOpenID     = "openid"
	ScopeProfile    = "profile"
	ScopeEmail      = "email"
	ScopeCustomData = "custom_data"
)

// Token is what the OpenID Connect provider knows of a live access token.
type Token struct {
	// UserID is the user the token was issued to; ClientID the app.
	UserID, ClientID string
	// Scopes are the scopes granted.
	Scopes []string
}

// ErrTokenInvalid means an access token is unknown, expired, revoked, for
// a resource (not the opaque kind), or its user is gone or suspended.
var ErrTokenInvalid = errors.New("the access token is invalid, expired or revoked")

// Tokens looks up a user's opaque access token (the OIDC provider does).
type Tokens interface {
	// AccessToken returns the live token's user, client and scopes, or
	// ErrTokenInvalid.
	AccessToken(ctx context.Context, tenant, token string) (Token, error)
}

// Sessions finds the user of a browser's sign-in session (the experience
// service does).
type Sessions interface {
	SessionUser(ctx context.Context, tenant, sessionCookie string) (userID string, ok bool, err error)
}

// Deps are what the account flows use.
type Deps struct {
	Store        *store.Store
	Keys         *keyring.Keyring
	Tenants      *tenant.Settings
	Users        *identity.Service
	Codes        *sendcode.Service
	Verification *verification.Service
	Tokens       Tokens
	Sessions     Sessions
	// AppName names an application for the email-change notice; nil or
	// "" leaves the app out.
	AppName func(ctx context.Context, tenant, clientID string) (string, error)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Service runs the account flows.
type Service struct {
	d Deps
}

// New returns the service over d.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d}
}

// Caller is the request a step acts for.
type Caller struct {
	// Tenant is the tenant the request acts for.
	Tenant string
	// AccessToken is the bearer token (the account API); Session the
	// _session cookie (the hosted account page). One of them is set.
	AccessToken string
	Session     string
	// VerificationID is the logto-verification-id header, "" when absent.
	VerificationID string
	// IP is the client's address; it counts toward the send caps and the
	// lockouts.
	IP string
	// Languages are the request's Accept-Language, best first.
	Languages []language.Tag
}

// CallerOf reads an account API request's caller: its bearer token, its
// verification header, its address (the connection's) and its languages.
// The _session cookie is never read here: the API takes tokens only.
func CallerOf(r *http.Request, tenant string) Caller {
	c := Caller{Tenant: tenant, VerificationID: strings.TrimSpace(r.Header.Get(VerificationHeader)),
		Languages: emailtemplate.ParseAcceptLanguage(r.Header.Get("Accept-Language"))}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		c.AccessToken = strings.TrimSpace(tok)
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.IP = host
	}
	return c
}

// Principal is who a caller is.
type Principal struct {
	// UserID is the signed-in user; ClientID the app whose token it is
	// ("" for the hosted page).
	UserID, ClientID string
	// Scopes are the token's; the hosted page has every scope.
	Scopes []string
}

func (p Principal) has(scope string) bool { return p.Scopes == nil || slices.Contains(p.Scopes, scope) }

// The refusals, as Logto's.
var (
	ErrUnauthorized = &experience.Error{Status: http.StatusUnauthorized, Code: "auth.unauthorized",
		Message: "Unauthorized. Please check credentials and its scope."}
	ErrForbidden = &experience.Error{Status: http.StatusForbidden, Code: "auth.forbidden",
		Message: "Forbidden. Please check your user roles and permissions."}
	ErrNotEnabled = &experience.Error{Status: http.StatusBadRequest, Code: "account_center.not_enabled",
		Message: "Account center is not enabled."}
	ErrFieldNotEditable = &experience.Error{Status: http.StatusBadRequest, Code: "account_center.field_not_editable",
		Message: "Field is not editable."}
	ErrPermissionDenied = &experience.Error{Status: http.StatusUnauthorized, Code: "verification_record.permission_denied",
		Message: "Permission denied, please re-authenticate."}
	ErrRecordNotFound = &experience.Error{Status: http.StatusBadRequest, Code: "verification_record.not_found",
		Message: "Verification record not found."}
	ErrLastSignInMethod = &experience.Error{Status: http.StatusBadRequest, Code: "user.last_sign_in_method_required",
		Message: "You cannot remove the last sign-in method."}
)

// Authenticate says who the caller is: the user of its access token,
// which must hold openid (auth.forbidden), or of its sign-in session.
// Anything else is auth.unauthorized.
func (s *Service) Authenticate(ctx context.Context, c Caller) (Principal, error) {
	switch {
	case c.AccessToken != "":
		if s.d.Tokens == nil || len(c.AccessToken) > 4096 {
			return Principal{}, ErrUnauthorized
		}
		t, err := s.d.Tokens.AccessToken(ctx, c.Tenant, c.AccessToken)
		if errors.Is(err, ErrTokenInvalid) {
			return Principal{}, ErrUnauthorized
		}
		if err != nil {
			return Principal{}, err
		}
		if !slices.Contains(t.Scopes, ScopeOpenID) {
			return Principal{}, ErrForbidden
		}
		scopes := t.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		return Principal{UserID: t.UserID, ClientID: t.ClientID, Scopes: scopes}, nil
	case c.Session != "":
		if s.d.Sessions == nil || len(c.Session) > 128 {
			return Principal{}, ErrUnauthorized
		}
		id, ok, err := s.d.Sessions.SessionUser(ctx, c.Tenant, c.Session)
		if err != nil {
			return Principal{}, err
		}
		if !ok {
			return Principal{}, ErrUnauthorized
		}
		return Principal{UserID: id}, nil
	}
	return Principal{}, ErrUnauthorized
}

// Allowed authenticates the caller and checks that the account center is
// on (account_center.not_enabled) and that field is at least want:
// ReadOnly to read it, Edit to change it (account_center.field_not_editable;
// a read of a field that is Off is auth.forbidden). An empty field checks
// only that the center is on.
func (s *Service) Allowed(ctx context.Context, c Caller, field string, want Control) (Principal, Center, error) {
	p, err := s.Authenticate(ctx, c)
	if err != nil {
		return Principal{}, Center{}, err
	}
	center, err := s.enabled(ctx, c.Tenant)
	if err != nil {
		return Principal{}, Center{}, err
	}
	if err := center.Fields.check(field, want); err != nil {
		return Principal{}, Center{}, err
	}
	return p, center, nil
}

// Verified is Allowed for a change that needs the caller re-verified, in
// Logto's order: the token, the center on, then the logto-verification-id
// header, which must name a live permission record of the caller's user
// (CheckVerification), then the field editable.
func (s *Service) Verified(ctx context.Context, c Caller, field string) (Principal, error) {
	p, err := s.Authenticate(ctx, c)
	if err != nil {
		return Principal{}, err
	}
	center, err := s.enabled(ctx, c.Tenant)
	if err != nil {
		return Principal{}, err
	}
	if err := s.CheckVerification(ctx, c.Tenant, p.UserID, c.VerificationID); err != nil {
		return Principal{}, err
	}
	return p, center.Fields.check(field, ControlEdit)
}

// enabled reads the account center, refusing when it is off.
func (s *Service) enabled(ctx context.Context, tenant string) (Center, error) {
	center, err := s.Center(ctx, tenant)
	if err != nil {
		return Center{}, err
	}
	if !center.Enabled {
		return Center{}, ErrNotEnabled
	}
	return center, nil
}

// CheckVerification checks a logto-verification-id value for a user, as
// Logto's koaOidcAuth does: it must name a live, verified record made for
// that user that is a password check or a UserPermissionValidation code.
// Anything else (absent, unknown, expired, another user's, a
// BindNewIdentifier or BindMfa code, not yet verified) is
// ErrPermissionDenied. The record is not consumed: it unlocks changes for
// its ten minutes. Other routes that need a re-verified user call it.
func (s *Service) CheckVerification(ctx context.Context, tenant, userID, verificationID string) error {
	if verificationID == "" || len(verificationID) > 128 {
		return ErrPermissionDenied
	}
	v, err := s.d.Store.AccountVerificationGet(ctx, tenant, s.recordHash(tenant, verificationID), s.d.Now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrPermissionDenied
	}
	if err != nil {
		return err
	}
	if v.UserID != userID || !v.Verified || !permission(v) {
		return ErrPermissionDenied
	}
	return nil
}

// permission reports whether a record proves the user is who they say.
func permission(v store.AccountVerification) bool {
	return v.Kind == KindPassword || (v.Kind == KindEmailCode && v.UsageType == string(UsagePermission))
}

// recordHash is the keyed hash a record is found by.
func (s *Service) recordHash(tenant, id string) string {
	return s.d.Keys.IdentifierHash(tenant, "account_verification", id)
}

// newRecordID is a fresh record ID: 160 random bits.
func newRecordID() string {
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(keyring.RandomBytes(20)))
}
