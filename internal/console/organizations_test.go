package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

// TestOrganizationsAreCreatedGivenMembersAndRoles: an organization and
// an organization role are created in the console (a nameless one is
// refused next to its field); the list finds the organization by search;
// a user added by email address becomes a member (an unknown address or
// ID is refused next to the field), is given the role and has it taken
// away, and is removed, as the management API then reads it.
func TestOrganizationsAreCreatedGivenMembersAndRoles(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var ann struct {
			ID string `json:"id"`
		}
		a.JSON("POST", "/api/users", map[string]any{"primaryEmail": "ann@example.com"}, http.StatusOK, &ann)
		v := signedIn(t, a)

		roles := v.get("/console/organization-roles")
		if r := v.submit(roles, "/console/organization-roles", "", map[string]string{"name": " "}); r.StatusCode != http.StatusBadRequest || r.fieldError("role-name") == "" {
			t.Fatalf("a nameless role: %d %q", r.StatusCode, r.fieldError("role-name"))
		}
		if r := v.submit(roles, "/console/organization-roles", "", map[string]string{"name": "editor", "description": "Edits"}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("creating a role: %d %s", r.StatusCode, r.alert())
		}
		if r := v.submit(roles, "/console/organization-roles", "", map[string]string{"name": "editor"}); r.StatusCode != http.StatusBadRequest || r.fieldError("role-name") == "" {
			t.Fatalf("a second role named editor: %d %q", r.StatusCode, r.fieldError("role-name"))
		}
		if got := v.get("/console/organization-roles"); !strings.Contains(got.body, "Edits") {
			t.Fatal("the roles page does not list the new role")
		}

		list := v.get("/console/organizations")
		if r := v.submit(list, "/console/organizations", "", map[string]string{"name": ""}); r.StatusCode != http.StatusBadRequest || r.fieldError("org-name") == "" {
			t.Fatalf("a nameless organization: %d %q", r.StatusCode, r.fieldError("org-name"))
		}
		r := v.submit(list, "/console/organizations", "", map[string]string{"name": "Acme Rockets", "description": "Rockets"})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("creating an organization: %d %s", r.StatusCode, r.alert())
		}
		v.submit(list, "/console/organizations", "", map[string]string{"name": "Globex"})
		orgPage := strings.Split(r.Header.Get("Location"), "?")[0]
		orgID := strings.TrimPrefix(orgPage, "/console/organizations/")
		org := v.get(r.Header.Get("Location"))
		if org.h1() != "Acme Rockets" || !strings.Contains(org.body, "The organization is created.") {
			t.Fatalf("the new organization's page: %q", org.h1())
		}
		// The search holds a space, which no ID does.
		if found := v.get("/console/organizations?search=me+ro"); found.byIDText("org-total") != "Organizations found: 1" || find(found.doc, byID("org-"+orgID)) == nil {
			t.Fatalf("search for \"me ro\": %q", found.byIDText("org-total"))
		}

		r = v.submit(org, orgPage+"/members", "", map[string]string{"user": "nobody@example.com"})
		if r.StatusCode != http.StatusBadRequest || r.fieldError("member-user") != "No user has this email address." || r.value("member-user") != "nobody@example.com" {
			t.Fatalf("an unknown address: %d %q", r.StatusCode, r.fieldError("member-user"))
		}
		r = v.submit(org, orgPage+"/members", "", map[string]string{"user": "no-such-id"})
		if r.StatusCode != http.StatusBadRequest || r.fieldError("member-user") != "No user has this ID." {
			t.Fatalf("an unknown ID: %d %q", r.StatusCode, r.fieldError("member-user"))
		}
		r = v.submit(org, orgPage+"/members", "", map[string]string{"user": "ANN@example.com"})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("adding ann: %d %s", r.StatusCode, r.alert())
		}
		org = v.get(orgPage)
		if org.byIDText("member-total") != "Members: 1" || find(org.doc, byID("member-"+ann.ID)) == nil {
			t.Fatalf("after adding ann: %q", org.byIDText("member-total"))
		}

		memberPath := orgPage + "/members/" + ann.ID
		if r := v.submit(org, memberPath+"/roles", "", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("giving the role: %d %s", r.StatusCode, r.alert())
		}
		var held []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		a.JSON("GET", "/api/organizations/"+orgID+"/users/"+ann.ID+"/roles", nil, http.StatusOK, &held)
		if len(held) != 1 || held[0].Name != "editor" {
			t.Fatalf("ann's roles after giving editor: %+v", held)
		}
		org = v.get(orgPage)
		if !strings.Contains(org.byIDText("member-"+ann.ID), "editor") || find(org.doc, byID("give-"+ann.ID)) != nil {
			t.Fatalf("the member row after giving the only role: %q", org.byIDText("member-"+ann.ID))
		}
		if r := v.submit(org, memberPath+"/roles/"+held[0].ID+"/remove", "", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("taking the role: %d %s", r.StatusCode, r.alert())
		}
		a.JSON("GET", "/api/organizations/"+orgID+"/users/"+ann.ID+"/roles", nil, http.StatusOK, &held)
		if len(held) != 0 {
			t.Fatalf("ann's roles after taking editor: %+v", held)
		}
		org = v.get(orgPage)
		if r := v.submit(org, memberPath+"/remove", "", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("removing ann: %d %s", r.StatusCode, r.alert())
		}
		var members []map[string]any
		a.JSON("GET", "/api/organizations/"+orgID+"/users", nil, http.StatusOK, &members)
		if len(members) != 0 {
			t.Fatalf("members after removing ann: %v", members)
		}
		if r := v.get("/console/organizations/nothing"); r.StatusCode != http.StatusNotFound {
			t.Fatalf("an unknown organization: %d", r.StatusCode)
		}
	})
}

