package store

import (
	"context"
	"time"
)

// OIDCAuthRequest is a row of oidc_auth_requests: an OpenID Connect
// authorization request, waiting for a sign-in and then for the exchange
// of its code. Request is the JSON of its parameters. UserID is "" until
// someone signs in; CodeHash is "" until a code is issued; the zero
// CodeUsedAt means the code was not exchanged.
type OIDCAuthRequest struct {
	TenantID      string
	ID            string
	ClientID      string
	Request       string
	UserID        string
	AuthTime      time.Time
	AMR           string
	CodeHash      string
	CodeExpiresAt time.Time
	CodeUsedAt    time.Time
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

const oidcAuthRequestColumns = `tenant_id, id, client_id, request, user_id, auth_time, amr, COALESCE(code_hash, ''),
	code_expires_at, code_used_at, created_at, expires_at`

func scanOIDCAuthRequest(row scanner) (OIDCAuthRequest, error) {
	var a OIDCAuthRequest
	var authTime, codeExpires, codeUsed, created, expires int64
	if err := row.Scan(&a.TenantID, &a.ID, &a.ClientID, &a.Request, &a.UserID, &authTime, &a.AMR, &a.CodeHash,
		&codeExpires, &codeUsed, &created, &expires); err != nil {
		return OIDCAuthRequest{}, interpret(err)
	}
	a.AuthTime, a.CodeExpiresAt, a.CodeUsedAt = FromMicros(authTime), FromMicros(codeExpires), FromMicros(codeUsed)
	a.CreatedAt, a.ExpiresAt = FromMicros(created), FromMicros(expires)
	return a, nil
}

// OIDCAuthRequestInsert stores a new authorization request.
func (w Writer) OIDCAuthRequestInsert(ctx context.Context, a OIDCAuthRequest) error {
	_, err := w.exec(ctx, `INSERT INTO oidc_auth_requests (tenant_id, id, client_id, request, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, a.TenantID, a.ID, a.ClientID, a.Request, Micros(a.CreatedAt), Micros(a.ExpiresAt))
	return err
}

// OIDCAuthRequestGet reads an authorization request, live or not, or
// ErrNotFound.
func (r Reader) OIDCAuthRequestGet(ctx context.Context, tenant, id string) (OIDCAuthRequest, error) {
	return scanOIDCAuthRequest(r.db.QueryRowContext(ctx, `SELECT `+oidcAuthRequestColumns+`
		FROM oidc_auth_requests WHERE tenant_id = $1 AND id = $2`, tenant, id))
}

// OIDCAuthRequestByCode reads the authorization request a code was
// issued for, used or not, or ErrNotFound.
func (r Reader) OIDCAuthRequestByCode(ctx context.Context, tenant, codeHash string) (OIDCAuthRequest, error) {
	return scanOIDCAuthRequest(r.db.QueryRowContext(ctx, `SELECT `+oidcAuthRequestColumns+`
		FROM oidc_auth_requests WHERE tenant_id = $1 AND code_hash = $2`, tenant, codeHash))
}

// OIDCAuthRequestSignIn records who signed in for a live authorization
// request that nobody signed in for yet. ErrNotFound covers a request
// that does not exist, has expired or was signed in for already.
func (w Writer) OIDCAuthRequestSignIn(ctx context.Context, tenant, id, userID string, authTime time.Time, amr string, now time.Time) error {
	n, err := w.exec(ctx, `UPDATE oidc_auth_requests SET user_id = $3, auth_time = $4, amr = $5
		WHERE tenant_id = $1 AND id = $2 AND user_id = '' AND expires_at > $6`,
		tenant, id, userID, Micros(authTime), amr, Micros(now))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// OIDCAuthRequestSetCode records the hash of the one code issued for a
// live, signed-in authorization request. ErrNotFound covers a request
// that does not exist, has expired, nobody signed in for, or has a code
// already.
func (w Writer) OIDCAuthRequestSetCode(ctx context.Context, tenant, id, codeHash string, codeExpires, now time.Time) error {
	n, err := w.exec(ctx, `UPDATE oidc_auth_requests SET code_hash = $3, code_expires_at = $4
		WHERE tenant_id = $1 AND id = $2 AND user_id <> '' AND code_hash IS NULL AND expires_at > $5`,
		tenant, id, codeHash, Micros(codeExpires), Micros(now))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// OIDCCodeUse marks a live, unused code used and returns its
// authorization request, in one statement, so that of two exchanges of
// one code only one gets it. ErrNotFound covers a code that does not
// exist, has expired or was used (OIDCAuthRequestByCode tells which).
func (w Writer) OIDCCodeUse(ctx context.Context, tenant, codeHash string, now time.Time) (OIDCAuthRequest, error) {
	return scanOIDCAuthRequest(w.db.QueryRowContext(ctx, `UPDATE oidc_auth_requests SET code_used_at = $3
		WHERE tenant_id = $1 AND code_hash = $2 AND code_used_at = 0 AND code_expires_at > $3 AND expires_at > $3
		RETURNING `+oidcAuthRequestColumns, tenant, codeHash, Micros(now)))
}

// OIDCAuthRequestDelete removes an authorization request. ErrNotFound
// when there is none.
func (w Writer) OIDCAuthRequestDelete(ctx context.Context, tenant, id string) error {
	n, err := w.exec(ctx, `DELETE FROM oidc_auth_requests WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// OIDCAccessToken is a row of oidc_access_tokens. FamilyID is the
// authorization request the token descends from ("" for client
// credentials), Scopes is space-separated, Audience is the resource of a
// JWT ("" for an opaque token).
type OIDCAccessToken struct {
	TenantID  string
	ID        string
	FamilyID  string
	ClientID  string
	Subject   string
	Scopes    string
	Audience  string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time
}

// OIDCAccessTokenInsert stores an access token's record.
func (w Writer) OIDCAccessTokenInsert(ctx context.Context, t OIDCAccessToken) error {
	_, err := w.exec(ctx, `INSERT INTO oidc_access_tokens (tenant_id, id, family_id, client_id, subject, scopes, audience,
		created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.TenantID, t.ID, t.FamilyID, t.ClientID, t.Subject, t.Scopes, t.Audience, Micros(t.CreatedAt), Micros(t.ExpiresAt))
	return err
}

// OIDCAccessTokenGet reads an access token's record, expired, revoked or
// not, or ErrNotFound.
func (r Reader) OIDCAccessTokenGet(ctx context.Context, tenant, id string) (OIDCAccessToken, error) {
	var t OIDCAccessToken
	var created, expires, revoked int64
	err := r.db.QueryRowContext(ctx, `SELECT tenant_id, id, family_id, client_id, subject, scopes, audience,
		created_at, expires_at, revoked_at FROM oidc_access_tokens WHERE tenant_id = $1 AND id = $2`, tenant, id).
		Scan(&t.TenantID, &t.ID, &t.FamilyID, &t.ClientID, &t.Subject, &t.Scopes, &t.Audience, &created, &expires, &revoked)
	if err != nil {
		return OIDCAccessToken{}, interpret(err)
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = FromMicros(created), FromMicros(expires), FromMicros(revoked)
	return t, nil
}

// OIDCAccessTokenRevoke revokes an access token, if not revoked yet.
func (w Writer) OIDCAccessTokenRevoke(ctx context.Context, tenant, id string, now time.Time) error {
	_, err := w.exec(ctx, `UPDATE oidc_access_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at = 0`,
		tenant, id, Micros(now))
	return err
}

// OIDCRefreshToken is a row of oidc_refresh_tokens. TokenHash is the
// keyed hash of the token; Scopes and Resources are space-separated; the
// zero UsedAt means the token was not rotated yet.
type OIDCRefreshToken struct {
	TenantID  string
	ID        string
	TokenHash string
	FamilyID  string
	ClientID  string
	Subject   string
	Scopes    string
	Resources string
	AuthTime  time.Time
	AMR       string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
	RevokedAt time.Time
}

// OIDCRefreshTokenInsert stores a refresh token.
func (w Writer) OIDCRefreshTokenInsert(ctx context.Context, t OIDCRefreshToken) error {
	_, err := w.exec(ctx, `INSERT INTO oidc_refresh_tokens (tenant_id, id, token_hash, family_id, client_id, subject, scopes,
		resources, auth_time, amr, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		t.TenantID, t.ID, t.TokenHash, t.FamilyID, t.ClientID, t.Subject, t.Scopes, t.Resources, Micros(t.AuthTime), t.AMR,
		Micros(t.CreatedAt), Micros(t.ExpiresAt))
	return err
}

const oidcRefreshColumns = `tenant_id, id, token_hash, family_id, client_id, subject, scopes, resources,
	auth_time, amr, created_at, expires_at, used_at, revoked_at`

func scanOIDCRefreshToken(row scanner) (OIDCRefreshToken, error) {
	var t OIDCRefreshToken
	var authTime, created, expires, used, revoked int64
	if err := row.Scan(&t.TenantID, &t.ID, &t.TokenHash, &t.FamilyID, &t.ClientID, &t.Subject, &t.Scopes, &t.Resources,
		&authTime, &t.AMR, &created, &expires, &used, &revoked); err != nil {
		return OIDCRefreshToken{}, interpret(err)
	}
	t.AuthTime, t.CreatedAt, t.ExpiresAt = FromMicros(authTime), FromMicros(created), FromMicros(expires)
	t.UsedAt, t.RevokedAt = FromMicros(used), FromMicros(revoked)
	return t, nil
}

// OIDCRefreshTokenByHash reads a refresh token by its hash, expired,
// used, revoked or not, or ErrNotFound.
func (r Reader) OIDCRefreshTokenByHash(ctx context.Context, tenant, tokenHash string) (OIDCRefreshToken, error) {
	return scanOIDCRefreshToken(r.db.QueryRowContext(ctx, `SELECT `+oidcRefreshColumns+` FROM oidc_refresh_tokens
		WHERE tenant_id = $1 AND token_hash = $2`, tenant, tokenHash))
}

// OIDCRefreshTokenByID reads a refresh token by its ID, or ErrNotFound.
func (r Reader) OIDCRefreshTokenByID(ctx context.Context, tenant, id string) (OIDCRefreshToken, error) {
	return scanOIDCRefreshToken(r.db.QueryRowContext(ctx, `SELECT `+oidcRefreshColumns+` FROM oidc_refresh_tokens
		WHERE tenant_id = $1 AND id = $2`, tenant, id))
}

// OIDCRefreshTokenUse marks a live, unused, unrevoked refresh token used,
// in one statement, so that of two refreshes with one token only one
// rotates it. ErrNotFound covers a token that does not exist, has expired,
// was used or was revoked.
func (w Writer) OIDCRefreshTokenUse(ctx context.Context, tenant, id string, now time.Time) error {
	n, err := w.exec(ctx, `UPDATE oidc_refresh_tokens SET used_at = $3
		WHERE tenant_id = $1 AND id = $2 AND used_at = 0 AND revoked_at = 0 AND expires_at > $3`, tenant, id, Micros(now))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// OIDCRevokeFamily revokes every refresh and access token of a family,
// those not revoked yet.
func (w Writer) OIDCRevokeFamily(ctx context.Context, tenant, family string, now time.Time) error {
	if _, err := w.exec(ctx, `UPDATE oidc_refresh_tokens SET revoked_at = $3
		WHERE tenant_id = $1 AND family_id = $2 AND revoked_at = 0`, tenant, family, Micros(now)); err != nil {
		return err
	}
	_, err := w.exec(ctx, `UPDATE oidc_access_tokens SET revoked_at = $3
		WHERE tenant_id = $1 AND family_id = $2 AND revoked_at = 0`, tenant, family, Micros(now))
	return err
}

// oidcPurge deletes the authorization requests and tokens that expired.
func (w Writer) oidcPurge(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, table := range []string{"oidc_auth_requests", "oidc_access_tokens", "oidc_refresh_tokens"} {
		n, err := w.exec(ctx, `DELETE FROM `+table+` WHERE expires_at < $1`, Micros(now))
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
