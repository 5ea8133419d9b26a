// Package oidc is authmail's OpenID Connect provider, at Logto's paths
// under /oidc, on github.com/zitadel/oidc/v3's op package: discovery, the
// authorization endpoint with PKCE (S256, required of public clients), the
// token endpoint (authorization code, refresh token with rotation and
// reuse detection, client credentials), the JWKS, userinfo (/oidc/me),
// revocation, introspection and the end of a session. The op package parses
// and checks the protocol; this package is its storage adapter over the
// store's tables and the applications, signing keys and users services,
// builds the tokens with the op package's claim types and signing, and
// hands the browser to the sign-in experience and back.
package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authmail/authmail/internal/account"
	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/ratelimit"
	"github.com/authmail/authmail/internal/signingkeys"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
)

// Prefix is the path the provider is served under; the issuer is the
// public URL + Prefix.
const Prefix = "/oidc"

// The provider's paths below Prefix: node-oidc-provider's defaults, which
// Logto serves under /oidc.
const (
	PathDiscovery     = "/.well-known/openid-configuration"
	PathAuthorize     = "/auth"
	PathToken         = "/token"
	PathJWKS          = "/jwks"
	PathUserinfo      = "/me"
	PathEndSession    = "/session/end"
	PathRevocation    = "/token/revocation"
	PathIntrospection = "/token/introspection"
	// PathInteraction is where the authorization endpoint sends the
	// browser to sign in: it starts the experience's interaction.
	PathInteraction = "/interaction"
	// PathSignedOut is the page the end of a session shows when the app
	// names no post-logout redirect URI.
	PathSignedOut = "/session/end/success"
	// PathHealth and PathReady are the op package's probes: the process
	// is up, and its storage answers.
	PathHealth = "/healthz"
	PathReady  = "/ready"
)

// Lifetimes, Logto's defaults.
const (
	// AuthRequestTTL is how long an authorization request waits for the
	// sign-in and its code (the interaction's hour).
	AuthRequestTTL = time.Hour
	// CodeTTL is how long an authorization code may be exchanged.
	CodeTTL = time.Minute
	// AccessTokenTTL is the lifetime of an access token for userinfo; one
	// for a resource lives as long as the resource says.
	AccessTokenTTL = time.Hour
	// IDTokenTTL is the lifetime of an ID token.
	IDTokenTTL = time.Hour
	// RefreshTokenTTL is the lifetime of a refresh token (Logto's 14 days);
	// each rotation starts it again.
	RefreshTokenTTL = 14 * 24 * time.Hour
)

// The scopes the provider knows; refresh tokens come only with
// offline_access.
var scopes = []string{"openid", "profile", "email", "offline_access"}

// ErrAuthRequestNotFound means an authorization request does not exist,
// has expired, or was signed in for already.
var ErrAuthRequestNotFound = errors.New("the sign-in request is unknown, expired or already completed: start again from the application")

// Experience is what the provider asks of the sign-in experience
// (experience.Service).
type Experience interface {
	// Start begins an interaction for an authorization request; the
	// session cookie is the sign-in session's, "" when there is none.
	Start(ctx context.Context, tenant string, req experience.AuthRequest, sessionCookie string) (experience.StartResult, error)
	// EndSession ends the sign-in session a session cookie names.
	EndSession(ctx context.Context, tenant, sessionCookie string) error
	// SetInteractionCookie sets the interaction cookie Start returned.
	SetInteractionCookie(w http.ResponseWriter, value string)
	// ClearSessionCookie removes the session cookie.
	ClearSessionCookie(w http.ResponseWriter)
}

// Deps are what the provider needs.
type Deps struct {
	Store       *store.Store
	Keys        *keyring.Keyring
	Apps        *apps.Service
	SigningKeys *signingkeys.Service
	Users       *identity.Service
	// PublicURL is the URL authmail is reached at; the issuer is it +
	// Prefix, and an http URL allows an http issuer.
	PublicURL string
	// Limiter, when set, caps the requests one client makes to the
	// provider's routes at Limit.
	Limiter *ratelimit.Limiter
	Limit   ratelimit.Limit
	Logger  *slog.Logger
	// Now is the clock.
	Now func() time.Time
}

var _ experience.Completer = (*Provider)(nil)

// Provider is the OpenID Connect provider: its storage adapter, the op
// server on it, and the hand-off to the sign-in experience.
type Provider struct {
	Deps
	issuer     string
	storage    *storage
	server     *server
	handler    http.Handler
	experience Experience
	logger     *slog.Logger
}

