package oidc

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/signingkeys"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
)

// storage is the op package's Storage over the store's tables and the
// applications, signing keys and users services. The op package calls it
// for what it does itself (clients, authorization requests, the callback,
// userinfo, introspection, revocation, keys); the token endpoint's grants
// are the server's (server.go), which issues tokens through tokens.go.
type storage struct {
	Deps
	crypto sealer
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.ClientCredentialsStorage  = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

// authorizeExtras are the authorization parameters the op package does
// not parse (resource, first_screen), which server.Authorize checks and
// passes to CreateAuthRequest in the context.
type authorizeExtras struct {
	resources   []string
	firstScreen string
	// direct marks a sign-in without redirects (AuthorizeDirect).
	direct bool
}

type extrasKey struct{}

func withExtras(ctx context.Context, e authorizeExtras) context.Context {
	return context.WithValue(ctx, extrasKey{}, e)
}

// tenantOf is the tenant the request acts for.
func tenantOf(ctx context.Context) string { return tenant.FromContext(ctx) }

// serverError is a failure of authmail, not of the client: the op package
// answers it 500 server_error, without its text.
func serverError(err error) error { return oidc.ErrServerError().WithParent(err) }

// invalidClient is a client authentication that failed, answered 401.
func invalidClient(description string) error {
	return op.NewStatusError(oidc.ErrInvalidClient().WithDescription("%s", description), http.StatusUnauthorized)
}

// --- clients ---

// GetClientByClientID reads an application.
func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	app, err := s.Apps.Get(ctx, tenantOf(ctx), clientID)
	if errors.Is(err, apps.ErrNotFound) {
		return nil, oidc.ErrInvalidClient().WithDescription("no application has this client_id")
	}
	if err != nil {
		return nil, serverError(err)
	}
	return s.client(app), nil
}

func (s *storage) client(app apps.Application) *client {
	return &client{app: app, loginURL: func(id string) string {
		return s.PublicURL + Prefix + PathInteraction + "?authRequest=" + url.QueryEscape(id)
	}}
}

// AuthorizeClientIDSecret checks a confidential client's secret.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, clientSecret string) error {
	_, err := s.authenticate(ctx, clientID, clientSecret)
	return err
}

func (s *storage) authenticate(ctx context.Context, clientID, clientSecret string) (apps.Application, error) {
	app, err := s.Apps.Authenticate(ctx, tenantOf(ctx), clientID, clientSecret)
	if errors.Is(err, apps.ErrInvalidClient) {
		return apps.Application{}, invalidClient("the client_id and client_secret do not match an application")
	}
	if err != nil {
		return apps.Application{}, serverError(err)
	}
	return app, nil
}

// ClientCredentials authenticates a client for the client_credentials
// grant.
func (s *storage) ClientCredentials(ctx context.Context, clientID, clientSecret string) (op.Client, error) {
	app, err := s.authenticate(ctx, clientID, clientSecret)
	if err != nil {
		return nil, err
	}
	return s.client(app), nil
}

// ClientCredentialsTokenRequest is not used: server.ClientCredentialsExchange
// makes the request, since it needs the resource.
func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	return nil, oidc.ErrInvalidTarget().WithDescription("a resource is required")
}

// --- authorization requests ---

// CreateAuthRequest stores an authorization request the op package and
// server.Authorize checked.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	extras, _ := ctx.Value(extrasKey{}).(authorizeExtras)
	p := params{RedirectURI: req.RedirectURI, Scopes: req.Scopes, State: req.State, Nonce: req.Nonce,
		ResponseType: req.ResponseType, ResponseMode: req.ResponseMode, CodeChallenge: req.CodeChallenge,
		CodeChallengeMethod: req.CodeChallengeMethod, Prompt: req.Prompt, LoginHint: req.LoginHint,
		Resources: extras.resources, FirstScreen: extras.firstScreen, Direct: extras.direct}
	for _, tag := range req.UILocales {
		p.UILocales = append(p.UILocales, tag.String())
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	row := store.OIDCAuthRequest{TenantID: tenantOf(ctx), ID: randomID(16), ClientID: req.ClientID, Request: string(b),
		CreatedAt: now, ExpiresAt: now.Add(AuthRequestTTL)}
	if err := s.Store.WriteQ().OIDCAuthRequestInsert(ctx, row); err != nil {
		return nil, err
	}
	return &authRequest{row: row, params: p}, nil
}

