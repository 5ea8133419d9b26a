package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
)

// application is an application as the API answers it.
type application struct {
	ID                 string  `json:"id"`
	Name               string  `json:"name"`
	Description        *string `json:"description"`
	Type               string  `json:"type"`
	Secret             *string `json:"secret"`
	IsAdmin            *bool   `json:"isAdmin"`
	OIDCClientMetadata struct {
		RedirectURIs           []string `json:"redirectUris"`
		PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
	} `json:"oidcClientMetadata"`
	CustomClientMetadata map[string]any `json:"customClientMetadata"`
	CustomData           map[string]any `json:"customData"`
	IsThirdParty         bool           `json:"isThirdParty"`
	CreatedAt            int64          `json:"createdAt"`
}

func createApp(t *testing.T, a *apptest.App, body map[string]any) application {
	t.Helper()
	var out application
	a.JSON("POST", "/api/applications", body, http.StatusOK, &out)
	return out
}

func TestApplicationRoutes(t *testing.T) {
	t.Run("CreateShowsTheSecretOnceAndNoOtherAnswerHasIt", func(t *testing.T) {
		apptest.Run(t, func(t *testing.T, a *apptest.App) {
			var bodies []string
			do := func(method, path string, body any, want int) []byte {
				t.Helper()
				status, b := a.Do(method, path, body)
				if status != want {
					t.Fatalf("%s %s: %d %s, want %d", method, path, status, b, want)
				}
				bodies = append(bodies, string(b))
				return b
			}
			var secrets []string
			var ids []string
			for _, typ := range apps.Types() {
				var app application
				if err := json.Unmarshal(do("POST", "/api/applications", map[string]any{"name": "My " + string(typ), "type": typ,
					"oidcClientMetadata": map[string]any{"redirectUris": []string{"https://app.example.com/cb"}}}, 200), &app); err != nil {
					t.Fatal(err)
				}
				confidential := typ == apps.TypeTraditional || typ == apps.TypeMachineToMachine
				if (app.Secret != nil) != confidential || (confidential && len(*app.Secret) < 32) {
					t.Errorf("%s: secret %v", typ, app.Secret)
				}
				if app.Secret != nil {
					secrets = append(secrets, *app.Secret)
				}
				if app.Type != string(typ) || app.IsThirdParty || app.Description != nil || app.CustomData == nil ||
					!slices.Equal(app.OIDCClientMetadata.RedirectURIs, []string{"https://app.example.com/cb"}) || app.OIDCClientMetadata.PostLogoutRedirectURIs == nil {
					t.Errorf("%s: created %+v", typ, app)
				}
				ids = append(ids, app.ID)
			}
			creates := len(bodies)
			do("GET", "/api/applications", nil, 200)
			do("GET", "/api/applications?page=1&page_size=2", nil, 200)
			for _, id := range ids {
				do("GET", "/api/applications/"+id, nil, 200)
				do("PATCH", "/api/applications/"+id, map[string]any{"name": "Renamed"}, 200)
			}
			if len(secrets) != 2 {
				t.Fatalf("%d secrets, want 2", len(secrets))
			}
			logs := a.Logs()
			for _, secret := range secrets {
				for i, b := range bodies[creates:] {
					if strings.Contains(b, secret) {
						t.Errorf("answer %d after the create holds the secret: %s", i, b)
					}
				}
				if strings.Contains(logs, secret) {
					t.Error("the log holds a client secret")
				}
			}
			// The secret is still the one that authenticates.
			if _, err := a.App.Apps.Authenticate(t.Context(), "default", ids[2], secrets[0]); err != nil {
				t.Errorf("the Traditional app's secret: %v", err)
			}
		})
	})

	t.Run("CreateRefusesBadInputWithTheField", func(t *testing.T) {
		apptest.Run(t, func(t *testing.T, a *apptest.App) {
			for field, body := range map[string]map[string]any{
				"name":                                         {"name": "", "type": "SPA"},
				"type":                                         {"name": "x", "type": "Protected"},
				"isThirdParty":                                 {"name": "x", "type": "SPA", "isThirdParty": true},
				"oidcClientMetadata.redirectUris[0]":           {"name": "x", "type": "SPA", "oidcClientMetadata": map[string]any{"redirectUris": []string{"http://evil.example.com/cb"}}},
				"oidcClientMetadata.redirectUris[1]":           {"name": "x", "type": "Traditional", "oidcClientMetadata": map[string]any{"redirectUris": []string{"https://a.example.com", "myapp://cb"}}},
				"customClientMetadata.idTokenTtl":              {"name": "x", "type": "SPA", "customClientMetadata": map[string]any{"idTokenTtl": 0}},
				"customClientMetadata.unknownSetting":          {"name": "x", "type": "SPA", "customClientMetadata": map[string]any{"unknownSetting": true}},
				"protectedAppMetadata":                         {"name": "x", "type": "SPA", "protectedAppMetadata": map[string]any{}},
				"oidcClientMetadata.postLogoutRedirectUris[0]": {"name": "x", "type": "Native", "oidcClientMetadata": map[string]any{"postLogoutRedirectUris": []string{"javascript:alert(1)"}}},
			} {
				e := a.WantError("POST", "/api/applications", body, http.StatusBadRequest, "guard.invalid_input")
				var data struct{ Field string }
				_ = json.Unmarshal(e.Data, &data)
				if data.Field != field && data.Field != strings.TrimPrefix(field, "customClientMetadata.") {
					t.Errorf("%s: data.field %q (%s)", field, data.Field, e.Message)
				}
			}
			var list []application
			a.JSON("GET", "/api/applications", nil, 200, &list)
			if len(list) != 0 {
				t.Errorf("refused creates stored %d applications", len(list))
			}
		})
	})

	t.Run("ListPagesOnlyWhenAskedAndFiltersByType", func(t *testing.T) {
		apptest.Run(t, func(t *testing.T, a *apptest.App) {
			var ids []string
			for _, typ := range []string{"SPA", "MachineToMachine", "SPA", "Native", "Traditional"} {
				ids = append(ids, createApp(t, a, map[string]any{"name": typ, "type": typ}).ID)
			}
			resp, b := a.Request("GET", "/api/applications", http.Header{"Authorization": {"Bearer " + a.AdminKey}}, nil)
			var all []application
			_ = json.Unmarshal(b, &all)
			if resp.StatusCode != 200 || len(all) != 5 || all[0].ID != ids[4] || resp.Header.Get("Total-Number") != "" {
				t.Errorf("unpaged: %d, %d apps, first %s, Total-Number %q", resp.StatusCode, len(all), all[0].ID, resp.Header.Get("Total-Number"))
			}
			resp, b = a.Request("GET", "/api/applications?page=2&page_size=2&types=SPA&types=Native", http.Header{"Authorization": {"Bearer " + a.AdminKey}}, nil)
			var page []application
			_ = json.Unmarshal(b, &page)
			if resp.StatusCode != 200 || len(page) != 1 || page[0].ID != ids[0] || resp.Header.Get("Total-Number") != "3" {
				t.Errorf("page 2 of SPA and Native: %d %s, Total-Number %q", resp.StatusCode, b, resp.Header.Get("Total-Number"))
			}
			var none []application
			a.JSON("GET", "/api/applications?isThirdParty=true", nil, 200, &none)
			if len(none) != 0 {
				t.Errorf("third-party applications: %d", len(none))
			}
			a.JSON("GET", "/api/applications?isThirdParty=false", nil, 200, &all)
			if len(all) != 5 {
				t.Errorf("first-party applications: %d", len(all))
			}
			for _, q := range []string{"page=0", "page_size=101", "page=x", "page_size=0"} {
				a.WantError("GET", "/api/applications?"+q, nil, http.StatusBadRequest, "guard.invalid_pagination")
			}
		})
	})

	t.Run("PatchChangesWhatItNamesAndRefusesTheRest", func(t *testing.T) {
		apptest.Run(t, func(t *testing.T, a *apptest.App) {
			app := createApp(t, a, map[string]any{"name": "Web", "type": "Traditional", "description": "d",
				"oidcClientMetadata": map[string]any{"redirectUris": []string{"https://a.example.com/cb"}, "postLogoutRedirectUris": []string{"https://a.example.com/"}}})
			var got application
			a.JSON("PATCH", "/api/applications/"+app.ID, map[string]any{"description": nil,
				"oidcClientMetadata":   map[string]any{"redirectUris": []string{"https://b.example.com/cb"}},
				"customClientMetadata": map[string]any{"rotateRefreshToken": false}, "customData": map[string]any{"team": "a"}}, 200, &got)
			if got.Name != "Web" || got.Description != nil || !slices.Equal(got.OIDCClientMetadata.RedirectURIs, []string{"https://b.example.com/cb"}) ||
				!slices.Equal(got.OIDCClientMetadata.PostLogoutRedirectURIs, []string{"https://a.example.com/"}) ||
				got.CustomClientMetadata["rotateRefreshToken"] != false || got.CustomData["team"] != "a" || got.CreatedAt != app.CreatedAt {
				t.Errorf("patched: %+v", got)
			}
			a.WantError("PATCH", "/api/applications/"+app.ID, map[string]any{"name": "x", "oidcClientMetadata": map[string]any{"redirectUris": []string{"nope"}}},
				http.StatusBadRequest, "guard.invalid_input")
			a.WantError("PATCH", "/api/applications/"+app.ID, map[string]any{"type": "SPA"}, http.StatusBadRequest, "guard.invalid_input")
			a.WantError("PATCH", "/api/applications/"+app.ID, map[string]any{"name": nil}, http.StatusBadRequest, "guard.invalid_input")
			a.WantError("PATCH", "/api/applications/"+app.ID, map[string]any{"isAdmin": true}, http.StatusUnprocessableEntity, "application.invalid_type")
			a.JSON("GET", "/api/applications/"+app.ID, nil, 200, &got)
			if got.Name != "Web" || got.IsAdmin == nil || *got.IsAdmin {
				t.Errorf("after refused patches: %+v", got)
			}
		})
	})

	t.Run("AnUnknownApplicationIs404OnEveryRoute", func(t *testing.T) {
		apptest.Run(t, func(t *testing.T, a *apptest.App) {
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"GET", "/api/applications/nosuch", nil},
				{"PATCH", "/api/applications/nosuch", map[string]any{"name": "x"}},
				{"DELETE", "/api/applications/nosuch", nil},
				{"GET", "/api/applications/nosuch/roles", nil},
				{"POST", "/api/applications/nosuch/roles", map[string]any{"roleIds": []string{apps.ManagementRoleID}}},
				{"DELETE", "/api/applications/nosuch/roles/" + apps.ManagementRoleID, nil},
			} {
				e := a.WantError(c.method, c.path, c.body, http.StatusNotFound, "entity.not_exists_with_id")
				if e.Message != "The applications with ID `nosuch` does not exist." {
					t.Errorf("%s %s: %s", c.method, c.path, e.Message)
				}
			}
		})
	})
}

