package orgs

import (
	"context"
	"errors"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
)

// The hosted accept page. An invitation mailed without the app's link
// links to AcceptPath and a one-time token, stored only as its keyed hash
// and replaced by a resend. The invitee proves the invited address with a
// code sent to it (sendcode, the sign-in codes' pipeline, policy and
// lockouts: a SignIn code for an address with an account, a Register one
// for a new address), and the invitee's account (made then, its email
// verified, when there is none) becomes a member with the invitation's
// roles in the transaction that writes the invitation Accepted and drops
// the token. The browser then goes to the organization's
// customData.invitationReturnUrl (ReturnURLKey).

// ErrLinkInvalid is the one answer for an accept token that no invitation
// has, and for one whose invitation was accepted, revoked or expired, so
// the page says nothing about an invitation to one without its link.
var ErrLinkInvalid = errors.New("the invitation link is not valid any more")

// AcceptView is what the accept page shows of an invitation.
type AcceptView struct {
	// Organization is the organization's name; Inviter the inviter's name
	// (or username, or email), "" without one.
	Organization, Inviter string
	// Invitee is the invited address, where the code goes.
	Invitee string
}

// Accepted is where an accepted invitation leaves the invitee.
type Accepted struct {
	// Organization is the organization's name.
	Organization string
	// ReturnURL is the organization's customData.invitationReturnUrl, ""
	// when it has none.
	ReturnURL string
}

// open finds the Pending invitation of an accept token.
func (s *Service) open(ctx context.Context, r store.Reader, tenantID, token string) (store.OrganizationInvitation, store.Organization, error) {
	if token == "" || len(token) > 128 {
		return store.OrganizationInvitation{}, store.Organization{}, ErrLinkInvalid
	}
	row, err := r.InvitationByToken(ctx, tenantID, s.d.Keys.IdentifierHash(tenantID, tokenPurpose, token))
	if errors.Is(err, store.ErrNotFound) || err == nil && statusAt(row, s.d.Now()) != StatusPending {
		return store.OrganizationInvitation{}, store.Organization{}, ErrLinkInvalid
	}
	if err != nil {
		return store.OrganizationInvitation{}, store.Organization{}, err
	}
	org, err := r.OrganizationGet(ctx, tenantID, row.OrganizationID)
	return row, org, err
}

// OpenInvitation reads the invitation of an accept token for the page.
func (s *Service) OpenInvitation(ctx context.Context, tenantID, token string) (AcceptView, error) {
	row, org, err := s.open(ctx, s.d.Store.Reader, tenantID, token)
	if err != nil {
		return AcceptView{}, err
	}
	v := AcceptView{Organization: org.Name, Invitee: row.Invitee}
	if row.InviterID != "" {
		u, err := s.d.Users.Get(ctx, tenantID, row.InviterID)
		switch {
		case err == nil:
			v.Inviter = firstOf(u.Name, u.Username, u.PrimaryEmail)
		case !errors.Is(err, identity.ErrUserNotFound):
			return AcceptView{}, err
		}
	}
	return v, nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// usage is the code's usage type for the invitee: SignIn when the address
// has an account, Register when it has none.
func (s *Service) usage(ctx context.Context, tenantID string, invitee address.Address) (connector.UsageType, *identity.User, error) {
	u, err := s.d.Users.FindByEmail(ctx, tenantID, invitee)
	switch {
	case err == nil:
		return connector.UsageSignIn, &u, nil
	case errors.Is(err, identity.ErrUserNotFound):
		return connector.UsageRegister, nil, nil
	}
	return "", nil, err
}

// SendAcceptCode mails a code to the invitee of an accept token, from the
// client at ip whose languages are preferred.
func (s *Service) SendAcceptCode(ctx context.Context, tenantID, token, ip string, preferred []language.Tag) error {
	row, org, err := s.open(ctx, s.d.Store.Reader, tenantID, token)
	if err != nil {
		return err
	}
	invitee, err := address.Parse(row.Invitee)
	if err != nil {
		return err
	}
	usage, _, err := s.usage(ctx, tenantID, invitee)
	if err != nil {
		return err
	}
	return s.d.Codes.SendCode(ctx, sendcode.Request{Tenant: tenantID, Email: invitee, Usage: usage, Preferred: preferred, IP: ip,
		Payload: map[string]any{"organization": map[string]any{"id": org.ID, "name": org.Name}}})
}

// AcceptWithCode checks the code sent to the invitee of an accept token
// and accepts the invitation for the invitee's account, made when the
// address has none. A wrong code is the code check's *verification.Error,
// counted toward the lockouts as any.
func (s *Service) AcceptWithCode(ctx context.Context, tenantID, token, code, ip string) (Accepted, error) {
	row, org, err := s.open(ctx, s.d.Store.Reader, tenantID, token)
	if err != nil {
		return Accepted{}, err
	}
	invitee, err := address.Parse(row.Invitee)
	if err != nil {
		return Accepted{}, err
	}
	usage, user, err := s.usage(ctx, tenantID, invitee)
	if err != nil {
		return Accepted{}, err
	}
	if err := s.d.Codes.Verify(ctx, tenantID, invitee, usage, code, ip); err != nil {
		return Accepted{}, err
	}
	if user != nil && user.IsSuspended {
		return Accepted{}, ErrSuspended
	}
	var prepared identity.Prepared
	if user == nil {
		exp, err := s.d.Tenants.Experience(ctx, tenantID)
		if err != nil {
			return Accepted{}, err
		}
		if prepared, err = s.d.Users.Prepare(ctx, tenantID, identity.NewUser{PrimaryEmail: invitee.String(), EmailVerified: true}, exp.PasswordPolicy); err != nil {
			return Accepted{}, err
		}
	}
	err = s.d.Store.InTx(ctx, func(tx *store.Tx) error {
		// The token is read again in the transaction: two submissions at
		// once accept once.
		row, _, err := s.open(ctx, tx.Reader, tenantID, token)
		if err != nil {
			return err
		}
		var userID string
		if user == nil {
			u, err := s.d.Users.Insert(ctx, tx, prepared)
			if err != nil {
				return err
			}
			userID = u.ID
		} else {
			userID = user.ID
			if !user.EmailVerified {
				verified := true
				if _, err := s.d.Users.UpdateIn(ctx, tx, tenantID, userID, identity.Patch{EmailVerified: &verified}); err != nil {
					return err
				}
			}
		}
		err = s.accept(ctx, tx, row, userID)
		if errors.Is(err, errEnded()) {
			return ErrLinkInvalid
		}
		return err
	})
	if err != nil {
		return Accepted{}, err
	}
	o, err := orgView(org)
	if err != nil {
		return Accepted{}, err
	}
	ret, _ := o.CustomData[ReturnURLKey].(string)
	if returnURLProblem(ret) != "" {
		ret = ""
	}
	return Accepted{Organization: org.Name, ReturnURL: ret}, nil
}

// ErrSuspended refuses to accept for a suspended account.
var ErrSuspended = errors.New("the account is suspended")