// AuthRequestByID reads a live authorization request that has no code
// yet: the callback answers each request once, and never one of a
// sign-in without redirects, which has no redirect URI.
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	ar, err := s.liveAuthRequest(ctx, tenantOf(ctx), id)
	if err == nil && ar.Direct {
		return nil, ErrAuthRequestNotFound
	}
	return ar, err
}

func (s *storage) liveAuthRequest(ctx context.Context, tenant, id string) (*authRequest, error) {
	row, err := s.Store.OIDCAuthRequestGet(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!row.ExpiresAt.After(s.Now()) || row.CodeHash != "")) {
		return nil, ErrAuthRequestNotFound
	}
	if err != nil {
		return nil, err
	}
	return newAuthRequest(row)
}

// codeHash is how a code is kept.
func (s *storage) codeHash(tenant, code string) string {
	return s.Keys.IdentifierHash(tenant, "oidc authorization code", code)
}

// SaveAuthCode records the one code of a signed-in request.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	now, t := s.Now(), tenantOf(ctx)
	err := s.Store.WriteQ().OIDCAuthRequestSetCode(ctx, t, id, s.codeHash(t, code), now.Add(CodeTTL), now)
	if errors.Is(err, store.ErrNotFound) {
		return oidc.ErrInvalidRequest().WithDescription("%s", ErrAuthRequestNotFound.Error())
	}
	return err
}

// errCodeInvalid is a code that does not exist, has expired or was used.
var errCodeInvalid = errors.New("the code is invalid, expired or already used")

// AuthRequestByCode takes a code: it marks it used and returns its
// request. A code used before revokes the tokens its first use got.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	t := tenantOf(ctx)
	hash := s.codeHash(t, code)
	w := s.Store.WriteQ()
	row, err := w.OIDCCodeUse(ctx, t, hash, s.Now())
	if errors.Is(err, store.ErrNotFound) {
		if used, err := w.OIDCAuthRequestByCode(ctx, t, hash); err == nil && !used.CodeUsedAt.IsZero() {
			if err := w.OIDCRevokeFamily(ctx, t, used.ID, s.Now()); err != nil {
				return nil, serverError(err)
			}
			s.Logger.WarnContext(ctx, "an authorization code was used twice; the tokens it got are revoked", "client", used.ClientID)
		}
		return nil, errCodeInvalid
	}
	if err != nil {
		return nil, serverError(err)
	}
	return newAuthRequest(row)
}

// DeleteAuthRequest removes an authorization request. The op package
// calls it only in flows this provider does not offer (implicit); an
// exchanged request stays until it expires, marking its code used.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	err := s.Store.WriteQ().OIDCAuthRequestDelete(ctx, tenantOf(ctx), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// --- tokens the op package would make itself ---

// CreateAccessToken is not reached: the server makes every token.
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	return "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

// CreateAccessAndRefreshTokens is not reached: the server makes every
// token.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

// refreshHash is how a refresh token is kept.
func (s *storage) refreshHash(tenant, token string) string {
	return s.Keys.IdentifierHash(tenant, "oidc refresh token", token)
}

// errRefreshInvalid is a refresh token that does not exist, has expired,
// was revoked or was used.
var errRefreshInvalid = errors.New("the refresh token is invalid, expired or revoked")