// roleSummary is a role as GET /api/roles lists it.
type roleSummary struct {
	ID                   string `json:"id"`
	Name                 string `json:"name"`
	Type                 string `json:"type"`
	ApplicationsCount    int    `json:"applicationsCount"`
	FeaturedApplications []struct {
		ID string `json:"id"`
	} `json:"featuredApplications"`
}

func TestRoleRoutes(t *testing.T) {
	t.Run("AMachineToMachineAppGetsAndLosesTheManagementRole", func(t *testing.T) {
		apptest.Run(t, func(t *testing.T, a *apptest.App) {
			m2m := createApp(t, a, map[string]any{"name": "Robot", "type": "MachineToMachine"})
			spa := createApp(t, a, map[string]any{"name": "Web", "type": "SPA"})
			var roles []roleSummary
			a.JSON("GET", "/api/roles?type=MachineToMachine", nil, 200, &roles)
			if len(roles) != 1 || roles[0].Name != "Logto Management API access" || roles[0].ApplicationsCount != 0 {
				t.Fatalf("M2M roles: %+v", roles)
			}
			role := roles[0].ID
			var assigned struct{ RoleIDs, AddedRoleIDs []string }
			a.JSON("POST", "/api/applications/"+m2m.ID+"/roles", map[string]any{"roleIds": []string{role}}, http.StatusCreated, &assigned)
			if !slices.Equal(assigned.RoleIDs, []string{role}) || !slices.Equal(assigned.AddedRoleIDs, []string{role}) {
				t.Errorf("assigned: %+v", assigned)
			}
			a.JSON("POST", "/api/applications/"+m2m.ID+"/roles", map[string]any{"roleIds": []string{role}}, http.StatusCreated, &assigned)
			if len(assigned.AddedRoleIDs) != 0 {
				t.Errorf("assigned again: %+v", assigned)
			}
			resp, b := a.Request("GET", "/api/applications/"+m2m.ID+"/roles", http.Header{"Authorization": {"Bearer " + a.AdminKey}}, nil)
			if resp.StatusCode != 200 || !strings.Contains(string(b), `"id":"`+role+`"`) || resp.Header.Get("Total-Number") != "1" {
				t.Errorf("app roles: %d %s %q", resp.StatusCode, b, resp.Header.Get("Total-Number"))
			}
			a.JSON("GET", "/api/roles", nil, 200, &roles)
			if roles[0].ApplicationsCount != 1 || len(roles[0].FeaturedApplications) != 1 || roles[0].FeaturedApplications[0].ID != m2m.ID {
				t.Errorf("role list after the assignment: %+v", roles)
			}
			var detail application
			a.JSON("GET", "/api/applications/"+m2m.ID, nil, 200, &detail)
			if detail.IsAdmin == nil || !*detail.IsAdmin {
				t.Errorf("isAdmin after the assignment: %v", detail.IsAdmin)
			}

			a.WantError("POST", "/api/applications/"+spa.ID+"/roles", map[string]any{"roleIds": []string{role}}, http.StatusUnprocessableEntity, "application.invalid_type")
			a.WantError("GET", "/api/applications/"+spa.ID+"/roles", nil, http.StatusUnprocessableEntity, "application.invalid_type")
			a.WantError("DELETE", "/api/applications/"+spa.ID+"/roles/"+role, nil, http.StatusUnprocessableEntity, "application.invalid_type")
			e := a.WantError("POST", "/api/applications/"+m2m.ID+"/roles", map[string]any{"roleIds": []string{role, "nosuchrole"}}, http.StatusNotFound, "entity.not_exists_with_id")
			if !strings.Contains(e.Message, "nosuchrole") {
				t.Errorf("unknown role: %s", e.Message)
			}
			a.WantError("POST", "/api/applications/"+m2m.ID+"/roles", map[string]any{"roleIds": []string{""}}, http.StatusBadRequest, "guard.invalid_input")
			a.WantError("POST", "/api/applications/"+m2m.ID+"/roles", map[string]any{}, http.StatusBadRequest, "guard.invalid_input")

			a.JSON("DELETE", "/api/applications/"+m2m.ID+"/roles/"+role, nil, http.StatusNoContent, nil)
			a.WantError("DELETE", "/api/applications/"+m2m.ID+"/roles/"+role, nil, http.StatusNotFound, "entity.not_found")
			a.JSON("GET", "/api/applications/"+m2m.ID, nil, 200, &detail)
			if *detail.IsAdmin {
				t.Error("isAdmin after the role was taken")
			}
		})
	})

	t.Run("TheRoleListFiltersByTypeAndPages", func(t *testing.T) {
		apptest.Run(t, func(t *testing.T, a *apptest.App) {
			var all, users []roleSummary
			a.JSON("GET", "/api/roles", nil, http.StatusOK, &all)
			a.JSON("GET", "/api/roles?type=User", nil, http.StatusOK, &users)
			if len(users) == 0 || len(users) >= len(all) {
				t.Errorf("%d user roles of %d", len(users), len(all))
			}
			for _, r := range users {
				if r.Type != "User" {
					t.Errorf("type=User lists %+v", r)
				}
			}
			resp, b := a.Request("GET", "/api/roles?page=2", http.Header{"Authorization": {"Bearer " + a.AdminKey}}, nil)
			if resp.StatusCode != 200 || string(b) != "[]\n" || resp.Header.Get("Total-Number") != strconv.Itoa(len(all)) {
				t.Errorf("page 2: %d %s %q, want [] of %d", resp.StatusCode, b, resp.Header.Get("Total-Number"), len(all))
			}
			a.WantError("GET", "/api/roles?type=Admin", nil, http.StatusBadRequest, "guard.invalid_input")
			a.WantError("GET", "/api/roles?page_size=1000", nil, http.StatusBadRequest, "guard.invalid_pagination")
		})
	})

	t.Run("IsAdminGivesTheManagementRole", func(t *testing.T) {
		apptest.Run(t, func(t *testing.T, a *apptest.App) {
			m2m := createApp(t, a, map[string]any{"name": "Robot", "type": "MachineToMachine"})
			a.JSON("PATCH", "/api/applications/"+m2m.ID, map[string]any{"isAdmin": true}, 200, nil)
			var roles []struct{ ID string }
			a.JSON("GET", "/api/applications/"+m2m.ID+"/roles", nil, 200, &roles)
			if len(roles) != 1 || roles[0].ID != apps.ManagementRoleID {
				t.Errorf("roles after isAdmin true: %+v", roles)
			}
		})
	})
}

