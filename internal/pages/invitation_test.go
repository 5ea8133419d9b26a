package pages_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/app/apptest"
)

// invitedOrg makes an organization (with returnURL as its
// invitationReturnUrl when not "") and a role, and invites invitee with an
// email that links to the hosted accept page; it returns the
// organization's and the invitation's IDs and the link's path.
func invitedOrg(t *testing.T, a *apptest.App, returnURL, invitee string) (orgID, roleID, invitationID, path string) {
	t.Helper()
	body := map[string]any{"name": "Acme Rockets"}
	if returnURL != "" {
		body["customData"] = map[string]any{"invitationReturnUrl": returnURL}
	}
	var org, role, inv struct{ ID string }
	a.JSON("POST", "/api/organizations", body, http.StatusCreated, &org)
	a.JSON("POST", "/api/organization-roles", map[string]any{"name": "editor of " + invitee}, http.StatusCreated, &role)
	a.JSON("POST", "/api/organization-invitations", map[string]any{"invitee": invitee, "organizationId": org.ID,
		"expiresAt": time.Now().Add(24 * time.Hour).UnixMilli(), "organizationRoleIds": []string{role.ID}, "messagePayload": map[string]any{}},
		http.StatusCreated, &inv)
	return org.ID, role.ID, inv.ID, acceptPath(t, a, invitee)
}

// acceptPath is the path of the newest invitation link mailed to to.
func acceptPath(t *testing.T, a *apptest.App, to string) string {
	t.Helper()
	var msgs []inboxMessage
	a.JSON("GET", "/api/dev-inbox/messages?to="+url.QueryEscape(to), nil, http.StatusOK, &msgs)
	for _, m := range msgs {
		if link, _ := m.Payload["link"].(string); link != "" {
			u, err := url.Parse(link)
			if err != nil || u.Scheme+"://"+u.Host != a.BaseURL || !strings.HasPrefix(u.Path, "/invitation/accept/") {
				t.Fatalf("invitation link = %q, want this server's accept page", link)
			}
			return u.Path
		}
	}
	t.Fatalf("no invitation link in the dev inbox for %s", to)
	return ""
}

// invitationState is an invitation as the management API reads it.
type invitationState struct {
	Status         string  `json:"status"`
	AcceptedUserID *string `json:"acceptedUserId"`
}

// TestInviteeAcceptsOnTheHostedPageWithPlainForms: with no JavaScript the
// invitee opens the emailed link, asks for a code, is refused a wrong
// one, enters the one from the mail and goes to the organization's return
// URL as a new member (a new account with the invited address) holding
// the invitation's role; the link then no longer works.
func TestInviteeAcceptsOnTheHostedPageWithPlainForms(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a := apptest.New(t, dbURL)
		const invitee = "dana@example.com"
		orgID, roleID, invID, path := invitedOrg(t, a, "https://app.example.com/welcome", "Dana@Example.com")
		v := newVisitor(t, a)
		page := v.get(path)
		if page.StatusCode != http.StatusOK || !strings.Contains(text(page.doc), "Acme Rockets") || !strings.Contains(text(page.doc), invitee) {
			t.Fatalf("GET the accept page: %d %q", page.StatusCode, text(page.doc))
		}
		r := v.submit(page.form(t, path+"/send"))
		wantRedirect(t, r, path+"/code")
		page = v.follow(r)
		code := nthCode(t, a, invitee, 1)
		r = v.submit(page.form(t, path+"/code"), "code", wrongCode(code))
		if r.StatusCode != http.StatusBadRequest || fieldError(t, r, "code") == "" {
			t.Fatalf("a wrong code: %d %q", r.StatusCode, r.alert())
		}
		r = v.submit(r.form(t, path+"/code"), "code", code)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "https://app.example.com/welcome" {
			t.Fatalf("the right code: %d to %q, page says %q", r.StatusCode, r.Header.Get("Location"), r.alert())
		}
		var inv invitationState
		a.JSON("GET", "/api/organization-invitations/"+invID, nil, http.StatusOK, &inv)
		var users []struct {
			ID           string `json:"id"`
			PrimaryEmail string `json:"primaryEmail"`
		}
		a.JSON("GET", "/api/users?search="+invitee, nil, http.StatusOK, &users)
		if inv.Status != "Accepted" || len(users) != 1 || inv.AcceptedUserID == nil || *inv.AcceptedUserID != users[0].ID {
			t.Fatalf("invitation %+v, users %+v: want Accepted by the new account", inv, users)
		}
		var roles []struct{ ID string }
		a.JSON("GET", "/api/organizations/"+orgID+"/users/"+users[0].ID+"/roles", nil, http.StatusOK, &roles)
		if len(roles) != 1 || roles[0].ID != roleID {
			t.Errorf("the new member holds %+v, want the invitation's role", roles)
		}
		if again := v.get(path); again.StatusCode != http.StatusNotFound || !strings.Contains(again.alert(), "no longer valid") {
			t.Errorf("the used link: %d %q, want 404 saying it is no longer valid", again.StatusCode, again.alert())
		}
	})
}