// TokenRequestByRefreshToken reads a live refresh token. One that was
// used (rotated) already revokes its whole family: someone holds a copy.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	t := tenantOf(ctx)
	row, err := s.Store.OIDCRefreshTokenByHash(ctx, t, s.refreshHash(t, token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errRefreshInvalid
	}
	if err != nil {
		return nil, serverError(err)
	}
	now := s.Now()
	if !row.UsedAt.IsZero() && row.RevokedAt.IsZero() {
		if err := s.Store.WriteQ().OIDCRevokeFamily(ctx, t, row.FamilyID, now); err != nil {
			return nil, serverError(err)
		}
		s.Logger.WarnContext(ctx, "a rotated refresh token was used again; its family of tokens is revoked", "client", row.ClientID)
		return nil, errRefreshInvalid
	}
	if !row.UsedAt.IsZero() || !row.RevokedAt.IsZero() || !row.ExpiresAt.After(now) {
		return nil, errRefreshInvalid
	}
	return &refreshRequest{row: row, scopes: strings.Fields(row.Scopes)}, nil
}

// TerminateSession is not used: server.EndSession ends the sign-in
// session through the experience.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error { return nil }

// GetRefreshTokenInfo names the refresh token a client revokes.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (userID, tokenID string, err error) {
	t := tenantOf(ctx)
	row, err := s.Store.OIDCRefreshTokenByHash(ctx, t, s.refreshHash(t, token))
	if errors.Is(err, store.ErrNotFound) || (err == nil && row.ClientID != clientID) {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", err
	}
	return row.Subject, row.ID, nil
}

// RevokeToken revokes a refresh token (by its ID, rt_...), with every
// token of its family, or an access token (by its ID, at_..., or its JWT
// ID). A token of another client is refused; an unknown one is ignored,
// as RFC 7009 asks.
func (s *storage) RevokeToken(ctx context.Context, tokenID, _, clientID string) *oidc.Error {
	t, now := tenantOf(ctx), s.Now()
	w := s.Store.WriteQ()
	if strings.HasPrefix(tokenID, refreshPrefix) {
		row, err := s.Store.OIDCRefreshTokenByID(ctx, t, tokenID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		if row.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
		}
		if err := w.OIDCRevokeFamily(ctx, t, row.FamilyID, now); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		return nil
	}
	row, err := s.Store.OIDCAccessTokenGet(ctx, t, tokenID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if row.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	if err := w.OIDCAccessTokenRevoke(ctx, t, tokenID, now); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// --- userinfo and introspection ---

// liveAccessToken reads an access token that is neither expired nor
// revoked.
func (s *storage) liveAccessToken(ctx context.Context, id string) (store.OIDCAccessToken, error) {
	row, err := s.Store.OIDCAccessTokenGet(ctx, tenantOf(ctx), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!row.RevokedAt.IsZero() || !row.ExpiresAt.After(s.Now()))) {
		return store.OIDCAccessToken{}, oidc.ErrAccessDenied().WithDescription("the access token is invalid, expired or revoked")
	}
	if err != nil {
		return store.OIDCAccessToken{}, serverError(err)
	}
	return row, nil
}

// SetUserinfoFromToken answers userinfo (/oidc/me) for a live access
// token for userinfo (not one for a resource) granted the openid scope.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	row, err := s.liveAccessToken(ctx, tokenID)
	if err != nil {
		return err
	}
	scopes := strings.Fields(row.Scopes)
	if row.Audience != "" || row.Subject != subject || !has(scopes, oidc.ScopeOpenID) {
		return oidc.ErrAccessDenied().WithDescription("the access token is not for userinfo")
	}
	return s.userInfo(ctx, info, subject, scopes)
}

// SetIntrospectionFromToken describes a live access token to the
// confidential client it was issued to.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	row, err := s.liveAccessToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if row.ClientID != clientID || row.Subject != subject {
		return oidc.ErrAccessDenied().WithDescription("the token was not issued to this client")
	}
	resp.Scope = strings.Fields(row.Scopes)
	resp.ClientID = row.ClientID
	resp.Subject = row.Subject
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(row.ExpiresAt)
	resp.IssuedAt = oidc.FromTime(row.CreatedAt)
	resp.Issuer = s.PublicURL + Prefix
	resp.JWTID = row.ID
	if row.Audience != "" {
		resp.Audience = []string{row.Audience}
	} else {
		resp.Audience = []string{row.ClientID}
	}
	return nil
}