// TestInvitationsAreSentResentAndRevokedWithTheirDelivery: an address is
// invited with a role; the invitation reads Pending with its email's
// delivery (sent, in the dev inbox with the accept link); an invalid
// address is refused next to the field; sending again mails a second
// email; revoking makes it Revoked, without the buttons.
func TestInvitationsAreSentResentAndRevokedWithTheirDelivery(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var role, org struct {
			ID string `json:"id"`
		}
		a.JSON("POST", "/api/organization-roles", map[string]any{"name": "viewer"}, http.StatusCreated, &role)
		a.JSON("POST", "/api/organizations", map[string]any{"name": "Acme"}, http.StatusCreated, &org)
		v := signedIn(t, a)
		orgPage := "/console/organizations/" + org.ID
		page := v.get(orgPage)
		r := v.submit(page, orgPage+"/invitations", "", map[string]string{"invitee": "not an address", "roleId": role.ID})
		if r.StatusCode != http.StatusBadRequest || r.fieldError("invite-email") == "" || r.value("invite-email") != "not an address" {
			t.Fatalf("an invalid address: %d %q", r.StatusCode, r.fieldError("invite-email"))
		}
		if _, on := attr(find(r.doc, byID("invite-role-"+role.ID)), "checked"); !on {
			t.Fatal("the refused form lost the role checked")
		}
		r = v.submit(page, orgPage+"/invitations", "", map[string]string{"invitee": "Dana@Example.com", "roleId": role.ID})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("inviting: %d %s", r.StatusCode, r.alert())
		}
		var invs []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		a.JSON("GET", "/api/organization-invitations?organizationId="+org.ID, nil, http.StatusOK, &invs)
		if len(invs) != 1 {
			t.Fatalf("invitations after inviting: %+v", invs)
		}
		id := invs[0].ID
		page = v.get(r.Header.Get("Location"))
		if got := page.byIDText("invitation-" + id + "-status"); got != "Pending" {
			t.Fatalf("the new invitation reads %q", got)
		}
		if got := page.byIDText("invitation-" + id + "-delivery"); got != "sent" {
			t.Fatalf("the new invitation's email reads %q", got)
		}
		if !strings.Contains(page.byIDText("invitation-"+id), "viewer") || !strings.Contains(page.body, "The invitation is sent.") {
			t.Fatalf("the invitation row: %q", page.byIDText("invitation-"+id))
		}
		mails := inbox(t, a, "dana@example.com")
		if len(mails) != 1 {
			t.Fatalf("the dev inbox holds %d emails for dana", len(mails))
		}
		link, _ := mails[0]["payload"].(map[string]any)["link"].(string)
		if !strings.Contains(link, "/invitation/accept/") {
			t.Fatalf("the invitation email links to %q", link)
		}

		r = v.submit(page, orgPage+"/invitations/"+id+"/resend", "", nil)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("resending: %d %s", r.StatusCode, r.alert())
		}
		if n := len(inbox(t, a, "dana@example.com")); n != 2 {
			t.Fatalf("after resending the dev inbox holds %d emails for dana, want 2", n)
		}
		page = v.get(r.Header.Get("Location"))
		if !strings.Contains(page.body, "sent again") || page.byIDText("invitation-"+id+"-status") != "Pending" {
			t.Fatalf("after resending: %q", page.byIDText("invitation-"+id+"-status"))
		}

		r = v.submit(page, orgPage+"/invitations/"+id+"/revoke", "", nil)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoking: %d %s", r.StatusCode, r.alert())
		}
		page = v.get(r.Header.Get("Location"))
		if got := page.byIDText("invitation-" + id + "-status"); got != "Revoked" {
			t.Fatalf("the revoked invitation reads %q", got)
		}
		if find(page.doc, byID("revoke-"+id)) != nil || find(page.doc, byID("resend-"+id)) != nil {
			t.Fatal("a revoked invitation still offers resend or revoke")
		}
		a.JSON("GET", "/api/organization-invitations?organizationId="+org.ID, nil, http.StatusOK, &invs)
		if invs[0].Status != "Revoked" {
			t.Fatalf("the API reads the invitation %q", invs[0].Status)
		}
		if r := v.post(orgPage+"/invitations/"+id+"/revoke", map[string][]string{"csrf": {page.csrf()}}); r.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(r.body, "cannot be changed anymore") {
			t.Fatalf("revoking again: %d %s", r.StatusCode, r.alert())
		}
	})
}
