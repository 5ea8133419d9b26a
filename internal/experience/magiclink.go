package experience

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/store"
)

// Magic links. Where the sign-in experience turns magicLink on, a SignIn
// or Register code's email also carries a link to MagicLinkPage/{token}, a
// token (160 random bits, of which only a keyed hash is stored, in the
// send's transaction). The link completes the same verification as the
// code, and only in the browser whose interaction asked for it: UseLink
// compares the caller's interaction with the link's and verifies the code
// there; anywhere else it answers the code to type in that browser and
// verifies nothing. A link works once, dies with its code (its expiry, a
// newer code of the interaction, the code typed), and a GET of the page
// reads it without using it (LinkStatus), so a mail scanner that fetches
// links takes nothing from the person.

// MagicLinkPage is the hosted page a magic link opens (under the public
// URL), followed by /{token}.
const MagicLinkPage = "/magic-link"

// The refusals of a magic link, Logto's one-time token codes.
var (
	ErrLinkNotFound = newError(http.StatusNotFound, "one_time_token.token_not_found", "Token not found.")
	ErrLinkExpired  = newError(http.StatusBadRequest, "one_time_token.token_expired", "The token is expired.")
	ErrLinkConsumed = newError(http.StatusBadRequest, "one_time_token.token_consumed", "The token has been consumed.")
)

// purposeMagicLink keys the hashes of magic link tokens.
const purposeMagicLink = "magic_link"

// maxLinkToken bounds a token read from a request.
const maxLinkToken = 128

// linkPayload is what a link's row holds, sealed: the code's address (in
// canonical form), usage type and code, and the code record it is for.
type linkPayload struct {
	Email    string `json:"email"`
	Usage    string `json:"usage"`
	Code     string `json:"code"`
	RecordID string `json:"recordId"`
}

func linkAAD(tenant, tokenHash string) string { return "magic_link\x00" + tenant + "\x00" + tokenHash }

// linksFor reports whether a code of the usage type carries a magic link
// under the settings.
func (r rules) linksFor(usage connector.UsageType) bool {
	return r.MagicLink.Enabled && (usage == connector.UsageSignIn || usage == connector.UsageRegister)
}

// magicLink is a send's link maker: in the send's transaction it stores a
// link for the code (retiring the interaction's earlier ones) and returns
// its URL, for the email's link placeholder.
func (s *Service) magicLink(tenant, interactionHash, recordID string, to address.Address, usage connector.UsageType) func(ctx context.Context, tx *store.Tx, code string, expiresAt time.Time) (string, error) {
	return func(ctx context.Context, tx *store.Tx, code string, expiresAt time.Time) (string, error) {
		token := newSecret()
		h := s.hash(tenant, purposeMagicLink, token)
		raw, err := json.Marshal(linkPayload{Email: to.String(), Usage: string(usage), Code: code, RecordID: recordID})
		if err != nil {
			return "", err
		}
		if err := tx.MagicLinkInsert(ctx, store.MagicLink{TenantID: tenant, TokenHash: h, InteractionHash: interactionHash,
			Payload: s.d.Keys.Seal(raw, linkAAD(tenant, h)), CreatedAt: s.d.Now(), ExpiresAt: expiresAt}); err != nil {
			return "", fmt.Errorf("storing the magic link: %w", err)
		}
		return s.page(MagicLinkPage) + "/" + token, nil
	}
}

// link reads the link of a token: ErrLinkNotFound, ErrLinkConsumed (used
// or replaced) or ErrLinkExpired when it cannot be used.
func (s *Service) link(ctx context.Context, r store.Reader, tenant, token string) (store.MagicLink, linkPayload, error) {
	if token == "" || len(token) > maxLinkToken {
		return store.MagicLink{}, linkPayload{}, ErrLinkNotFound
	}
	h := s.hash(tenant, purposeMagicLink, token)
	m, err := r.MagicLinkGet(ctx, tenant, h)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.MagicLink{}, linkPayload{}, ErrLinkNotFound
	case err != nil:
		return store.MagicLink{}, linkPayload{}, err
	case !m.UsedAt.IsZero():
		return store.MagicLink{}, linkPayload{}, ErrLinkConsumed
	case !s.d.Now().Before(m.ExpiresAt):
		return store.MagicLink{}, linkPayload{}, ErrLinkExpired
	}
	raw, err := s.d.Keys.Open(m.Payload, linkAAD(tenant, h))
	if err != nil {
		return store.MagicLink{}, linkPayload{}, fmt.Errorf("magic link: opening its payload: %w", err)
	}
	var p linkPayload
	if err := json.Unmarshal(raw, &p); err != nil {
		return store.MagicLink{}, linkPayload{}, fmt.Errorf("magic link: stored payload: %w", err)
	}
	return m, p, nil
}

// LinkStatus checks a magic link's token without using it (the page's
// GET): nil when it may still be used, else ErrLinkNotFound,
// ErrLinkConsumed or ErrLinkExpired.
func (s *Service) LinkStatus(ctx context.Context, tenant, token string) error {
	_, _, err := s.link(ctx, s.d.Store.Reader, tenant, token)
	return err
}

// LinkUse is what UseLink did.
type LinkUse struct {
	// Verified says the link was the caller's interaction's and verified
	// its code: VerificationID names the code record, now verified, as
	// VerifyCode would, and Event is the interaction's event.
	Verified       bool
	VerificationID string
	Event          Event
	// Code is, for a link opened in another browser, the code to type in
	// the browser that asked for it (nothing was verified or used).
	Code string
}

// UseLink follows a magic link for the caller (the page's POST). In the
// browser whose interaction asked for the code, and while that
// interaction's code record is still the link's, the link is used
// (once: a second use is ErrLinkConsumed) and the code verified, exactly
// as VerifyCode (the code's errors and lockouts apply). In any other
// browser it answers the code to type in the first, uses nothing and
// signs nothing in.
func (s *Service) UseLink(ctx context.Context, c Caller, token string) (LinkUse, error) {
	m, p, err := s.link(ctx, s.d.Store.Reader, c.Tenant, token)
	if err != nil {
		return LinkUse{}, err
	}
	in, err := s.load(ctx, s.d.Store.Reader, c)
	if errors.Is(err, ErrSessionNotFound) || (err == nil && subtle.ConstantTimeCompare([]byte(in.hash), []byte(m.InteractionHash)) != 1) {
		return LinkUse{Code: p.Code}, nil
	}
	if err != nil {
		return LinkUse{}, err
	}
	rec := in.st.Records[RecordEmailCode]
	if rec == nil || rec.ID != p.RecordID || rec.Email != p.Email || rec.Usage != p.Usage {
		return LinkUse{}, ErrLinkConsumed // a newer code replaced it
	}
	used, err := s.d.Store.WriteQ().MagicLinkUse(ctx, c.Tenant, m.TokenHash, s.d.Now())
	if err != nil {
		return LinkUse{}, err
	}
	if !used {
		return LinkUse{}, ErrLinkConsumed // another request used it first
	}
	id, err := s.verifyRecord(ctx, c, in, rec, p.Code)
	if err != nil {
		return LinkUse{}, err
	}
	return LinkUse{Verified: true, VerificationID: id, Event: in.st.Event}, nil
}
