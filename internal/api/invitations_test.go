package api_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/authmail/authmail/internal/app/apptest"
)

// invitation is an organization invitation as the routes answer it.
type invitation struct {
	ID                string  `json:"id"`
	InviterID         *string `json:"inviterId"`
	Invitee           string  `json:"invitee"`
	AcceptedUserID    *string `json:"acceptedUserId"`
	OrganizationID    string  `json:"organizationId"`
	Status            string  `json:"status"`
	ExpiresAt         int64   `json:"expiresAt"`
	OrganizationRoles []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"organizationRoles"`
	Message *struct {
		ID       string  `json:"id"`
		Status   string  `json:"status"`
		Error    *string `json:"error"`
		Attempts int     `json:"attempts"`
	} `json:"message"`
}

func inAnHour(now time.Time) int64 { return now.Add(time.Hour).UnixMilli() }

func invite(t *testing.T, a *apptest.App, body map[string]any) invitation {
	t.Helper()
	var inv invitation
	a.JSON("POST", "/api/organization-invitations", body, http.StatusCreated, &inv)
	return inv
}

// TestInvitationIsMailedWithTheOrganizationAndInviterAsLogtos: an
// invitation with a messagePayload sends one OrganizationInvitation
// email (no code) whose payload carries the app's link, the organization
// and the inviter; the invitee is kept in canonical form and found by any
// spelling; the list filters; the refusals are Logto's; an invitation
// with messagePayload false sends nothing; without a link the email links
// to the hosted accept page, whose token the API never shows.
func TestInvitationIsMailedWithTheOrganizationAndInviterAsLogtos(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		o := newOrg(t, a, map[string]any{"name": "Acme"})
		inviter := newUser(t, a, "owner@example.com")
		a.JSON("PATCH", "/api/users/"+inviter.ID, map[string]any{"name": "Olivia"}, http.StatusOK, nil)
		role := newRole(t, a, "editor")
		inv := invite(t, a, map[string]any{"inviterId": inviter.ID, "invitee": "Dana@Example.COM", "organizationId": o.ID,
			"expiresAt": inAnHour(time.Now()), "organizationRoleIds": []string{role.ID},
			"messagePayload": map[string]any{"link": "https://app.example.com/invitation/accept/x"}})
		if inv.Status != "Pending" || inv.Invitee != "dana@example.com" || deref(inv.InviterID) != inviter.ID || len(inv.OrganizationRoles) != 1 ||
			inv.OrganizationRoles[0].Name != "editor" || inv.Message == nil || inv.Message.Status != "sent" || inv.Message.Error != nil {
			t.Fatalf("created invitation = %+v", inv)
		}
		msgs := inbox(t, a, "dana@example.com")
		if len(msgs) != 1 || msgs[0].Type != "OrganizationInvitation" {
			t.Fatalf("dev inbox for the invitee = %+v, want one OrganizationInvitation", msgs)
		}
		p := msgs[0].Payload
		org, _ := p["organization"].(map[string]any)
		inviterPayload, _ := p["inviter"].(map[string]any)
		if p["link"] != "https://app.example.com/invitation/accept/x" || org["name"] != "Acme" || inviterPayload["name"] != "Olivia" || p["code"] != nil {
			t.Errorf("payload = %+v, want the app's link, the organization, the inviter and no code", p)
		}
		if !strings.Contains(msgs[0].Text, "https://app.example.com/invitation/accept/x") {
			t.Errorf("the email's text does not hold the link: %s", msgs[0].Text)
		}

		var list []invitation
		a.JSON("GET", "/api/organization-invitations?invitee=DANA@example.com", nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].ID != inv.ID {
			t.Errorf("list by invitee = %+v", list)
		}
		a.JSON("GET", "/api/organization-invitations?organizationId=other", nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Errorf("list of another organization = %+v", list)
		}
		var got invitation
		a.JSON("GET", "/api/organization-invitations/"+inv.ID, nil, http.StatusOK, &got)
		if got.ID != inv.ID || got.Message == nil || got.Message.ID != inv.Message.ID {
			t.Errorf("GET = %+v", got)
		}

		body := func(invitee string, extra map[string]any) map[string]any {
			b := map[string]any{"invitee": invitee, "organizationId": o.ID, "expiresAt": inAnHour(time.Now())}
			for k, v := range extra {
				b[k] = v
			}
			return b
		}
		a.WantError("POST", "/api/organization-invitations", body("dana@EXAMPLE.com", nil), http.StatusUnprocessableEntity, "entity.unique_integrity_violation")
		a.WantError("POST", "/api/organization-invitations", body("past@example.com", map[string]any{"expiresAt": time.Now().Add(-time.Minute).UnixMilli()}),
			http.StatusBadRequest, "request.invalid_input")
		a.WantError("POST", "/api/organization-invitations", body("not-an-address", nil), http.StatusBadRequest, "guard.invalid_input")
		a.WantError("POST", "/api/organization-invitations", body("eve@example.com", map[string]any{"organizationId": "nosuchorg"}),
			http.StatusUnprocessableEntity, "entity.relation_foreign_key_not_found")
		a.WantError("POST", "/api/organization-invitations", body("eve@example.com", map[string]any{"organizationRoleIds": []string{"nosuchrole"}}),
			http.StatusUnprocessableEntity, "entity.relation_foreign_key_not_found")
		a.JSON("POST", "/api/organizations/"+o.ID+"/users", map[string]any{"userIds": []string{inviter.ID}}, http.StatusCreated, nil)
		a.WantError("POST", "/api/organization-invitations", body("Owner@example.com", nil), http.StatusUnprocessableEntity, "request.invalid_input")

		quiet := invite(t, a, body("quiet@example.com", map[string]any{"messagePayload": false}))
		if quiet.Message != nil || len(inbox(t, a, "quiet@example.com")) != 0 {
			t.Errorf("messagePayload false: invitation %+v, inbox %+v; want no email", quiet, inbox(t, a, "quiet@example.com"))
		}

		resp, raw := a.Request("POST", "/api/organization-invitations", http.Header{"Authorization": {"Bearer " + a.AdminKey}},
			body("hosted@example.com", map[string]any{"messagePayload": map[string]any{}}))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("invitation without a link: %d %s", resp.StatusCode, raw)
		}
		link, _ := inbox(t, a, "hosted@example.com")[0].Payload["link"].(string)
		token, ok := strings.CutPrefix(link, a.BaseURL+"/invitation/accept/")
		if !ok || len(token) < 40 {
			t.Fatalf("link = %q, want the hosted accept page with a token", link)
		}
		if strings.Contains(string(raw), token) {
			t.Errorf("the API shows the accept token: %s", raw)
		}

		a.JSON("DELETE", "/api/organization-invitations/"+quiet.ID, nil, http.StatusNoContent, nil)
		a.WantError("GET", "/api/organization-invitations/"+quiet.ID, nil, http.StatusNotFound, "entity.not_exists_with_id")
		a.WantError("DELETE", "/api/organization-invitations/"+quiet.ID, nil, http.StatusNotFound, "entity.not_exists_with_id")
	})
}

// TestInvitationAcceptedByTheInviteeMakesAMemberWithItsRoles: PUT
// .../status accepts for the user whose primary email is the invitee (by
// canonical form), who becomes a member with the invitation's roles;
// another user, no user, and a second change are Logto's 422
// request.invalid_input; a revoked invitation can neither be accepted nor
// sent again.
func TestInvitationAcceptedByTheInviteeMakesAMemberWithItsRoles(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		o := newOrg(t, a, map[string]any{"name": "Acme"})
		role := newRole(t, a, "editor")
		inv := invite(t, a, map[string]any{"invitee": "dana@example.com", "organizationId": o.ID, "expiresAt": inAnHour(time.Now()),
			"organizationRoleIds": []string{role.ID}})
		dana, mallory := newUser(t, a, "DANA@example.com"), newUser(t, a, "mallory@example.com")
		status := "/api/organization-invitations/" + inv.ID + "/status"
		a.WantError("PUT", status, map[string]any{"status": "Accepted"}, http.StatusUnprocessableEntity, "request.invalid_input")
		a.WantError("PUT", status, map[string]any{"status": "Accepted", "acceptedUserId": mallory.ID}, http.StatusUnprocessableEntity, "request.invalid_input")
		a.WantError("PUT", status, map[string]any{"status": "Accepted", "acceptedUserId": "nosuchuser"}, http.StatusNotFound, "entity.not_exists_with_id")
		a.WantError("PUT", status, map[string]any{"status": "Pending"}, http.StatusBadRequest, "guard.invalid_input")

		var accepted invitation
		a.JSON("PUT", status, map[string]any{"status": "Accepted", "acceptedUserId": dana.ID}, http.StatusOK, &accepted)
		if accepted.Status != "Accepted" || deref(accepted.AcceptedUserID) != dana.ID {
			t.Errorf("accepted invitation = %+v", accepted)
		}
		var roles []orgRole
		a.JSON("GET", "/api/organizations/"+o.ID+"/users/"+dana.ID+"/roles", nil, http.StatusOK, &roles)
		if len(roles) != 1 || roles[0].ID != role.ID {
			t.Errorf("the new member holds %+v, want the invitation's role", roles)
		}
		a.WantError("PUT", status, map[string]any{"status": "Revoked"}, http.StatusUnprocessableEntity, "request.invalid_input")

		other := invite(t, a, map[string]any{"invitee": "mallory@example.com", "organizationId": o.ID, "expiresAt": inAnHour(time.Now())})
		var revoked invitation
		a.JSON("PUT", "/api/organization-invitations/"+other.ID+"/status", map[string]any{"status": "Revoked"}, http.StatusOK, &revoked)
		if revoked.Status != "Revoked" {
			t.Errorf("revoked invitation = %+v", revoked)
		}
		a.WantError("PUT", "/api/organization-invitations/"+other.ID+"/status", map[string]any{"status": "Accepted", "acceptedUserId": mallory.ID},
			http.StatusUnprocessableEntity, "request.invalid_input")
		a.WantError("POST", "/api/organization-invitations/"+other.ID+"/message", map[string]any{}, http.StatusUnprocessableEntity, "request.invalid_input")
		var members []member
		a.JSON("GET", "/api/organizations/"+o.ID+"/users", nil, http.StatusOK, &members)
		if len(members) != 1 || members[0].ID != dana.ID {
			t.Errorf("members = %+v, want dana only", members)
		}
	})
}

// TestExpiredInvitationReadsExpiredAndCannotBeAccepted: past its expiry a
// Pending invitation reads Expired (without a write), cannot be accepted,
// and does not stop a new invitation of the same address.
func TestExpiredInvitationReadsExpiredAndCannotBeAccepted(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		o := newOrg(t, a, map[string]any{"name": "Acme"})
		inv := invite(t, a, map[string]any{"invitee": "dana@example.com", "organizationId": o.ID, "expiresAt": inAnHour(clock.Now())})
		dana := newUser(t, a, "dana@example.com")
		clock.Advance(2 * time.Hour)
		var got invitation
		a.JSON("GET", "/api/organization-invitations/"+inv.ID, nil, http.StatusOK, &got)
		if got.Status != "Expired" {
			t.Errorf("status after expiry = %s, want Expired", got.Status)
		}
		a.WantError("PUT", "/api/organization-invitations/"+inv.ID+"/status", map[string]any{"status": "Accepted", "acceptedUserId": dana.ID},
			http.StatusUnprocessableEntity, "request.invalid_input")
		again := invite(t, a, map[string]any{"invitee": "dana@example.com", "organizationId": o.ID, "expiresAt": inAnHour(clock.Now())})
		if again.Status != "Pending" {
			t.Errorf("a new invitation after the old one expired = %+v", again)
		}
	})
}

// TestInvitationWhoseEmailFailsStaysPendingAndResendDelivers: the SMTP
// server refuses the first email for good; the invitation is created all
// the same, Pending, with the message failed and the server's refusal;
// POST .../message sends it again, and the invitation then shows it sent.
func TestInvitationWhoseEmailFailsStaysPendingAndResendDelivers(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		sink := startSink(t)
		var refused atomic.Int32
		sink.FailRecipients(func(string) *smtp.SMTPError {
			if refused.Add(1) == 1 {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
			}
			return nil
		})
		createConnector(t, a, "smtp", smtpConfig(sink))
		o := newOrg(t, a, map[string]any{"name": "Acme"})
		inv := invite(t, a, map[string]any{"invitee": "dana@example.com", "organizationId": o.ID, "expiresAt": inAnHour(time.Now()),
			"messagePayload": map[string]any{"link": "https://app.example.com/join"}})
		if inv.Status != "Pending" || inv.Message == nil || inv.Message.Status != "failed" || !strings.Contains(deref(inv.Message.Error), "mailbox unavailable") {
			t.Fatalf("invitation whose email was refused = %+v", inv)
		}
		if n := len(sink.To("dana@example.com")); n != 0 {
			t.Fatalf("the sink kept %d messages after refusing", n)
		}
		a.JSON("POST", "/api/organization-invitations/"+inv.ID+"/message", map[string]any{"link": "https://app.example.com/join"}, http.StatusNoContent, nil)
		var got invitation
		a.JSON("GET", "/api/organization-invitations/"+inv.ID, nil, http.StatusOK, &got)
		if got.Status != "Pending" || got.Message == nil || got.Message.Status != "sent" || got.Message.ID == inv.Message.ID {
			t.Errorf("after the resend = %+v, want a new message, sent", got)
		}
		if got := sink.To("dana@example.com"); len(got) != 1 || !strings.Contains(string(got[0].Raw), "https://app.example.com/join") {
			t.Errorf("the sink got %d messages for the invitee, want one with the link", len(got))
		}
	})
}