// New builds the provider. Give it the sign-in experience with
// SetExperience before serving.
func New(d Deps) (*Provider, error) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	p := &Provider{Deps: d, issuer: d.PublicURL + Prefix, logger: d.Logger.With("component", "oidc")}
	p.storage = &storage{Deps: d, crypto: sealer{keys: d.Keys}}
	config := &op.Config{
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes:          scopes,
		DefaultLogoutRedirectURI: p.issuer + PathSignedOut,
	}
	opts := []op.Option{op.WithCrypto(p.storage.crypto)}
	if strings.HasPrefix(d.PublicURL, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(config, p.storage, op.StaticIssuer(p.issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("the OpenID Connect issuer %s: %w", p.issuer, err)
	}
	endpoints := op.Endpoints{
		Authorization: op.NewEndpoint(PathAuthorize),
		Token:         op.NewEndpoint(PathToken),
		Introspection: op.NewEndpoint(PathIntrospection),
		Userinfo:      op.NewEndpoint(PathUserinfo),
		Revocation:    op.NewEndpoint(PathRevocation),
		EndSession:    op.NewEndpoint(PathEndSession),
		JwksURI:       op.NewEndpoint(PathJWKS),
	}
	p.server = &server{LegacyServer: op.NewLegacyServer(provider, endpoints), p: p}
	p.handler = op.RegisterLegacyServer(p.server, op.AuthorizeCallbackHandler(provider))
	return p, nil
}

// Issuer is the issuer: the public URL + Prefix.
func (p *Provider) Issuer() string { return p.issuer }

// SetExperience gives the provider the sign-in experience the
// authorization endpoint hands the browser to. Without one, signing in
// answers that sign-in is not available.
func (p *Provider) SetExperience(e Experience) { p.experience = e }

// Mount registers the provider's routes on mux: everything under Prefix.
func (p *Provider) Mount(mux *http.ServeMux) {
	inner := http.NewServeMux()
	inner.HandleFunc("GET "+PathInteraction, p.interaction)
	inner.HandleFunc("GET "+PathSignedOut, p.signedOut)
	inner.Handle("/", p.handler)
	h := http.StripPrefix(Prefix, p.refusals(inner))
	mux.Handle(Prefix+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// One issuer is one tenant: the provider serves the default one.
		r = r.WithContext(tenant.NewContext(r.Context(), tenant.Default))
		if !p.allow(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// allow counts the request toward the client's cap, and answers 429 with
// Retry-After when it is over: a page for a browser's endpoint, an OAuth
// error for an app's. Without a database to count in, it lets the
// request through.
func (p *Provider) allow(w http.ResponseWriter, r *http.Request) bool {
	if p.Limiter == nil {
		return true
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	err := p.Limiter.Allow(r.Context(), tenantOf(r.Context()), p.Limit, ip)
	var limited *ratelimit.LimitedError
	switch {
	case err == nil:
		return true
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(limited.RetryAfter.Seconds()))))
		if strings.HasPrefix(r.Header.Get("Accept"), "text/html") {
			page(w, http.StatusTooManyRequests, "Too many requests", "There were too many requests from your network. Please try again in a minute.")
			return false
		}
		writeOAuthError(w, http.StatusTooManyRequests, "temporarily_unavailable", limited.Error())
		return false
	case errors.Is(err, store.ErrUnavailable):
		// The counters are in the database: while it is down, what
		// needs no database (discovery, the probes, the signed-out page)
		// is still served, and the rest answers 503 itself.
		p.logger.WarnContext(r.Context(), "database unavailable", "doing", "counting a request toward the client's cap", "err", err)
		return true
	default:
		p.logger.ErrorContext(r.Context(), "counting a request toward the client's cap", "err", err)
		unavailable(w, strings.HasPrefix(r.Header.Get("Accept"), "text/html"))
		return false
	}
}

// Complete finishes the authorization request an interaction was started
// for: it records who signed in, and returns where the browser goes next,
// the authorization endpoint's callback, which redirects to the app with
// the code (experience.Completer). ErrAuthRequestNotFound when the request
// does not exist, has expired or was completed already.
func (p *Provider) Complete(ctx context.Context, tenant, authRequestID string, login experience.Login) (redirectTo string, err error) {
	if err := p.signIn(ctx, tenant, authRequestID, login); err != nil {
		return "", err
	}
	return p.server.AuthCallbackURL()(op.ContextWithIssuer(ctx, p.issuer), authRequestID), nil
}

// randomID is n random bytes, base64url: an unguessable identifier.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sealer is the op package's Crypto over the server secret: codes and
// opaque access tokens are sealed (AES-256-GCM, authenticated) token IDs,
// so that nobody without the secret can make one, base64url so that they
// fit in a URL and a Bearer header.
type sealer struct{ keys *keyring.Keyring }

// sealAAD binds sealed values to this use.
const sealAAD = "oidc token"

// Encrypt seals s.
func (c sealer) Encrypt(s string) (string, error) {
	return base64.RawURLEncoding.EncodeToString([]byte(c.keys.Seal([]byte(s), sealAAD))), nil
}

// Decrypt opens a value Encrypt made.
func (c sealer) Decrypt(s string) (string, error) {
	sealed, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", keyring.ErrOpen
	}
	b, err := c.keys.Open(string(sealed), sealAAD)
	return string(b), err
}

var _ account.Tokens = (*Provider)(nil)

// AccessToken looks up a user's opaque access token for the account API
// (account.Tokens): it must open with the server secret, be live (not
// expired or revoked), be for userinfo rather than a resource, and belong
// to a user who exists and is not suspended; anything else is
// account.ErrTokenInvalid.
func (p *Provider) AccessToken(ctx context.Context, tenantID, token string) (account.Token, error) {
	opened, err := p.storage.crypto.Decrypt(token)
	if err != nil {
		return account.Token{}, account.ErrTokenInvalid
	}
	id, subject, ok := strings.Cut(opened, ":")
	if !ok || !strings.HasPrefix(id, accessPrefix) {
		return account.Token{}, account.ErrTokenInvalid
	}
	row, err := p.Store.OIDCAccessTokenGet(ctx, tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return account.Token{}, account.ErrTokenInvalid
	}
	if err != nil {
		return account.Token{}, err
	}
	if !row.RevokedAt.IsZero() || !row.ExpiresAt.After(p.Now()) || row.Audience != "" || row.Subject != subject || row.Subject == row.ClientID {
		return account.Token{}, account.ErrTokenInvalid
	}
	u, err := p.Users.Get(ctx, tenantID, row.Subject)
	if errors.Is(err, identity.ErrUserNotFound) || (err == nil && u.IsSuspended) {
		return account.Token{}, account.ErrTokenInvalid
	}
	if err != nil {
		return account.Token{}, err
	}
	return account.Token{UserID: u.ID, ClientID: row.ClientID, Scopes: strings.Fields(row.Scopes)}, nil
}