// TestAcceptLinksStopWorkingWhenRevokedExpiredOrReplaced: a revoked
// invitation's link, an expired one's and one replaced by a resend answer
// the same 404 as a link no invitation has; the resent link works for an
// existing account (a sign-in code), and without a return URL the page
// says the invitee joined. A form posted without the page's CSRF token
// does nothing, and no log line shows the token.
func TestAcceptLinksStopWorkingWhenRevokedExpiredOrReplaced(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		v := newVisitor(t, a)
		invalid := func(what, path string) {
			t.Helper()
			if r := v.get(path); r.StatusCode != http.StatusNotFound || !strings.Contains(r.alert(), "no longer valid") {
				t.Errorf("%s: %d %q, want 404 saying the link is no longer valid", what, r.StatusCode, r.alert())
			}
		}
		invalid("a link no invitation has", "/invitation/accept/not-a-token")

		_, _, invID, path := invitedOrg(t, a, "", "erin@example.com")
		a.JSON("PUT", "/api/organization-invitations/"+invID+"/status", map[string]any{"status": "Revoked"}, http.StatusOK, nil)
		invalid("a revoked invitation's link", path)

		var user struct{ ID string }
		a.JSON("POST", "/api/users", map[string]any{"primaryEmail": "fay@example.com"}, http.StatusOK, &user)
		var org struct{ ID string }
		a.JSON("POST", "/api/organizations", map[string]any{"name": "Beta"}, http.StatusCreated, &org)
		var inv struct{ ID string }
		a.JSON("POST", "/api/organization-invitations", map[string]any{"invitee": "fay@example.com", "organizationId": org.ID,
			"expiresAt": clock.Now().Add(time.Hour).UnixMilli(), "messagePayload": map[string]any{}}, http.StatusCreated, &inv)
		first := acceptPath(t, a, "fay@example.com")
		a.JSON("POST", "/api/organization-invitations/"+inv.ID+"/message", map[string]any{}, http.StatusNoContent, nil)
		second := acceptPath(t, a, "fay@example.com")
		if second == first {
			t.Fatal("the resend mailed the same accept link")
		}
		invalid("a link a resend replaced", first)

		page := v.get(second)
		if r := v.post(second+"/send", url.Values{}); r.StatusCode != http.StatusForbidden {
			t.Errorf("a form without the CSRF token: %d, want 403", r.StatusCode)
		}
		if token := strings.TrimPrefix(second, "/invitation/accept/"); strings.Contains(a.Logs(), token) {
			t.Errorf("the log shows an accept token")
		}
		page = v.follow(v.submit(page.form(t, second+"/send")))
		r := v.submit(page.form(t, second+"/code"), "code", nthCode(t, a, "fay@example.com", 1))
		if r.StatusCode != http.StatusOK || !strings.Contains(text(r.doc), "You are now a member of Beta") {
			t.Fatalf("accepting without a return URL: %d %q", r.StatusCode, text(r.doc))
		}
		var accepted invitationState
		a.JSON("GET", "/api/organization-invitations/"+inv.ID, nil, http.StatusOK, &accepted)
		if accepted.Status != "Accepted" || accepted.AcceptedUserID == nil || *accepted.AcceptedUserID != user.ID {
			t.Errorf("invitation = %+v, want Accepted by the existing account %s", accepted, user.ID)
		}

		_, _, _, later := invitedOrg(t, a, "", "gus@example.com")
		clock.Advance(25 * time.Hour)
		invalid("an expired invitation's link", later)
	})
}
