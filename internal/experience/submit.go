package experience

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/store"
)

// Submitted is what Submit did.
type Submitted struct {
	// RedirectTo is where the browser goes next (the OIDC provider's
	// callback); "" for ForgotPassword, after which the user signs in.
	RedirectTo string `json:"redirectTo,omitempty"`
	// Session is the new sign-in session's _session cookie value
	// (SetSessionCookie); "" for ForgotPassword and for a sign-in without
	// redirects.
	Session string `json:"-"`
	// Tokens are what a sign-in without redirects gets: the answer of the
	// code exchange it stands for (the OAuth token response's members).
	Tokens
}

// SubmitInput is what a submit may carry besides the interaction.
type SubmitInput struct {
	// CodeVerifier is the PKCE verifier of the challenge a sign-in without
	// redirects started with (StartDirect); "" for the others.
	CodeVerifier string
}

// Submit finishes the interaction (POST /api/experience/submit). The user
// must be identified (ErrIdentifierNotFound) and may sign in (ErrSuspended).
//
// ForgotPassword writes the new password (ErrNewPasswordRequired without
// one), signs the user out of every sign-in session and starts the
// interaction over, so the browser can sign in with it next.
//
// SignIn and Register need the profile sign-up requires (user.missing_profile
// for what the user lacks; AddProfile gives it), write what the profile
// adds, record the sign-in, open a sign-in session, end the interaction,
// all in one transaction, and then complete the authorization request
// through the Completer, whose URL is RedirectTo.
func (s *Service) Submit(ctx context.Context, c Caller) (Submitted, error) {
	return s.SubmitWith(ctx, c, SubmitInput{})
}

// SubmitWith is Submit with what the body carries. A sign-in without
// redirects (StartDirect) checks the PKCE verifier against its challenge
// first, a mismatch changing nothing; it opens no sign-in session, and
// its Submitted holds the tokens (Authorizer.Tokens) instead of a
// RedirectTo.
func (s *Service) SubmitWith(ctx context.Context, c Caller, input SubmitInput) (Submitted, error) {
	in, err := s.begun(ctx, c)
	if err != nil {
		return Submitted{}, err
	}
	if in.st.UserID == "" {
		return Submitted{}, ErrIdentifierNotFound
	}
	userID, event := in.st.UserID, in.st.Event
	if event == EventForgotPassword {
		return Submitted{}, s.submitReset(ctx, c, userID)
	}
	direct := in.req.Direct
	switch {
	case direct && s.d.Authorizer == nil, !direct && s.d.Completer == nil:
		return Submitted{}, ErrNoCompleter
	case direct:
		if err := s.d.Authorizer.CheckVerifier(ctx, c.Tenant, in.row.AuthRequestID, input.CodeVerifier); err != nil {
			return Submitted{}, err
		}
	}
	u, err := s.d.Users.Get(ctx, c.Tenant, userID)
	if errors.Is(err, identity.ErrUserNotFound) {
		return Submitted{}, ErrIdentifierNotFound
	}
	if err != nil {
		return Submitted{}, err
	}
	if u.IsSuspended {
		return Submitted{}, ErrSuspended
	}
	r, err := s.rules(ctx, c.Tenant)
	if err != nil {
		return Submitted{}, err
	}
	p := in.st.Profile
	if missing := r.missing(have{email: u.PrimaryEmail != "" || p.Email != "", username: u.Username != "" || p.Username != "",
		password: u.HasPassword || p.PasswordDigest != ""}); len(missing) > 0 {
		return Submitted{}, missingProfile(missing)
	}
	mfa, err := s.planMfa(ctx, c.Tenant, in, r, u)
	if err != nil {
		return Submitted{}, err
	}
	cookie := newSecret()
	now := s.d.Now().Truncate(time.Microsecond) // as the session keeps it
	var login Login
	var authRequest string
	err = s.update(ctx, c, func(tx *store.Tx, in *interaction) error {
		if in.st.UserID != userID || in.st.Event != event || in.st.Profile != p {
			return store.ErrConflict // another step changed the interaction meanwhile
		}
		if err := s.applyProfile(ctx, tx, c.Tenant, userID, p); err != nil {
			return err
		}
		if err := s.applyMfa(ctx, tx, c.Tenant, userID, in, mfa); err != nil {
			return err
		}
		if err := s.d.Users.SignedIn(ctx, tx, c.Tenant, userID, now); err != nil {
			return err
		}
		login = Login{UserID: userID, AuthTime: now, AMR: in.st.AMR}
		authRequest = in.row.AuthRequestID
		in.remove = true
		if direct {
			return nil // no browser to keep a sign-in session
		}
		amr, err := json.Marshal(login.AMR)
		if err != nil {
			return err
		}
		if err := tx.SessionInsert(ctx, store.SignInSession{TenantID: c.Tenant, IDHash: s.hash(c.Tenant, purposeSession, cookie),
			UserID: userID, AuthTime: now, AMR: string(amr), CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return Submitted{}, err
	}
	if direct {
		tokens, err := s.d.Authorizer.Tokens(ctx, c.Tenant, authRequest, login, input.CodeVerifier)
		if err != nil {
			return Submitted{}, err
		}
		return Submitted{Tokens: tokens}, nil
	}
	to, err := s.d.Completer.Complete(ctx, c.Tenant, authRequest, login)
	if err != nil {
		return Submitted{}, err
	}
	return Submitted{RedirectTo: to, Session: cookie}, nil
}

// applyProfile writes what a signing-in user's profile adds: a verified
// email (consuming its code's record), a username, a password.
func (s *Service) applyProfile(ctx context.Context, tx *store.Tx, tenant, userID string, p profile) error {
	var patch identity.Patch
	if p.Email != "" {
		if err := s.consume(ctx, tx, tenant, p.EmailProof, p.EmailUsage); err != nil {
			return err
		}
		verified := true
		patch.PrimaryEmail, patch.EmailVerified = &p.Email, &verified
	}
	if p.Username != "" {
		patch.Username = &p.Username
	}
	if patch.PrimaryEmail != nil || patch.Username != nil {
		if _, err := s.d.Users.UpdateIn(ctx, tx, tenant, userID, patch); err != nil {
			return userConflict(err)
		}
	}
	if p.PasswordDigest != "" {
		return s.d.Users.SetPasswordDigest(ctx, tx, tenant, userID, p.PasswordDigest)
	}
	return nil
}

// submitReset writes a ForgotPassword interaction's new password.
func (s *Service) submitReset(ctx context.Context, c Caller, userID string) error {
	return s.update(ctx, c, func(tx *store.Tx, in *interaction) error {
		if in.st.Event != EventForgotPassword || in.st.UserID != userID {
			return store.ErrConflict
		}
		digest := in.st.Profile.PasswordDigest
		if digest == "" {
			return ErrNewPasswordRequired
		}
		err := s.d.Users.SetPasswordDigest(ctx, tx, c.Tenant, userID, digest)
		if errors.Is(err, identity.ErrUserNotFound) {
			return ErrIdentifierNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.SessionDeleteUser(ctx, c.Tenant, userID); err != nil {
			return err
		}
		in.st = state{} // Logto's cleanUp: the next PUT /api/experience begins again
		return nil
	})
}
