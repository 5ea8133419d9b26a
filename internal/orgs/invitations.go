package orgs

import (
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
)

// The invitation statuses, Logto's. Expired is never written by a read: a
// Pending invitation past its expiry reads as Expired.
const (
	StatusPending  = "Pending"
	StatusAccepted = "Accepted"
	StatusRevoked  = "Revoked"
	StatusExpired  = "Expired"
)

// Statuses lists the invitation statuses.
func Statuses() []string {
	return []string{StatusPending, StatusAccepted, StatusRevoked, StatusExpired}
}

// AcceptPath is the path of the hosted accept page; the one-time token
// follows it.
const AcceptPath = "/invitation/accept/"

// tokenPurpose separates the accept tokens' hashes from the keyring's
// other keyed hashes.
const tokenPurpose = "organization-invitation-accept"

// Invitation is Logto's organization invitation, with the delivery of its
// latest email.
type Invitation struct {
	ID, InviterID, Invitee, AcceptedUserID, OrganizationID string
	// Status is what the invitation is now (a Pending one past ExpiresAt
	// is Expired).
	Status                          string
	CreatedAt, UpdatedAt, ExpiresAt time.Time
	// Roles are the organization roles acceptance gives.
	Roles []Role
	// Message is the latest invitation email as the message log has it;
	// nil when none was sent (or the log no longer keeps it).
	Message *MessageStatus
}

// MessageStatus is an email's delivery, from the message log.
type MessageStatus struct {
	ID, Status, Error string
	Attempts          int
	UpdatedAt         time.Time
}

// NewInvitation is an invitation to create. A nil Message sends no email
// (Logto's messagePayload false); otherwise its members are the
// email's placeholder values over the organization and inviter ones, and
// without a link the email links to the hosted accept page.
type NewInvitation struct {
	InviterID, Invitee, OrganizationID string
	ExpiresAt                          time.Time
	RoleIDs                            []string
	Message                            map[string]any
	// IP is the client's address, for the connector.
	IP string
}

// InvitationFilter selects invitations; an empty field selects any.
type InvitationFilter struct {
	OrganizationID, InviterID, Invitee string
}

func invitationError(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &NotFoundError{Entity: "organization_invitations", ID: id}
	}
	return err
}

// errInvitationEnded is Logto's refusal to change an invitation that is
// not Pending.
var errInvitationEnded = invalidRequest(http.StatusUnprocessableEntity, "The status of the invitation cannot be changed anymore.")

func errEnded() *Error { return errInvitationEnded }

// statusAt is what a stored invitation is at now.
func statusAt(r store.OrganizationInvitation, now time.Time) string {
	if r.Status == StatusPending && !now.Before(r.ExpiresAt) {
		return StatusExpired
	}
	return r.Status
}

// view reads what an invitation row refers to: its roles and its email's
// delivery.
func (s *Service) view(ctx context.Context, r store.OrganizationInvitation) (Invitation, error) {
	inv := Invitation{ID: r.ID, InviterID: r.InviterID, Invitee: r.Invitee, AcceptedUserID: r.AcceptedUserID, OrganizationID: r.OrganizationID,
		Status: statusAt(r, s.d.Now()), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt}
	roles, err := s.d.Store.InvitationRoles(ctx, r.TenantID, r.ID)
	if err != nil {
		return Invitation{}, err
	}
	inv.Roles = roleViews(roles)
	if r.MessageID != "" {
		m, _, err := s.d.Delivery.Message(ctx, r.TenantID, r.MessageID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return Invitation{}, err
		default:
			inv.Message = &MessageStatus{ID: m.ID, Status: m.Status, Error: m.LastError, Attempts: m.Attempts, UpdatedAt: m.UpdatedAt}
		}
	}
	return inv, nil
}

// Invitation reads one invitation.
func (s *Service) Invitation(ctx context.Context, tenantID, id string) (Invitation, error) {
	r, err := s.d.Store.InvitationGet(ctx, tenantID, id)
	if err != nil {
		return Invitation{}, invitationError(err, id)
	}
	return s.view(ctx, r)
}

