package api_test

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

// organization is Logto's organization object as the routes answer it.
type organization struct {
	TenantID      string         `json:"tenantId"`
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Description   *string        `json:"description"`
	CustomData    map[string]any `json:"customData"`
	IsMfaRequired bool           `json:"isMfaRequired"`
	CreatedAt     int64          `json:"createdAt"`
}

// orgRole is an organization role as the routes answer it.
type orgRole struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Type        string  `json:"type"`
}

// member is a member as GET /api/organizations/{id}/users lists them.
type member struct {
	user
	OrganizationRoles []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"organizationRoles"`
}

func newOrg(t *testing.T, a *apptest.App, body map[string]any) organization {
	t.Helper()
	var o organization
	a.JSON("POST", "/api/organizations", body, http.StatusCreated, &o)
	return o
}

func newUser(t *testing.T, a *apptest.App, email string) user {
	t.Helper()
	var u user
	a.JSON("POST", "/api/users", map[string]any{"primaryEmail": email}, http.StatusOK, &u)
	return u
}

func newRole(t *testing.T, a *apptest.App, name string) orgRole {
	t.Helper()
	var r orgRole
	a.JSON("POST", "/api/organization-roles", map[string]any{"name": name}, http.StatusCreated, &r)
	return r
}

// TestOrganizationsAreCreatedListedChangedAndDeletedAsLogtos: an
// organization reads back as created, a change keeps what it leaves out
// and clears what it sets to null, the list pages newest first with
// Total-Number and searches by name, and a deleted one is 404
// entity.not_exists_with_id.
func TestOrganizationsAreCreatedListedChangedAndDeletedAsLogtos(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		o := newOrg(t, a, map[string]any{"name": "Acme", "description": "Rockets", "customData": map[string]any{"plan": "pro"}})
		if len(o.ID) != 12 || o.TenantID != "default" || o.Name != "Acme" || deref(o.Description) != "Rockets" || o.CustomData["plan"] != "pro" || o.CreatedAt == 0 {
			t.Fatalf("created organization = %+v", o)
		}
		var got organization
		a.JSON("GET", "/api/organizations/"+o.ID, nil, http.StatusOK, &got)
		if !reflect.DeepEqual(got, o) {
			t.Errorf("GET = %+v, want %+v", got, o)
		}
		var patched organization
		a.JSON("PATCH", "/api/organizations/"+o.ID, map[string]any{"description": nil, "isMfaRequired": true}, http.StatusOK, &patched)
		if patched.Name != "Acme" || patched.Description != nil || !patched.IsMfaRequired || patched.CustomData["plan"] != "pro" {
			t.Errorf("patched organization = %+v", patched)
		}
		for i := range 4 {
			newOrg(t, a, map[string]any{"name": fmt.Sprintf("Team %d", i)})
		}
		var page []organization
		resp, b := a.Request("GET", "/api/organizations?page=1&page_size=2", http.Header{"Authorization": {"Bearer " + a.AdminKey}}, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Total-Number") != "5" {
			t.Fatalf("first page: %d, Total-Number %q: %s", resp.StatusCode, resp.Header.Get("Total-Number"), b)
		}
		a.JSON("GET", "/api/organizations?page=3&page_size=2", nil, http.StatusOK, &page)
		if len(page) != 1 || page[0].ID != o.ID {
			t.Errorf("the last page = %+v, want the oldest organization only", page)
		}
		// IDs are lower-case base32: "acm" may turn up in one by chance, a
		// whole "acme" practically never.
		a.JSON("GET", "/api/organizations?q=ACME", nil, http.StatusOK, &page)
		if len(page) != 1 || page[0].ID != o.ID {
			t.Errorf("q=ACME found %+v, want Acme only", page)
		}
		a.WantError("GET", "/api/organizations?page=0", nil, http.StatusBadRequest, "guard.invalid_pagination")
		a.WantError("POST", "/api/organizations", map[string]any{"description": "no name"}, http.StatusBadRequest, "guard.invalid_input")
		a.WantError("POST", "/api/organizations", map[string]any{"name": "x", "customData": map[string]any{"invitationReturnUrl": "http://example.com/"}},
			http.StatusBadRequest, "guard.invalid_input")
		a.WantError("PATCH", "/api/organizations/"+o.ID, map[string]any{"name": nil}, http.StatusBadRequest, "guard.invalid_input")
		a.JSON("DELETE", "/api/organizations/"+o.ID, nil, http.StatusNoContent, nil)
		a.WantError("GET", "/api/organizations/"+o.ID, nil, http.StatusNotFound, "entity.not_exists_with_id")
		a.WantError("DELETE", "/api/organizations/"+o.ID, nil, http.StatusNotFound, "entity.not_exists_with_id")
		a.WantError("PATCH", "/api/organizations/"+o.ID, map[string]any{"name": "x"}, http.StatusNotFound, "entity.not_exists_with_id")
	})
}

// TestOrganizationRolesHaveUniqueNames: roles are created, read, renamed
// and deleted; a name another role has is 422
// entity.unique_integrity_violation; the list is by name with
// Total-Number.
func TestOrganizationRolesHaveUniqueNames(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		admin := newRole(t, a, "admin")
		if admin.Type != "User" || len(admin.ID) != 21 {
			t.Fatalf("created role = %+v", admin)
		}
		var m2m orgRole
		a.JSON("POST", "/api/organization-roles", map[string]any{"name": "bot", "type": "MachineToMachine", "description": "Robots"}, http.StatusCreated, &m2m)
		if m2m.Type != "MachineToMachine" || deref(m2m.Description) != "Robots" {
			t.Errorf("created role = %+v", m2m)
		}
		a.WantError("POST", "/api/organization-roles", map[string]any{"name": "admin"}, http.StatusUnprocessableEntity, "entity.unique_integrity_violation")
		a.WantError("POST", "/api/organization-roles", map[string]any{"name": "x", "type": "Robot"}, http.StatusBadRequest, "guard.invalid_input")
		a.WantError("PATCH", "/api/organization-roles/"+m2m.ID, map[string]any{"name": "admin"}, http.StatusUnprocessableEntity, "entity.unique_integrity_violation")
		var renamed orgRole
		a.JSON("PATCH", "/api/organization-roles/"+m2m.ID, map[string]any{"name": "robot", "description": nil}, http.StatusOK, &renamed)
		if renamed.Name != "robot" || renamed.Description != nil || renamed.Type != "MachineToMachine" {
			t.Errorf("renamed role = %+v", renamed)
		}
		var list []orgRole
		resp, _ := a.Request("GET", "/api/organization-roles", http.Header{"Authorization": {"Bearer " + a.AdminKey}}, nil)
		if resp.Header.Get("Total-Number") != "2" {
			t.Errorf("Total-Number = %q, want 2", resp.Header.Get("Total-Number"))
		}
		a.JSON("GET", "/api/organization-roles?q=rob", nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].ID != m2m.ID {
			t.Errorf("q=rob found %+v", list)
		}
		a.JSON("DELETE", "/api/organization-roles/"+m2m.ID, nil, http.StatusNoContent, nil)
		a.WantError("GET", "/api/organization-roles/"+m2m.ID, nil, http.StatusNotFound, "entity.not_exists_with_id")
		a.JSON("GET", "/api/organization-roles/"+admin.ID, nil, http.StatusOK, nil)
	})
}

// TestMembersHoldOrganizationRoles: users are added to an organization,
// listed with their roles, given roles by ID and by name, have them
// replaced and taken away, and removed; roles need a membership, unknown
// users and roles are refused with Logto's codes, and deleting a user or a
// role ends what they had.
func TestMembersHoldOrganizationRoles(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		o := newOrg(t, a, map[string]any{"name": "Acme"})
		alice, bob, carol := newUser(t, a, "alice@example.com"), newUser(t, a, "bob@example.com"), newUser(t, a, "carol@example.com")
		admin, viewer := newRole(t, a, "admin"), newRole(t, a, "viewer")
		base := "/api/organizations/" + o.ID + "/users"

		var added map[string][]string
		a.JSON("POST", base, map[string]any{"userIds": []string{alice.ID, bob.ID, alice.ID}}, http.StatusCreated, &added)
		a.WantError("POST", base, map[string]any{"userIds": []string{"nosuchuser"}}, http.StatusUnprocessableEntity, "entity.relation_foreign_key_not_found")
		a.WantError("POST", "/api/organizations/nosuchorg/users", map[string]any{"userIds": []string{alice.ID}}, http.StatusNotFound, "entity.not_exists_with_id")

		var assigned map[string][]string
		a.JSON("POST", base+"/"+alice.ID+"/roles", map[string]any{"organizationRoleIds": []string{admin.ID}, "organizationRoleNames": []string{"viewer"}},
			http.StatusCreated, &assigned)
		if got := assigned["organizationRoleIds"]; !slices.Equal(got, []string{admin.ID, viewer.ID}) {
			t.Errorf("assigned = %v, want admin and viewer", got)
		}
		a.WantError("POST", base+"/"+alice.ID+"/roles", map[string]any{"organizationRoleNames": []string{"owner"}}, http.StatusUnprocessableEntity, "organization.role_names_not_found")
		a.WantError("POST", base+"/"+alice.ID+"/roles", map[string]any{"organizationRoleIds": []string{"nosuchrole"}}, http.StatusUnprocessableEntity, "entity.relation_foreign_key_not_found")
		a.WantError("POST", base+"/"+carol.ID+"/roles", map[string]any{"organizationRoleIds": []string{admin.ID}}, http.StatusUnprocessableEntity, "organization.require_membership")
		a.WantError("GET", base+"/"+carol.ID+"/roles", nil, http.StatusUnprocessableEntity, "organization.require_membership")

		var members []member
		resp, _ := a.Request("GET", base+"?q=alice", http.Header{"Authorization": {"Bearer " + a.AdminKey}}, nil)
		if resp.Header.Get("Total-Number") != "1" {
			t.Errorf("q=alice: Total-Number %q, want 1", resp.Header.Get("Total-Number"))
		}
		a.JSON("GET", base, nil, http.StatusOK, &members)
		if len(members) != 2 {
			t.Fatalf("members = %+v, want alice and bob", members)
		}
		for _, m := range members {
			want := 0
			if m.ID == alice.ID {
				want = 2
			}
			if len(m.OrganizationRoles) != want {
				t.Errorf("member %s holds %+v, want %d roles", deref(m.PrimaryEmail), m.OrganizationRoles, want)
			}
		}

		a.JSON("PUT", base+"/"+alice.ID+"/roles", map[string]any{"organizationRoleIds": []string{viewer.ID}}, http.StatusNoContent, nil)
		var roles []orgRole
		a.JSON("GET", base+"/"+alice.ID+"/roles", nil, http.StatusOK, &roles)
		if len(roles) != 1 || roles[0].ID != viewer.ID {
			t.Errorf("after PUT alice holds %+v, want viewer only", roles)
		}
		a.JSON("DELETE", base+"/"+alice.ID+"/roles/"+viewer.ID, nil, http.StatusNoContent, nil)
		a.WantError("DELETE", base+"/"+alice.ID+"/roles/"+viewer.ID, nil, http.StatusNotFound, "entity.not_found")

		// A deleted role leaves the members who held it.
		a.JSON("POST", base+"/"+bob.ID+"/roles", map[string]any{"organizationRoleIds": []string{admin.ID}}, http.StatusCreated, nil)
		a.JSON("DELETE", "/api/organization-roles/"+admin.ID, nil, http.StatusNoContent, nil)
		a.JSON("GET", base+"/"+bob.ID+"/roles", nil, http.StatusOK, &roles)
		if len(roles) != 0 {
			t.Errorf("bob holds %+v after the role was deleted", roles)
		}

		a.JSON("DELETE", base+"/"+bob.ID, nil, http.StatusNoContent, nil)
		a.WantError("DELETE", base+"/"+bob.ID, nil, http.StatusUnprocessableEntity, "organization.require_membership")
		// A deleted user is no longer a member.
		a.JSON("DELETE", "/api/users/"+alice.ID, nil, http.StatusNoContent, nil)
		a.JSON("GET", base, nil, http.StatusOK, &members)
		if len(members) != 0 {
			t.Errorf("members after removing bob and deleting alice = %+v", members)
		}
	})
}

// TestMembersAreReplacedGivenRolesInBulkAndListedByUser: PUT replaces an
// organization's members, POST .../users/roles gives several members
// several roles (a user who is not a member is 422
// entity.relation_foreign_key_not_found), the member list filters by
// role, and GET /api/users/{userId}/organizations lists a user's
// organizations with the roles held in each.
func TestMembersAreReplacedGivenRolesInBulkAndListedByUser(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		o, other := newOrg(t, a, map[string]any{"name": "Acme"}), newOrg(t, a, map[string]any{"name": "Beta"})
		ann, ben, cat := newUser(t, a, "ann@example.com"), newUser(t, a, "ben@example.com"), newUser(t, a, "cat@example.com")
		admin := newRole(t, a, "admin")
		base := "/api/organizations/" + o.ID + "/users"
		a.JSON("POST", base, map[string]any{"userIds": []string{ann.ID, ben.ID}}, http.StatusCreated, nil)
		a.JSON("PUT", base, map[string]any{"userIds": []string{ben.ID, cat.ID}}, http.StatusNoContent, nil)
		var members []member
		a.JSON("GET", base, nil, http.StatusOK, &members)
		var ids []string
		for _, m := range members {
			ids = append(ids, m.ID)
		}
		slices.Sort(ids)
		want := []string{ben.ID, cat.ID}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("members after PUT = %v, want ben and cat", ids)
		}
		a.WantError("POST", base+"/roles", map[string]any{"userIds": []string{ann.ID}, "organizationRoleIds": []string{admin.ID}},
			http.StatusUnprocessableEntity, "entity.relation_foreign_key_not_found")
		a.JSON("POST", base+"/roles", map[string]any{"userIds": []string{ben.ID}, "organizationRoleIds": []string{admin.ID}}, http.StatusCreated, nil)
		a.JSON("GET", base+"?organizationRoleId="+admin.ID, nil, http.StatusOK, &members)
		if len(members) != 1 || members[0].ID != ben.ID {
			t.Errorf("members holding admin = %+v, want ben", members)
		}
		a.JSON("POST", "/api/organizations/"+other.ID+"/users", map[string]any{"userIds": []string{ben.ID}}, http.StatusCreated, nil)
		var orgsOfBen []struct {
			organization
			OrganizationRoles []struct{ ID, Name string } `json:"organizationRoles"`
		}
		a.JSON("GET", "/api/users/"+ben.ID+"/organizations", nil, http.StatusOK, &orgsOfBen)
		if len(orgsOfBen) != 2 || orgsOfBen[0].ID != o.ID || len(orgsOfBen[0].OrganizationRoles) != 1 || orgsOfBen[0].OrganizationRoles[0].Name != "admin" ||
			orgsOfBen[1].ID != other.ID || len(orgsOfBen[1].OrganizationRoles) != 0 {
			t.Errorf("ben's organizations = %+v, want Acme (admin) and Beta", orgsOfBen)
		}
		a.WantError("GET", "/api/users/nosuchuser/organizations", nil, http.StatusNotFound, "entity.not_exists_with_id")
	})
}
