package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/signingkeys"
	"github.com/authmail/authmail/internal/tenant"
)

// Logto's signing key statuses, as its key list shows them.
const (
	keyStatusCurrent  = "Current"
	keyStatusPrevious = "Previous"
)

// privateKeyJSON is a signing key as Logto's GET
// /api/configs/oidc/private-keys lists it: never the key itself.
type privateKeyJSON struct {
	ID                  string `json:"id"`
	CreatedAt           int64  `json:"createdAt"`
	SigningKeyAlgorithm string `json:"signingKeyAlgorithm"`
	Status              string `json:"status"`
}

// rotateKeysBody is POST /api/configs/oidc/private-keys/rotate; both
// members may be left out (or the whole body).
type rotateKeysBody struct {
	SigningKeyAlgorithm *string `json:"signingKeyAlgorithm,omitempty"`
	RotationGracePeriod *int    `json:"rotationGracePeriod,omitempty"`
}

// keyAlgorithmEC is Logto's name of the kind of key authmail signs with
// (ES256 keys are elliptic-curve keys).
const keyAlgorithmEC = "EC"

func (s *Server) listPrivateKeys(w http.ResponseWriter, r *http.Request) error {
	return s.writeKeys(w, r.Context(), tenant.FromContext(r.Context()))
}

func (s *Server) writeKeys(w http.ResponseWriter, ctx context.Context, t string) error {
	keys, err := s.SigningKeys.InForce(ctx, t)
	if err != nil {
		return err
	}
	out := make([]privateKeyJSON, 0, len(keys))
	for _, k := range keys {
		status := keyStatusCurrent
		if !k.RetiredAt.IsZero() {
			status = keyStatusPrevious
		}
		out = append(out, privateKeyJSON{ID: k.ID, CreatedAt: k.CreatedAt.UnixMilli(), SigningKeyAlgorithm: keyAlgorithmEC, Status: status})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) rotatePrivateKeys(w http.ResponseWriter, r *http.Request) error {
	var b rotateKeysBody
	if err := decodeOptional(r, &b); err != nil {
		return err
	}
	if b.SigningKeyAlgorithm != nil && *b.SigningKeyAlgorithm != keyAlgorithmEC {
		return invalidInput("signingKeyAlgorithm", "must be EC: authmail signs with ES256 (P-256) keys only")
	}
	if b.RotationGracePeriod != nil && *b.RotationGracePeriod != 0 {
		return invalidInput("rotationGracePeriod", "must be 0: the new key signs at once, and the old one stays published until the tokens it signed expire")
	}
	t := tenant.FromContext(r.Context())
	if _, err := s.SigningKeys.Rotate(r.Context(), t); err != nil {
		return err
	}
	return s.writeKeys(w, r.Context(), t)
}

// errBadToken is every refusal of a bearer token: which check failed is
// logged at debug level, never answered.
var errBadToken = errors.New("the token is not valid")

// m2mClaims are the claims an access token for the management API
// carries beside the registered ones.
type m2mClaims struct {
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
}

// tokenAuthorized checks a JWT access token for the management API: an
// ES256 signature by one of the tenant's published keys, this issuer, the
// management API among its audiences, the scope "all", inside its
// validity by the server's clock, and a client that still exists and
// still holds a role granting the management API. Any refusal is
// errBadToken; a database failure is returned as it is.
func (s *Server) tokenAuthorized(ctx context.Context, t, token string) error {
	refuse := func(reason string) error {
		s.logger.DebugContext(ctx, "bearer token refused", "reason", reason)
		return errBadToken
	}
	if s.Issuer == "" || s.SigningKeys == nil || s.Apps == nil {
		return refuse("no issuer is configured")
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return refuse("not an ES256 JWT: " + err.Error())
	}
	if len(parsed.Headers) != 1 || parsed.Headers[0].KeyID == "" {
		return refuse("no key ID")
	}
	set, err := s.SigningKeys.Published(ctx, t)
	if err != nil {
		return err
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 || keys[0].Algorithm != signingkeys.Algorithm {
		return refuse("unknown key ID")
	}
	var claims jwt.Claims
	var extra m2mClaims
	if err := parsed.Claims(keys[0].Public().Key, &claims, &extra); err != nil {
		return refuse("signature: " + err.Error())
	}
	if claims.Expiry == nil {
		return refuse("no expiry")
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: s.Issuer, AnyAudience: jwt.Audience{apps.ManagementResource}, Time: s.Now()}, 0); err != nil {
		return refuse(err.Error())
	}
	if !slices.Contains(strings.Fields(extra.Scope), apps.ManagementScope) {
		return refuse("no scope " + apps.ManagementScope)
	}
	client := extra.ClientID
	if client == "" {
		client = claims.Subject
	}
	if client == "" {
		return refuse("no client")
	}
	ok, err := s.Apps.ManagementAccess(ctx, t, client)
	if err != nil {
		return err
	}
	if !ok {
		return refuse("the client no longer has management access")
	}
	return nil
}