// SetUserinfoFromScopes does nothing: SetUserinfoFromRequest fills the
// ID token's claims.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills an ID token's claims.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.userInfo(ctx, info, req.GetSubject(), scopes)
}

// userInfo fills the claims of a user the scopes grant, as Logto does:
// sub always; with profile name, picture, preferred_username (and Logto's
// username), the standard profile claims and updated_at; with email
// email and email_verified. A suspended or deleted user has none.
func (s *storage) userInfo(ctx context.Context, info *oidc.UserInfo, subject string, scopes []string) error {
	u, err := s.Users.Get(ctx, tenantOf(ctx), subject)
	if errors.Is(err, identity.ErrUserNotFound) || (err == nil && u.IsSuspended) {
		return oidc.ErrAccessDenied().WithDescription("the user is suspended or no longer exists")
	}
	if err != nil {
		return serverError(err)
	}
	info.Subject = u.ID
	if has(scopes, oidc.ScopeProfile) {
		p := u.Profile
		info.UserInfoProfile = oidc.UserInfoProfile{Name: u.Name, Picture: u.Avatar, PreferredUsername: u.Username,
			GivenName: p.GivenName, FamilyName: p.FamilyName, MiddleName: p.MiddleName, Nickname: p.Nickname,
			Profile: p.Profile, Website: p.Website, Gender: oidc.Gender(p.Gender), Birthdate: p.Birthdate,
			Zoneinfo: p.Zoneinfo, UpdatedAt: oidc.FromTime(u.UpdatedAt)}
		if u.Username != "" {
			info.AppendClaims("username", u.Username)
		}
	}
	if has(scopes, oidc.ScopeEmail) && u.PrimaryEmail != "" {
		info.Email = u.PrimaryEmail
		info.EmailVerified = oidc.Bool(u.EmailVerified)
		if !u.EmailVerified {
			// The op package's type leaves a false value out.
			info.AppendClaims("email_verified", false)
		}
	}
	return nil
}

// GetPrivateClaimsFromScopes adds no claim.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID refuses every key: no client signs its requests
// (private_key_jwt and the JWT profile grant are not offered).
func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	return nil, fmt.Errorf("client %q has no registered keys", clientID)
}

// ValidateJWTProfileScopes refuses the JWT profile grant.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// --- keys ---

// signingKey is a signing key as the op package sees it.
type signingKey struct{ key signingkeys.Key }

// SignatureAlgorithm is the key's algorithm (ES256).
func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(k.key.Algorithm)
}

// Key is the private key.
func (k signingKey) Key() any { return k.key.Private }

// ID is the key ID (kid).
func (k signingKey) ID() string { return k.key.ID }

// SigningKey is the tenant's current key.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	k, err := s.SigningKeys.Current(ctx, tenantOf(ctx))
	if err != nil {
		return nil, err
	}
	if _, ok := k.Private.(*ecdsa.PrivateKey); !ok {
		return nil, fmt.Errorf("signing key %s is a %T, not an ECDSA key", k.ID, k.Private)
	}
	return signingKey{k}, nil
}

// SignatureAlgorithms is ES256.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}

// publicKey is a published key as the op package sees it.
type publicKey struct{ jwk jose.JSONWebKey }

func (k publicKey) ID() string { return k.jwk.KeyID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(k.jwk.Algorithm)
}
func (k publicKey) Use() string { return k.jwk.Use }
func (k publicKey) Key() any    { return k.jwk.Key }

// KeySet are the tenant's published keys (the JWKS).
func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	set, err := s.SigningKeys.Published(ctx, tenantOf(ctx))
	if err != nil {
		return nil, err
	}
	keys := make([]op.Key, 0, len(set.Keys))
	for _, k := range set.Keys {
		keys = append(keys, publicKey{k})
	}
	return keys, nil
}

// Health checks the database answers.
func (s *storage) Health(ctx context.Context) error { return s.Store.Ping(ctx) }
