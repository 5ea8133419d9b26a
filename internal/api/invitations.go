package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/authmail/authmail/internal/orgs"
	"github.com/authmail/authmail/internal/tenant"
)

// invitationJSON is Logto's organization invitation entity, with the
// delivery of its latest email (authmail's message, from the message
// log); times are milliseconds.
type invitationJSON struct {
	TenantID          string                 `json:"tenantId"`
	ID                string                 `json:"id"`
	InviterID         *string                `json:"inviterId"`
	Invitee           string                 `json:"invitee"`
	AcceptedUserID    *string                `json:"acceptedUserId"`
	OrganizationID    string                 `json:"organizationId"`
	Status            string                 `json:"status"`
	CreatedAt         int64                  `json:"createdAt"`
	UpdatedAt         int64                  `json:"updatedAt"`
	ExpiresAt         int64                  `json:"expiresAt"`
	OrganizationRoles []roleRefJSON          `json:"organizationRoles"`
	Message           *invitationMessageJSON `json:"message"`
}

// invitationMessageJSON is an invitation email's delivery: its message in
// the log (GET /api/messages/{id}), status and last error.
type invitationMessageJSON struct {
	ID        string  `json:"id"`
	Status    string  `json:"status"`
	Error     *string `json:"error"`
	Attempts  int     `json:"attempts"`
	UpdatedAt int64   `json:"updatedAt"`
}

func invitationView(t string, inv orgs.Invitation) invitationJSON {
	v := invitationJSON{TenantID: t, ID: inv.ID, InviterID: orNull(inv.InviterID), Invitee: inv.Invitee, AcceptedUserID: orNull(inv.AcceptedUserID),
		OrganizationID: inv.OrganizationID, Status: inv.Status, CreatedAt: inv.CreatedAt.UnixMilli(), UpdatedAt: inv.UpdatedAt.UnixMilli(),
		ExpiresAt: inv.ExpiresAt.UnixMilli(), OrganizationRoles: roleRefs(inv.Roles)}
	if m := inv.Message; m != nil {
		v.Message = &invitationMessageJSON{ID: m.ID, Status: m.Status, Error: orNull(m.Error), Attempts: m.Attempts, UpdatedAt: m.UpdatedAt.UnixMilli()}
	}
	return v
}

// createInvitationBody is POST /api/organization-invitations.
// messagePayload is the email's placeholder values (link, locale...), or
// false (the default) for no email; without a link the email links to
// the hosted accept page.
type createInvitationBody struct {
	InviterID           string          `json:"inviterId,omitempty"`
	Invitee             string          `json:"invitee"`
	OrganizationID      string          `json:"organizationId"`
	ExpiresAt           int64           `json:"expiresAt"`
	OrganizationRoleIDs []string        `json:"organizationRoleIds,omitempty"`
	MessagePayload      json.RawMessage `json:"messagePayload,omitempty"`
}

// invitationStatusBody is PUT /api/organization-invitations/{id}/status.
type invitationStatusBody struct {
	Status         string `json:"status"`
	AcceptedUserID string `json:"acceptedUserId,omitempty"`
}

// invitationQuery is the invitation list's filters.
func invitationQuery() []param {
	return []param{
		stringParam("organizationId", "Only the invitations to this organization"),
		stringParam("inviterId", "Only the invitations this user sent"),
		stringParam("invitee", "Only the invitations of this address (compared by its canonical form)"),
	}
}

// messagePayload reads Logto's SendMessagePayload or false.
func messagePayload(raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "false" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, invalidInput("messagePayload", "must be an object of the email's values, or false")
	}
	return m, nil
}

func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request) error {
	var b createInvitationBody
	if err := decode(r, &b); err != nil {
		return err
	}
	payload, err := messagePayload(b.MessagePayload)
	if err != nil {
		return err
	}
	t := tenant.FromContext(r.Context())
	inv, err := s.Orgs.CreateInvitation(r.Context(), t, orgs.NewInvitation{InviterID: b.InviterID, Invitee: b.Invitee, OrganizationID: b.OrganizationID,
		ExpiresAt: time.UnixMilli(b.ExpiresAt), RoleIDs: b.OrganizationRoleIDs, Message: payload, IP: clientIP(r)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, invitationView(t, inv))
	return nil
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	t := tenant.FromContext(r.Context())
	list, err := s.Orgs.Invitations(r.Context(), t, orgs.InvitationFilter{OrganizationID: q.Get("organizationId"), InviterID: q.Get("inviterId"), Invitee: q.Get("invitee")})
	if err != nil {
		return err
	}
	out := make([]invitationJSON, 0, len(list))
	for _, inv := range list {
		out = append(out, invitationView(t, inv))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getInvitation(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	inv, err := s.Orgs.Invitation(r.Context(), t, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, invitationView(t, inv))
	return nil
}

func (s *Server) sendInvitation(w http.ResponseWriter, r *http.Request) error {
	var b map[string]any
	if err := decodeOptional(r, &b); err != nil {
		return err
	}
	if err := s.Orgs.SendInvitation(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"), b, clientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) setInvitationStatus(w http.ResponseWriter, r *http.Request) error {
	var b invitationStatusBody
	if err := decode(r, &b); err != nil {
		return err
	}
	t := tenant.FromContext(r.Context())
	inv, err := s.Orgs.SetStatus(r.Context(), t, r.PathValue("id"), b.Status, b.AcceptedUserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, invitationView(t, inv))
	return nil
}

func (s *Server) deleteInvitation(w http.ResponseWriter, r *http.Request) error {
	if err := s.Orgs.DeleteInvitation(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
