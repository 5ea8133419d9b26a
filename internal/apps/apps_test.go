package apps_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
)

const tenant = "default"

func run(t *testing.T, name string, fn func(t *testing.T, s *apps.Service)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		storetest.ForEach(t, func(t *testing.T, st *store.Store) {
			keys, err := keyring.New([]byte("apps-test-secret-key-0123456789a"))
			if err != nil {
				t.Fatal(err)
			}
			clock := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
			fn(t, apps.New(st, keys, func() time.Time { clock = clock.Add(time.Millisecond); return clock }))
		})
	})
}

func create(t *testing.T, s *apps.Service, typ apps.Type, redirects ...string) apps.CreateResult {
	t.Helper()
	res, err := s.Create(context.Background(), tenant, apps.NewApplication{Name: "App " + string(typ), Type: typ, RedirectURIs: redirects})
	if err != nil {
		t.Fatalf("create %s: %v", typ, err)
	}
	return res
}

func TestApplications(t *testing.T) {
	ctx := context.Background()

	run(t, "ConfidentialTypesGetASecretThatAuthenticatesThemAndPublicOnesNone", func(t *testing.T, s *apps.Service) {
		for _, typ := range apps.Types() {
			res := create(t, s, typ)
			confidential := typ == apps.TypeTraditional || typ == apps.TypeMachineToMachine
			if (res.Secret != "") != confidential || res.Application.Public() == confidential {
				t.Errorf("%s: secret %q, public %v", typ, res.Secret, res.Application.Public())
			}
			if !confidential {
				if _, err := s.Authenticate(ctx, tenant, res.Application.ID, ""); !errors.Is(err, apps.ErrInvalidClient) {
					t.Errorf("%s without a secret authenticates with an empty one: %v", typ, err)
				}
				continue
			}
			got, err := s.Authenticate(ctx, tenant, res.Application.ID, res.Secret)
			if err != nil || got.ID != res.Application.ID {
				t.Errorf("%s with its secret: %+v, %v", typ, got, err)
			}
			for name, try := range map[string][2]string{
				"wrong secret":       {res.Application.ID, res.Secret + "x"},
				"empty secret":       {res.Application.ID, ""},
				"unknown id":         {"nosuchapp", res.Secret},
				"another's id":       {create(t, s, typ).Application.ID, res.Secret},
				"secret's last char": {res.Application.ID, res.Secret[:len(res.Secret)-1]},
			} {
				if _, err := s.Authenticate(ctx, tenant, try[0], try[1]); !errors.Is(err, apps.ErrInvalidClient) {
					t.Errorf("%s %s: err = %v, want ErrInvalidClient", typ, name, err)
				}
			}
			if _, err := s.Authenticate(ctx, "other", res.Application.ID, res.Secret); !errors.Is(err, apps.ErrInvalidClient) {
				t.Errorf("%s in another tenant: err = %v, want ErrInvalidClient", typ, err)
			}
		}
	})

	run(t, "RedirectURIsAreCheckedByTypeAndMatchedExactly", func(t *testing.T, s *apps.Service) {
		cases := []struct {
			uri   string
			types []apps.Type // the types that accept it
		}{
			{"https://app.example.com/callback", apps.Types()},
			{"https://app.example.com/callback?x=1", apps.Types()},
			{"http://localhost:3000/callback", apps.Types()},
			{"http://127.0.0.1/cb", apps.Types()},
			{"http://[::1]:8080/cb", apps.Types()},
			{"com.example.app:/callback", []apps.Type{apps.TypeNative}},
			{"myapp://callback", []apps.Type{apps.TypeNative}},
			{"http://app.example.com/callback", nil},
			{"https://*.example.com/callback", nil},
			{"https://app.example.com/callback#frag", nil},
			{"/callback", nil},
			{"app.example.com/callback", nil},
			{"https://user:pw@app.example.com/cb", nil},
			{"https://app.example.com/a/../cb", nil},
			{"https://app.example.com/a/%2E%2E/cb", nil},
			{"https://app.example.com/ cb", nil},
			{"javascript:alert(1)", nil},
			{"data:text/html,hi", nil},
			{"file:///etc/passwd", nil},
			{"HTTP://app.example.com/cb", nil},
			{"", nil},
			{"https:///cb", nil},
		}
		for _, c := range cases {
			for _, typ := range apps.Types() {
				for _, field := range []string{"redirectUris", "postLogoutRedirectUris"} {
					n := apps.NewApplication{Name: "x", Type: typ}
					if field == "redirectUris" {
						n.RedirectURIs = []string{"https://ok.example.com/cb", c.uri}
					} else {
						n.PostLogoutRedirectURIs = []string{"https://ok.example.com/cb", c.uri}
					}
					res, err := s.Create(ctx, tenant, n)
					want := slices.Contains(c.types, typ)
					var fe *apps.FieldError
					switch {
					case want && err != nil:
						t.Errorf("%s %s %q: %v, want accepted", typ, field, c.uri, err)
					case !want && (!errors.As(err, &fe) || fe.Field != "oidcClientMetadata."+field+"[1]"):
						t.Errorf("%s %s %q: err = %v, want a FieldError on oidcClientMetadata.%s[1]", typ, field, c.uri, err, field)
					case want && field == "redirectUris":
						a := res.Application
						if !a.RedirectURIAllowed(c.uri) || a.RedirectURIAllowed(c.uri+"/") || a.RedirectURIAllowed(c.uri+"?y") || a.PostLogoutRedirectURIAllowed(c.uri) {
							t.Errorf("%s %q: not matched exactly", typ, c.uri)
						}
					case want:
						if !res.Application.PostLogoutRedirectURIAllowed(c.uri) || res.Application.RedirectURIAllowed(c.uri) {
							t.Errorf("%s post-logout %q: not matched exactly", typ, c.uri)
						}
					}
				}
			}
		}
	})

	run(t, "CreateRefusesBadInputAndStoresNothing", func(t *testing.T, s *apps.Service) {
		long := make([]byte, 257)
		for i := range long {
			long[i] = 'a'
		}
		ttl, days := 0, 181
		for field, n := range map[string]apps.NewApplication{
			"name":  {Name: " ", Type: apps.TypeSPA},
			"name ": {Name: string(long), Type: apps.TypeSPA},
			"type":  {Name: "x", Type: "Protected"},
			"customClientMetadata.corsAllowedOrigins[0]":    {Name: "x", Type: apps.TypeSPA, CustomClientMetadata: apps.CustomClientMetadata{CorsAllowedOrigins: []string{"https://app.example.com/path"}}},
			"customClientMetadata.idTokenTtl":               {Name: "x", Type: apps.TypeSPA, CustomClientMetadata: apps.CustomClientMetadata{IDTokenTTL: &ttl}},
			"customClientMetadata.refreshTokenTtlInDays":    {Name: "x", Type: apps.TypeSPA, CustomClientMetadata: apps.CustomClientMetadata{RefreshTokenTTLInDays: &days}},
			"oidcClientMetadata.redirectUris[0]":            {Name: "x", Type: apps.TypeSPA, RedirectURIs: []string{"nope"}},
			"oidcClientMetadata.postLogoutRedirectUris[0] ": {Name: "x", Type: apps.TypeTraditional, PostLogoutRedirectURIs: []string{"ftp://x.example.com"}},
		} {
			_, err := s.Create(ctx, tenant, n)
			var fe *apps.FieldError
			if !errors.As(err, &fe) || fe.Field != trim(field) {
				t.Errorf("%s: err = %v, want a FieldError on it", field, err)
			}
		}
		if list, total, err := s.List(ctx, tenant, apps.ListQuery{}); err != nil || total != 0 || len(list) != 0 {
			t.Errorf("after refused creates: %d apps (%d), %v", len(list), total, err)
		}
	})

	run(t, "ListFiltersByTypeNewestFirstAPageAtATime", func(t *testing.T, s *apps.Service) {
		var ids []string
		for _, typ := range []apps.Type{apps.TypeSPA, apps.TypeMachineToMachine, apps.TypeSPA, apps.TypeNative} {
			ids = append(ids, create(t, s, typ).Application.ID)
		}
		all, total, err := s.List(ctx, tenant, apps.ListQuery{})
		if err != nil || total != 4 || !slices.Equal(appIDs(all), []string{ids[3], ids[2], ids[1], ids[0]}) {
			t.Errorf("all: %v (%d), %v", appIDs(all), total, err)
		}
		spa, total, err := s.List(ctx, tenant, apps.ListQuery{Types: []apps.Type{apps.TypeSPA, apps.TypeNative}, Page: apps.Page{Limit: 2, Offset: 1}})
		if err != nil || total != 3 || !slices.Equal(appIDs(spa), []string{ids[2], ids[0]}) {
			t.Errorf("SPA and Native, page 2 of 1: %v (%d), %v", appIDs(spa), total, err)
		}
		yes := true
		if third, total, err := s.List(ctx, tenant, apps.ListQuery{ThirdParty: &yes}); err != nil || total != 0 || len(third) != 0 {
			t.Errorf("third-party: %v (%d), %v", appIDs(third), total, err)
		}
		var fe *apps.FieldError
		if _, _, err := s.List(ctx, tenant, apps.ListQuery{Types: []apps.Type{"SAML"}}); !errors.As(err, &fe) || fe.Field != "types" {
			t.Errorf("unknown type: %v", err)
		}
	})

	run(t, "UpdateChangesWhatThePatchNamesAndKeepsTheSecret", func(t *testing.T, s *apps.Service) {
		res := create(t, s, apps.TypeTraditional, "https://a.example.com/cb")
		id := res.Application.ID
		name, uris := "Renamed", []string{"https://b.example.com/cb"}
		rotate := false
		got, err := s.Update(ctx, tenant, id, apps.Patch{Name: &name, RedirectURIs: &uris,
			CustomClientMetadata: &apps.CustomClientMetadata{RotateRefreshToken: &rotate}, CustomData: map[string]any{"k": "v"}})
		if err != nil || got.Name != name || !slices.Equal(got.RedirectURIs, uris) || got.Description != "" ||
			got.CustomClientMetadata.RotateRefreshToken == nil || *got.CustomClientMetadata.RotateRefreshToken || got.CustomData["k"] != "v" {
			t.Fatalf("update: %+v, %v", got, err)
		}
		if read, err := s.Get(ctx, tenant, id); err != nil || read.Name != name || !slices.Equal(read.RedirectURIs, uris) || !read.CreatedAt.Equal(res.Application.CreatedAt) {
			t.Errorf("read back: %+v, %v", read, err)
		}
		if _, err := s.Authenticate(ctx, tenant, id, res.Secret); err != nil {
			t.Errorf("the secret after an update: %v", err)
		}
		bad := []string{"http://evil.example.com/cb"}
		var fe *apps.FieldError
		if _, err := s.Update(ctx, tenant, id, apps.Patch{Name: new(string), RedirectURIs: &bad}); !errors.As(err, &fe) {
			t.Errorf("bad patch: %v", err)
		}
		if read, _ := s.Get(ctx, tenant, id); read.Name != name {
			t.Errorf("a refused patch changed the name to %q", read.Name)
		}
		if _, err := s.Update(ctx, tenant, "nosuch", apps.Patch{Name: &name}); !notFound(err, "applications", "nosuch") {
			t.Errorf("unknown app: %v", err)
		}
	})

	run(t, "DeleteRemovesTheAppAndItsManagementAccess", func(t *testing.T, s *apps.Service) {
		m2m := create(t, s, apps.TypeMachineToMachine).Application.ID
		if _, err := s.AssignRoles(ctx, tenant, m2m, []string{apps.ManagementRoleID}); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.ManagementAccess(ctx, tenant, m2m); err != nil || !ok {
			t.Fatalf("access before delete: %v, %v", ok, err)
		}
		if err := s.Delete(ctx, tenant, m2m); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.ManagementAccess(ctx, tenant, m2m); err != nil || ok {
			t.Errorf("access after delete: %v, %v", ok, err)
		}
		if _, err := s.Get(ctx, tenant, m2m); !notFound(err, "applications", m2m) {
			t.Errorf("get after delete: %v", err)
		}
		if err := s.Delete(ctx, tenant, m2m); !notFound(err, "applications", m2m) {
			t.Errorf("delete again: %v", err)
		}
		sums, _, err := s.Roles(ctx, tenant, "", apps.Page{})
		if err != nil || sums[0].ApplicationsCount != 0 {
			t.Errorf("the role still counts the deleted app: %+v, %v", sums, err)
		}
	})
}