// Invitations returns the invitations f selects, oldest first; the
// invitee is compared by its canonical form.
func (s *Service) Invitations(ctx context.Context, tenantID string, f InvitationFilter) ([]Invitation, error) {
	invitee := strings.ToLower(f.Invitee)
	if a, err := address.Parse(f.Invitee); err == nil {
		invitee = a.String()
	}
	rows, err := s.d.Store.InvitationList(ctx, store.InvitationFilter{Tenant: tenantID, OrganizationID: f.OrganizationID, InviterID: f.InviterID, Invitee: invitee})
	if err != nil {
		return nil, err
	}
	out := make([]Invitation, 0, len(rows))
	for _, r := range rows {
		inv, err := s.view(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, nil
}

// CreateInvitation stores an invitation and, when in.Message is not nil,
// mails it in the same transaction (sendcode.Send). An email the
// connector refuses does not undo the invitation, as Logto's would: it
// stays Pending, and its Message says what failed, so it can be sent again
// (SendInvitation). An invitation nothing was written for (no connector,
// a refused input) is an error.
func (s *Service) CreateInvitation(ctx context.Context, tenantID string, in NewInvitation) (Invitation, error) {
	invitee, err := address.Parse(in.Invitee)
	var ae *address.Error
	if errors.As(err, &ae) {
		return Invitation{}, &FieldError{Field: "invitee", Reason: ae.Reason}
	} else if err != nil {
		return Invitation{}, err
	}
	now := s.d.Now()
	if !in.ExpiresAt.After(now) {
		return Invitation{}, invalidRequest(http.StatusBadRequest, "The value of `expiresAt` must be in the future.")
	}
	org, err := s.d.Store.OrganizationGet(ctx, tenantID, in.OrganizationID)
	if errors.Is(err, store.ErrNotFound) {
		return Invitation{}, errRelation("organizationId", in.OrganizationID)
	} else if err != nil {
		return Invitation{}, err
	}
	var inviter *identity.User
	if in.InviterID != "" {
		u, err := s.d.Users.Get(ctx, tenantID, in.InviterID)
		if errors.Is(err, identity.ErrUserNotFound) {
			return Invitation{}, errRelation("inviterId", in.InviterID)
		} else if err != nil {
			return Invitation{}, err
		}
		inviter = &u
	}
	roleIDs, err := resolveRoles(ctx, s.d.Store.Reader, tenantID, in.RoleIDs, nil)
	if err != nil {
		return Invitation{}, err
	}
	if u, err := s.d.Users.FindByEmail(ctx, tenantID, invitee); err == nil {
		if ok, err := s.d.Store.OrganizationIsMember(ctx, tenantID, org.ID, u.ID); err != nil {
			return Invitation{}, err
		} else if ok {
			return Invitation{}, invalidRequest(http.StatusUnprocessableEntity, "The invitee is already a member of the organization.")
		}
	} else if !errors.Is(err, identity.ErrUserNotFound) {
		return Invitation{}, err
	}
	row := store.OrganizationInvitation{TenantID: tenantID, ID: newID(21), InviterID: in.InviterID, Invitee: invitee.String(),
		OrganizationID: org.ID, Status: StatusPending, CreatedAt: now, UpdatedAt: now, ExpiresAt: in.ExpiresAt}
	write := func(tx *store.Tx, messageID, tokenHash string) error {
		if err := tx.InvitationExpireStale(ctx, tenantID, row.Invitee, row.OrganizationID, now); err != nil {
			return err
		}
		row.MessageID, row.AcceptTokenHash = messageID, tokenHash
		if err := tx.InvitationInsert(ctx, row); errors.Is(err, store.ErrConflict) {
			return errUnique("the invitee has a Pending invitation to this organization")
		} else if err != nil {
			return err
		}
		for _, id := range roleIDs {
			if err := tx.InvitationRoleAdd(ctx, tenantID, row.ID, id); err != nil {
				return err
			}
		}
		return nil
	}
	if in.Message == nil {
		err = s.d.Store.InTx(ctx, func(tx *store.Tx) error { return write(tx, "", "") })
	} else {
		err = s.mail(ctx, tenantID, org, inviter, row, in.Message, in.IP, write)
		var se *delivery.SendError
		if errors.As(err, &se) {
			s.d.Logger.WarnContext(ctx, "invitation email refused; the invitation stays pending", "invitation", row.ID, "connector", se.Connector, "err", se.Err)
			err = nil
		}
	}
	if err != nil {
		return Invitation{}, err
	}
	return s.Invitation(ctx, tenantID, row.ID)
}

// mail sends an invitation's email, running write in the send's
// transaction with the message's ID and the accept token's hash. A
// connector's refusal (a *delivery.SendError) comes after the commit:
// the message log keeps it and the invitation shows it.
func (s *Service) mail(ctx context.Context, tenantID string, org store.Organization, inviter *identity.User, inv store.OrganizationInvitation,
	message map[string]any, ip string, write func(tx *store.Tx, messageID, tokenHash string) error) error {
	o, err := orgView(org)
	if err != nil {
		return err
	}
	payload := map[string]any{"organization": map[string]any{"id": o.ID, "name": o.Name, "branding": o.Branding}}
	if inviter != nil {
		payload["inviter"] = map[string]any{"id": inviter.ID, "avatar": inviter.Avatar, "name": inviter.Name, "primaryEmail": inviter.PrimaryEmail,
			"primaryPhone": "", "username": inviter.Username, "profile": inviter.Profile}
	}
	maps.Copy(payload, message) // the caller's values win, as Logto's do
	tokenHash := ""
	if link, _ := payload["link"].(string); link == "" {
		token := base64.RawURLEncoding.EncodeToString(keyring.RandomBytes(32))
		payload["link"] = s.d.PublicURL + AcceptPath + token
		tokenHash = s.d.Keys.IdentifierHash(tenantID, tokenPurpose, token)
	}
	locale, _ := payload["locale"].(string)
	invitee, err := address.Parse(inv.Invitee)
	if err != nil {
		return err
	}
	_, err = s.d.Codes.Send(ctx, sendcode.Request{Tenant: tenantID, Email: invitee, Usage: connector.UsageOrganizationInvitation, Locale: locale,
		Payload: payload, IP: ip, FromAdmin: true, ExpiresAt: inv.ExpiresAt},
		func(tx *store.Tx, messageID string) error { return write(tx, messageID, tokenHash) })
	return err
}

// SendInvitation mails a Pending invitation again, with message's values
// (Logto's POST .../message). Without a link, the email links to a new
// accept token and the old one stops working. A connector's refusal is
// returned; the invitation then shows it.
func (s *Service) SendInvitation(ctx context.Context, tenantID, id string, message map[string]any, ip string) error {
	row, err := s.d.Store.InvitationGet(ctx, tenantID, id)
	if err != nil {
		return invitationError(err, id)
	}
	if statusAt(row, s.d.Now()) != StatusPending {
		return invalidRequest(http.StatusUnprocessableEntity, "Only a Pending invitation can be sent; this one is "+statusAt(row, s.d.Now())+".")
	}
	org, err := s.d.Store.OrganizationGet(ctx, tenantID, row.OrganizationID)
	if err != nil {
		return err
	}
	var inviter *identity.User
	if row.InviterID != "" {
		if u, err := s.d.Users.Get(ctx, tenantID, row.InviterID); err == nil {
			inviter = &u
		} else if !errors.Is(err, identity.ErrUserNotFound) {
			return err
		}
	}
	if message == nil {
		message = map[string]any{}
	}
	return s.mail(ctx, tenantID, org, inviter, row, message, ip, func(tx *store.Tx, messageID, tokenHash string) error {
		return tx.InvitationSetMessage(ctx, tenantID, row.ID, messageID, tokenHash, s.d.Now())
	})
}

// SetStatus accepts or revokes a Pending invitation (Logto's PUT
// .../status). Accepting needs the user whose primary email is the
// invitee (compared by canonical form); the user becomes a member with the
// invitation's roles, in the transaction that writes the status.
func (s *Service) SetStatus(ctx context.Context, tenantID, id, status, acceptedUserID string) (Invitation, error) {
	if status != StatusAccepted && status != StatusRevoked {
		return Invitation{}, &FieldError{Field: "status", Reason: "must be Accepted or Revoked"}
	}
	row, err := s.d.Store.InvitationGet(ctx, tenantID, id)
	if err != nil {
		return Invitation{}, invitationError(err, id)
	}
	if statusAt(row, s.d.Now()) != StatusPending {
		return Invitation{}, errEnded()
	}
	if status == StatusRevoked {
		ok, err := s.d.Store.WriteQ().InvitationSetStatus(ctx, tenantID, id, StatusPending, StatusRevoked, "", s.d.Now())
		if err == nil && !ok {
			err = errEnded()
		}
		if err != nil {
			return Invitation{}, err
		}
		return s.Invitation(ctx, tenantID, id)
	}
	if acceptedUserID == "" {
		return Invitation{}, invalidRequest(http.StatusUnprocessableEntity, "The `acceptedUserId` is required when accepting an invitation.")
	}
	u, err := s.d.Users.Get(ctx, tenantID, acceptedUserID)
	if errors.Is(err, identity.ErrUserNotFound) {
		return Invitation{}, &NotFoundError{Entity: "users", ID: acceptedUserID}
	} else if err != nil {
		return Invitation{}, err
	}
	if a, err := address.Parse(u.PrimaryEmail); err != nil || a.String() != row.Invitee {
		return Invitation{}, invalidRequest(http.StatusUnprocessableEntity, "The email of the user does not match the invitee.")
	}
	if err := s.d.Store.InTx(ctx, func(tx *store.Tx) error { return s.accept(ctx, tx, row, u.ID) }); err != nil {
		return Invitation{}, err
	}
	return s.Invitation(ctx, tenantID, id)
}

// accept writes an invitation Accepted by userID, makes the user a member
// and gives the invitation's roles, inside tx.
func (s *Service) accept(ctx context.Context, tx *store.Tx, row store.OrganizationInvitation, userID string) error {
	now := s.d.Now()
	if !now.Before(row.ExpiresAt) {
		return errEnded()
	}
	ok, err := tx.InvitationSetStatus(ctx, row.TenantID, row.ID, StatusPending, StatusAccepted, userID, now)
	if err == nil && !ok {
		err = errEnded()
	}
	if err != nil {
		return err
	}
	if err := tx.OrganizationMemberAdd(ctx, row.TenantID, row.OrganizationID, userID, now); err != nil {
		return err
	}
	roles, err := tx.InvitationRoles(ctx, row.TenantID, row.ID)
	if err != nil {
		return err
	}
	for _, r := range roles {
		if err := tx.OrganizationMemberRoleAdd(ctx, row.TenantID, row.OrganizationID, userID, r.ID); err != nil {
			return err
		}
	}
	return nil
}

// DeleteInvitation removes an invitation.
func (s *Service) DeleteInvitation(ctx context.Context, tenantID, id string) error {
	return invitationError(s.d.Store.WriteQ().InvitationDelete(ctx, tenantID, id), id)
}