// resource is an API resource as the API answers it.
type resource struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Indicator      string `json:"indicator"`
	IsDefault      bool   `json:"isDefault"`
	AccessTokenTTL int    `json:"accessTokenTtl"`
	Scopes         *[]struct {
		Name string `json:"name"`
	} `json:"scopes"`
}

func TestResourceRoutes(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var list []resource
		a.JSON("GET", "/api/resources?includeScopes=true", nil, 200, &list)
		if len(list) != 1 || list[0].Indicator != apps.ManagementResource || list[0].AccessTokenTTL != 3600 ||
			list[0].Scopes == nil || len(*list[0].Scopes) != 1 || (*list[0].Scopes)[0].Name != "all" {
			t.Fatalf("resources on a fresh tenant: %+v", list)
		}
		var created resource
		a.JSON("POST", "/api/resources", map[string]any{"name": "Orders", "indicator": "https://api.example.com/orders", "accessTokenTtl": 600}, http.StatusCreated, &created)
		if created.AccessTokenTTL != 600 || created.IsDefault || created.Scopes == nil || len(*created.Scopes) != 0 {
			t.Errorf("created: %+v", created)
		}
		var got resource
		a.JSON("GET", "/api/resources/"+created.ID, nil, 200, &got)
		if got.ID != created.ID || got.Indicator != created.Indicator || got.Scopes != nil {
			t.Errorf("read back: %+v", got)
		}
		a.JSON("GET", "/api/resources/"+apps.ManagementResourceID, nil, 200, &got)
		if got.Indicator != apps.ManagementResource {
			t.Errorf("the management resource: %+v", got)
		}
		for _, ind := range []string{created.Indicator, apps.ManagementResource} {
			e := a.WantError("POST", "/api/resources", map[string]any{"name": "Again", "indicator": ind}, http.StatusUnprocessableEntity, "resource.resource_identifier_in_use")
			if !strings.Contains(e.Message, ind) {
				t.Errorf("in use: %s", e.Message)
			}
		}
		for _, body := range []map[string]any{
			{"name": "x", "indicator": "not a uri"},
			{"name": "", "indicator": "https://x.example.com"},
			{"name": "x", "indicator": "https://x.example.com", "accessTokenTtl": 0},
			{"name": "x", "indicator": "https://x.example.com", "accessTokenTtl": apps.MaxAccessTokenTTL + 1},
			{"name": "x", "indicator": "https://x.example.com", "isDefault": true},
		} {
			status, b := a.Do("POST", "/api/resources", body)
			if status != http.StatusBadRequest || !strings.Contains(string(b), "guard.invalid_input") {
				t.Errorf("%v: %d %s", body, status, b)
			}
		}
		a.WantError("GET", "/api/resources/nosuch", nil, http.StatusNotFound, "entity.not_exists_with_id")
		resp, b := a.Request("GET", "/api/resources?page=1&page_size=1", http.Header{"Authorization": {"Bearer " + a.AdminKey}}, nil)
		_ = json.Unmarshal(b, &list)
		if resp.Header.Get("Total-Number") != strconv.Itoa(2) || len(list) != 1 || list[0].ID != apps.ManagementResourceID {
			t.Errorf("page 1 of 1: %s, Total-Number %q", b, resp.Header.Get("Total-Number"))
		}
	})
}