func TestRoles(t *testing.T) {
	ctx := context.Background()

	run(t, "TheManagementRoleGrantsAllOnTheManagementAPIToM2MAppsOnly", func(t *testing.T, s *apps.Service) {
		m2m := create(t, s, apps.TypeMachineToMachine).Application.ID
		spa := create(t, s, apps.TypeSPA).Application.ID
		if scopes, err := s.M2MScopes(ctx, tenant, m2m, apps.ManagementResource); err != nil || len(scopes) != 0 {
			t.Errorf("scopes before the role: %v, %v", scopes, err)
		}
		added, err := s.AssignRoles(ctx, tenant, m2m, []string{apps.ManagementRoleID, apps.ManagementRoleID})
		if err != nil || !slices.Equal(added, []string{apps.ManagementRoleID}) {
			t.Fatalf("assign: %v, %v", added, err)
		}
		if again, err := s.AssignRoles(ctx, tenant, m2m, []string{apps.ManagementRoleID}); err != nil || len(again) != 0 {
			t.Errorf("assign again: %v, %v", again, err)
		}
		if scopes, err := s.M2MScopes(ctx, tenant, m2m, apps.ManagementResource); err != nil || !slices.Equal(scopes, []string{"all"}) {
			t.Errorf("management scopes: %v, %v", scopes, err)
		}
		if scopes, err := s.M2MScopes(ctx, tenant, m2m, "https://api.example.com"); err != nil || len(scopes) != 0 {
			t.Errorf("another resource's scopes: %v, %v", scopes, err)
		}
		if _, err := s.M2MScopes(ctx, tenant, "nosuch", apps.ManagementResource); !errors.Is(err, apps.ErrNotFound) {
			t.Errorf("unknown app's scopes: %v", err)
		}
		if _, err := s.AssignRoles(ctx, tenant, spa, []string{apps.ManagementRoleID}); !errors.Is(err, apps.ErrNotMachineToMachine) {
			t.Errorf("role to an SPA: %v", err)
		}
		if _, err := s.AssignRoles(ctx, tenant, m2m, []string{"nosuchrole"}); !notFound(err, "roles", "nosuchrole") {
			t.Errorf("unknown role: %v", err)
		}
		if _, err := s.AssignRoles(ctx, tenant, "nosuch", []string{apps.ManagementRoleID}); !notFound(err, "applications", "nosuch") {
			t.Errorf("unknown app: %v", err)
		}
		roles, total, err := s.AppRoles(ctx, tenant, m2m, apps.Page{Limit: 20})
		if err != nil || total != 1 || roles[0].ID != apps.ManagementRoleID || roles[0].Type != apps.RoleTypeMachineToMachine {
			t.Errorf("app roles: %+v (%d), %v", roles, total, err)
		}
		if _, _, err := s.AppRoles(ctx, tenant, spa, apps.Page{}); !errors.Is(err, apps.ErrNotMachineToMachine) {
			t.Errorf("an SPA's roles: %v", err)
		}
		if err := s.RemoveRole(ctx, tenant, m2m, apps.ManagementRoleID); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.ManagementAccess(ctx, tenant, m2m); err != nil || ok {
			t.Errorf("access after removing the role: %v, %v", ok, err)
		}
		if err := s.RemoveRole(ctx, tenant, m2m, apps.ManagementRoleID); !errors.Is(err, apps.ErrRoleNotHeld) {
			t.Errorf("remove again: %v", err)
		}
		if err := s.RemoveRole(ctx, tenant, spa, apps.ManagementRoleID); !errors.Is(err, apps.ErrNotMachineToMachine) {
			t.Errorf("remove from an SPA: %v", err)
		}
	})

	run(t, "IsAdminGivesAndTakesTheManagementRole", func(t *testing.T, s *apps.Service) {
		m2m := create(t, s, apps.TypeMachineToMachine).Application.ID
		yes, no := true, false
		if _, err := s.Update(ctx, tenant, m2m, apps.Patch{IsAdmin: &yes}); err != nil {
			t.Fatal(err)
		}
		if d, err := s.GetDetail(ctx, tenant, m2m); err != nil || !d.IsAdmin {
			t.Errorf("after isAdmin true: %+v, %v", d, err)
		}
		if _, err := s.Update(ctx, tenant, m2m, apps.Patch{IsAdmin: &no}); err != nil {
			t.Fatal(err)
		}
		if d, err := s.GetDetail(ctx, tenant, m2m); err != nil || d.IsAdmin {
			t.Errorf("after isAdmin false: %+v, %v", d, err)
		}
		spa := create(t, s, apps.TypeSPA).Application.ID
		if _, err := s.Update(ctx, tenant, spa, apps.Patch{IsAdmin: &yes}); !errors.Is(err, apps.ErrNotMachineToMachine) {
			t.Errorf("isAdmin on an SPA: %v", err)
		}
	})

	run(t, "TheRoleListCountsAndFeaturesItsApps", func(t *testing.T, s *apps.Service) {
		var ids []string
		for range 4 {
			id := create(t, s, apps.TypeMachineToMachine).Application.ID
			ids = append(ids, id)
			if _, err := s.AssignRoles(ctx, tenant, id, []string{apps.ManagementRoleID}); err != nil {
				t.Fatal(err)
			}
		}
		sums, total, err := s.Roles(ctx, tenant, apps.RoleTypeMachineToMachine, apps.Page{Limit: 20})
		if err != nil || total != 1 || len(sums) != 1 {
			t.Fatalf("M2M roles: %+v (%d), %v", sums, total, err)
		}
		if sums[0].ApplicationsCount != 4 || !slices.Equal(appIDs(sums[0].FeaturedApplications), ids[:3]) {
			t.Errorf("count %d, featured %v; want 4 and %v", sums[0].ApplicationsCount, appIDs(sums[0].FeaturedApplications), ids[:3])
		}
		user, users, err := s.Roles(ctx, tenant, apps.RoleTypeUser, apps.Page{Limit: 20})
		if err != nil || users != 1 || len(user) != 1 || user[0].Role.ID != apps.AdminRoleID || user[0].UsersCount != 0 || user[0].ApplicationsCount != 0 {
			t.Errorf("user roles: %+v (%d), %v", user, users, err)
		}
		if page2, total, err := s.Roles(ctx, tenant, "", apps.Page{Limit: 20, Offset: 20}); err != nil || total != 1+users || len(page2) != 0 {
			t.Errorf("page 2: %+v (%d), %v", page2, total, err)
		}
		var fe *apps.FieldError
		if _, _, err := s.Roles(ctx, tenant, "Admin", apps.Page{}); !errors.As(err, &fe) || fe.Field != "type" {
			t.Errorf("unknown type: %v", err)
		}
	})
}

