package api_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
)

// userRoleSummary is a User role as GET /api/roles lists it.
type userRoleSummary struct {
	ID            string `json:"id"`
	Type          string `json:"type"`
	UsersCount    int    `json:"usersCount"`
	FeaturedUsers []struct {
		ID   string  `json:"id"`
		Name *string `json:"name"`
	} `json:"featuredUsers"`
}

// adminRole reads the built-in admin role from the role list.
func adminRole(t *testing.T, a *apptest.App) userRoleSummary {
	t.Helper()
	var roles []userRoleSummary
	a.JSON("GET", "/api/roles?type=User", nil, http.StatusOK, &roles)
	for _, r := range roles {
		if r.ID == apps.AdminRoleID {
			return r
		}
	}
	t.Fatalf("GET /api/roles?type=User has no %s role: %+v", apps.AdminRoleID, roles)
	return userRoleSummary{}
}

func TestAUserIsGivenAndLosesTheAdminRoleAsLogtosUserRoleRoutes(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var u user
		a.JSON("POST", "/api/users", map[string]any{"primaryEmail": "ada@example.com", "name": "Ada"}, http.StatusOK, &u)
		roles := func() []string {
			t.Helper()
			resp, b := a.Request("GET", "/api/users/"+u.ID+"/roles", http.Header{"Authorization": {"Bearer " + a.AdminKey}}, nil)
			var list []struct{ ID, Type string }
			if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &list) != nil {
				t.Fatalf("GET the user's roles: %d %s", resp.StatusCode, b)
			}
			var ids []string
			for _, r := range list {
				ids = append(ids, r.ID)
			}
			if got, want := resp.Header.Get("Total-Number"), strconv.Itoa(len(ids)); got != want {
				t.Errorf("Total-Number %q, want %q", got, want)
			}
			return ids
		}
		if got := roles(); len(got) != 0 {
			t.Fatalf("a new user holds %v", got)
		}
		a.JSON("POST", "/api/users/"+u.ID+"/roles", map[string]any{"roleIds": []string{apps.AdminRoleID}}, http.StatusCreated, nil)
		a.JSON("POST", "/api/users/"+u.ID+"/roles", map[string]any{"roleIds": []string{apps.AdminRoleID, apps.AdminRoleID}}, http.StatusCreated, nil)
		if got := roles(); len(got) != 1 || got[0] != apps.AdminRoleID {
			t.Fatalf("after two assignments the user holds %v", got)
		}
		if r := adminRole(t, a); r.UsersCount != 1 || len(r.FeaturedUsers) != 1 || r.FeaturedUsers[0].ID != u.ID || deref(r.FeaturedUsers[0].Name) != "Ada" {
			t.Errorf("the role list after the assignment: %+v", r)
		}
		a.JSON("DELETE", "/api/users/"+u.ID+"/roles/"+apps.AdminRoleID, nil, http.StatusNoContent, nil)
		if got := roles(); len(got) != 0 {
			t.Fatalf("after the removal the user holds %v", got)
		}
		a.WantError("DELETE", "/api/users/"+u.ID+"/roles/"+apps.AdminRoleID, nil, http.StatusNotFound, "entity.not_found")
		a.JSON("PUT", "/api/users/"+u.ID+"/roles", map[string]any{"roleIds": []string{apps.AdminRoleID}}, http.StatusOK, nil)
		if got := roles(); len(got) != 1 {
			t.Fatalf("after PUT the user holds %v", got)
		}
		// Deleting the user takes its roles with it.
		a.JSON("DELETE", "/api/users/"+u.ID, nil, http.StatusNoContent, nil)
		if r := adminRole(t, a); r.UsersCount != 0 || len(r.FeaturedUsers) != 0 {
			t.Errorf("the role list after the user's deletion: %+v", r)
		}
	})
}

func TestUserRoleRoutesRefuseWhatLogtoRefuses(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var u user
		a.JSON("POST", "/api/users", map[string]any{"primaryEmail": "bob@example.com"}, http.StatusOK, &u)
		path := "/api/users/" + u.ID + "/roles"
		a.WantError("POST", path, map[string]any{"roleIds": []string{apps.ManagementRoleID}}, http.StatusUnprocessableEntity, "user.invalid_role_type")
		a.WantError("PUT", path, map[string]any{"roleIds": []string{apps.AdminRoleID, apps.ManagementRoleID}}, http.StatusUnprocessableEntity, "user.invalid_role_type")
		e := a.WantError("POST", path, map[string]any{"roleIds": []string{"nosuchrole"}}, http.StatusNotFound, "entity.not_exists_with_id")
		if string(e.Data) != `{"id":"nosuchrole","name":"roles"}` {
			t.Errorf("data %s", e.Data)
		}
		a.WantError("POST", path, map[string]any{"roleIds": []string{}}, http.StatusBadRequest, "guard.invalid_input")
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/users/nosuch/roles", nil},
			{"POST", "/api/users/nosuch/roles", map[string]any{"roleIds": []string{apps.AdminRoleID}}},
			{"PUT", "/api/users/nosuch/roles", map[string]any{"roleIds": []string{apps.AdminRoleID}}},
			{"DELETE", "/api/users/nosuch/roles/" + apps.AdminRoleID, nil},
		} {
			e := a.WantError(c.method, c.path, c.body, http.StatusNotFound, "entity.not_exists_with_id")
			if string(e.Data) != `{"id":"nosuch","name":"users"}` {
				t.Errorf("%s %s: data %s", c.method, c.path, e.Data)
			}
		}
		// A refused change leaves the roles as they were.
		var held []struct{ ID string }
		a.JSON("GET", path, nil, http.StatusOK, &held)
		if len(held) != 0 {
			t.Errorf("after refused changes the user holds %+v", held)
		}
	})
}
