package oidc

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/crypto"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/store"
)

// Token ID prefixes: the ID of a token's record says which kind it is.
const (
	accessPrefix  = "at_"
	refreshPrefix = "rt_"
)

// errRefreshRaced is a refresh token another refresh rotated meanwhile.
var errRefreshRaced = errors.New("the refresh token was used by another request at the same time")

// userTokens issues the tokens of a user's grant: an access token (a JWT
// for resource when it is not nil, an opaque one for userinfo otherwise),
// a refresh token when the grant has offline_access or rotated is not nil
// (the refresh token it replaces), and an ID token when it has openid (c_hash of code
// when code is not ""). Every record is written in one transaction, after
// rotated is marked used.
func (s *server) userTokens(ctx context.Context, g grant, resource *apps.Resource, rotated *store.OIDCRefreshToken, code string) (*oidc.AccessTokenResponse, error) {
	st := s.p.storage
	t, now := tenantOf(ctx), s.p.Now()
	at := store.OIDCAccessToken{TenantID: t, ID: accessPrefix + randomID(16), FamilyID: g.family, ClientID: g.clientID,
		Subject: g.subject, Scopes: strings.Join(g.scopes, " "), CreatedAt: now, ExpiresAt: now.Add(AccessTokenTTL)}
	if resource != nil {
		// Users hold no roles yet, so a user's token for a resource
		// carries none of its scopes.
		at.Scopes, at.Audience = "", resource.Indicator
		at.ExpiresAt = now.Add(time.Duration(resource.AccessTokenTTL) * time.Second)
	}
	var refresh string
	var rt store.OIDCRefreshToken
	// A refresh always rotates, whatever scopes it narrowed the grant to.
	if has(g.scopes, oidc.ScopeOfflineAccess) || rotated != nil {
		refresh = randomID(32)
		rt = store.OIDCRefreshToken{TenantID: t, ID: refreshPrefix + randomID(16), TokenHash: st.refreshHash(t, refresh),
			FamilyID: g.family, ClientID: g.clientID, Subject: g.subject, Scopes: strings.Join(g.scopes, " "),
			Resources: strings.Join(g.resources, " "), AuthTime: g.authTime, AMR: strings.Join(g.amr, " "),
			CreatedAt: now, ExpiresAt: now.Add(RefreshTokenTTL)}
		if rotated != nil {
			// The new token keeps the grant's scopes, whatever this
			// refresh narrowed them to.
			rt.Scopes = rotated.Scopes
		}
	}
	err := s.p.Store.InTx(ctx, func(tx *store.Tx) error {
		if rotated != nil {
			if err := tx.OIDCRefreshTokenUse(ctx, t, rotated.ID, now); errors.Is(err, store.ErrNotFound) {
				return errRefreshRaced
			} else if err != nil {
				return err
			}
		}
		if err := tx.OIDCAccessTokenInsert(ctx, at); err != nil {
			return err
		}
		if refresh == "" {
			return nil
		}
		return tx.OIDCRefreshTokenInsert(ctx, rt)
	})
	if errors.Is(err, errRefreshRaced) {
		// Two refreshes with one token: one of them holds a copy.
		if err := s.p.Store.WriteQ().OIDCRevokeFamily(ctx, t, g.family, now); err != nil {
			return nil, serverError(err)
		}
		return nil, oidc.ErrInvalidGrant().WithDescription("%s", errRefreshInvalid.Error())
	}
	if err != nil {
		return nil, serverError(err)
	}
	key, err := st.SigningKey(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	signer, err := op.SignerFromKey(key)
	if err != nil {
		return nil, serverError(err)
	}
	var access string
	if resource != nil {
		access, err = s.accessJWT(signer, at)
	} else {
		access, err = st.crypto.Encrypt(at.ID + ":" + at.Subject)
	}
	if err != nil {
		return nil, serverError(err)
	}
	resp := &oidc.AccessTokenResponse{AccessToken: access, TokenType: oidc.BearerToken, RefreshToken: refresh,
		ExpiresIn: uint64(at.ExpiresAt.Sub(now) / time.Second), Scope: strings.Fields(at.Scopes)}
	if has(g.scopes, oidc.ScopeOpenID) {
		if resp.IDToken, err = s.idToken(ctx, key, signer, g, access, code, now); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// accessJWT is an access token for a resource as a JWT (RFC 9068's
// claims): iss, sub, aud (the resource), client_id, scope, jti, iat, nbf
// and exp, on the injected clock.
func (s *server) accessJWT(signer jose.Signer, at store.OIDCAccessToken) (string, error) {
	claims := oidc.NewAccessTokenClaims(s.p.issuer, at.Subject, []string{at.Audience}, at.ExpiresAt, at.ID, at.ClientID, 0)
	claims.IssuedAt, claims.NotBefore = oidc.FromTime(at.CreatedAt), oidc.FromTime(at.CreatedAt)
	claims.Scopes = strings.Fields(at.Scopes)
	return crypto.Sign(claims, signer)
}

// idToken is the ID token of a grant: sub, aud (the client), azp,
// auth_time, amr, nonce (for the code exchange), at_hash, c_hash, and the
// user's claims the scopes grant.
func (s *server) idToken(ctx context.Context, key op.SigningKey, signer jose.Signer, g grant, access, code string, now time.Time) (string, error) {
	claims := oidc.NewIDTokenClaims(s.p.issuer, g.subject, []string{g.clientID}, now.Add(IDTokenTTL), g.authTime, g.nonce,
		"", g.amr, g.clientID, 0)
	claims.IssuedAt = oidc.FromTime(now)
	var err error
	if claims.AccessTokenHash, err = oidc.ClaimHash(access, key.SignatureAlgorithm()); err != nil {
		return "", serverError(err)
	}
	if code != "" {
		if claims.CodeHash, err = oidc.ClaimHash(code, key.SignatureAlgorithm()); err != nil {
			return "", serverError(err)
		}
	}
	info := new(oidc.UserInfo)
	if err := s.p.storage.userInfo(ctx, info, g.subject, g.scopes); err != nil {
		return "", err
	}
	claims.SetUserInfo(info)
	token, err := crypto.Sign(claims, signer)
	if err != nil {
		return "", serverError(err)
	}
	return token, nil
}

// machineToken issues a client credentials grant's access token: a JWT
// for its resource, whose subject is the application.
func (s *server) machineToken(ctx context.Context, m *machineRequest) (*oidc.AccessTokenResponse, error) {
	t, now := tenantOf(ctx), s.p.Now()
	at := store.OIDCAccessToken{TenantID: t, ID: accessPrefix + randomID(16), ClientID: m.clientID, Subject: m.clientID,
		Scopes: strings.Join(m.scopes, " "), Audience: m.resource, CreatedAt: now, ExpiresAt: now.Add(m.ttl)}
	if err := s.p.Store.WriteQ().OIDCAccessTokenInsert(ctx, at); err != nil {
		return nil, serverError(err)
	}
	key, err := s.p.storage.SigningKey(ctx)
	if err != nil {
		return nil, serverError(err)
	}
	signer, err := op.SignerFromKey(key)
	if err != nil {
		return nil, serverError(err)
	}
	access, err := s.accessJWT(signer, at)
	if err != nil {
		return nil, serverError(err)
	}
	return &oidc.AccessTokenResponse{AccessToken: access, TokenType: oidc.BearerToken,
		ExpiresIn: uint64(m.ttl / time.Second), Scope: m.scopes}, nil
}