func TestResources(t *testing.T) {
	ctx := context.Background()

	run(t, "TheManagementAPIIsAlwaysThereAndIndicatorsAreUnique", func(t *testing.T, s *apps.Service) {
		m, err := s.Resource(ctx, tenant, apps.ManagementResource)
		if err != nil || m.ID != apps.ManagementResourceID || m.AccessTokenTTL != 3600 || m.Name != "Logto Management API" {
			t.Errorf("management resource: %+v, %v", m, err)
		}
		if byID, err := s.ResourceByID(ctx, tenant, apps.ManagementResourceID); err != nil || byID.ID != m.ID || len(byID.Scopes) != 1 || byID.Scopes[0].Name != "all" {
			t.Errorf("by ID: %+v, %v", byID, err)
		}
		r, err := s.CreateResource(ctx, tenant, apps.NewResource{Name: "Orders", Indicator: "https://api.example.com/orders"})
		if err != nil || r.AccessTokenTTL != apps.DefaultAccessTokenTTL || r.IsDefault {
			t.Fatalf("create: %+v, %v", r, err)
		}
		if got, err := s.Resource(ctx, tenant, r.Indicator); err != nil || got.ID != r.ID || got.Indicator != r.Indicator || got.AccessTokenTTL != r.AccessTokenTTL {
			t.Errorf("by indicator: %+v, %v", got, err)
		}
		if got, err := s.ResourceByID(ctx, tenant, r.ID); err != nil || got.ID != r.ID || got.Name != r.Name {
			t.Errorf("by ID: %+v, %v", got, err)
		}
		for _, ind := range []string{r.Indicator, apps.ManagementResource} {
			if _, err := s.CreateResource(ctx, tenant, apps.NewResource{Name: "Again", Indicator: ind}); !errors.Is(err, apps.ErrIndicatorInUse) {
				t.Errorf("indicator %s again: %v", ind, err)
			}
		}
		if _, err := s.Resource(ctx, tenant, "https://nosuch.example.com"); !notFound(err, "resources", "https://nosuch.example.com") {
			t.Errorf("unknown indicator: %v", err)
		}
		if _, err := s.ResourceByID(ctx, tenant, "nosuch"); !notFound(err, "resources", "nosuch") {
			t.Errorf("unknown ID: %v", err)
		}
		if _, err := s.Resource(ctx, "other", r.Indicator); !errors.Is(err, apps.ErrNotFound) {
			t.Errorf("another tenant's resource: %v", err)
		}
	})

	run(t, "CreateResourceRefusesBadInput", func(t *testing.T, s *apps.Service) {
		for field, n := range map[string]apps.NewResource{
			"name":           {Name: "", Indicator: "https://api.example.com"},
			"indicator":      {Name: "x", Indicator: "api.example.com"},
			"indicator ":     {Name: "x", Indicator: "https://api.example.com#x"},
			"accessTokenTtl": {Name: "x", Indicator: "https://api.example.com", AccessTokenTTL: apps.MaxAccessTokenTTL + 1},
		} {
			var fe *apps.FieldError
			if _, err := s.CreateResource(ctx, tenant, n); !errors.As(err, &fe) || fe.Field != trim(field) {
				t.Errorf("%s: %v", field, err)
			}
		}
	})

	run(t, "ResourcesPageWithTheManagementAPIFirst", func(t *testing.T, s *apps.Service) {
		var want []string
		want = append(want, apps.ManagementResourceID)
		for _, ind := range []string{"https://a.example.com", "https://b.example.com", "https://c.example.com"} {
			r, err := s.CreateResource(ctx, tenant, apps.NewResource{Name: ind, Indicator: ind, AccessTokenTTL: 60})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, r.ID)
		}
		for _, p := range []apps.Page{{}, {Limit: 1}, {Limit: 2}, {Limit: 2, Offset: 2}, {Limit: 3, Offset: 1}, {Limit: 5, Offset: 4}} {
			got, total, err := s.Resources(ctx, tenant, p)
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			exp := want[min(p.Offset, len(want)):]
			if p.Limit > 0 {
				exp = exp[:min(p.Limit, len(exp))]
			}
			if err != nil || total != 4 || !slices.Equal(ids, exp) {
				t.Errorf("page %+v: %v (%d), %v; want %v", p, ids, total, err, exp)
			}
		}
	})
}

func appIDs(list []apps.Application) []string {
	out := []string{}
	for _, a := range list {
		out = append(out, a.ID)
	}
	return out
}

func notFound(err error, entity, id string) bool {
	var nf *apps.NotFoundError
	return errors.Is(err, apps.ErrNotFound) && errors.As(err, &nf) && nf.Entity == entity && nf.ID == id
}

// trim drops the spaces that keep map keys of one field apart.
func trim(s string) string {
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}
