package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/tenant"
)

// user is Logto's user object as the routes answer it.
type user struct {
	ID           string         `json:"id"`
	Username     *string        `json:"username"`
	PrimaryEmail *string        `json:"primaryEmail"`
	Name         *string        `json:"name"`
	Avatar       *string        `json:"avatar"`
	CustomData   map[string]any `json:"customData"`
	Profile      map[string]any `json:"profile"`
	HasPassword  bool           `json:"hasPassword"`
	IsSuspended  bool           `json:"isSuspended"`
	CreatedAt    int64          `json:"createdAt"`
	UpdatedAt    int64          `json:"updatedAt"`
	LastSignInAt *int64         `json:"lastSignInAt"`
}

// userCall sends a users request and fails the test unless it answers
// want; every answer is checked for the password digest, and decoded into
// out when out is not nil.
func userCall(t *testing.T, a *apptest.App, method, path string, body any, want int, out any) http.Header {
	t.Helper()
	resp, b := a.Request(method, path, http.Header{"Authorization": {"Bearer " + a.AdminKey}}, body)
	noDigest(t, method+" "+path, b)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return resp.Header
}

// noDigest fails the test if an answer shows a password digest or a
// field that could hold one.
func noDigest(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, leak := range []string{"argon2", "passwordDigest", "password_digest", "passwordEncrypted", "correct horse"} {
		if bytes.Contains(b, []byte(leak)) {
			t.Errorf("%s: the answer shows %q: %s", what, leak, b)
		}
	}
}

func str(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// TestUserIsCreatedReadAndPatchedAsLogtosUserObject: a user created with
// every field reads back the same (the email canonical), a patch changes
// what it names, clears what it sets to null or "", and keeps the rest.
func TestUserIsCreatedReadAndPatchedAsLogtosUserObject(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var created user
		userCall(t, a, "POST", "/api/users", map[string]any{"primaryEmail": "Alice@Example.COM", "username": "alice", "name": "Alice",
			"avatar": "https://example.com/alice.png", "customData": map[string]any{"plan": "pro"},
			"profile": map[string]any{"givenName": "Alice", "address": map[string]any{"country": "FR"}}}, http.StatusOK, &created)
		if len(created.ID) != 12 || deref(created.PrimaryEmail) != "alice@example.com" || deref(created.Username) != "alice" ||
			deref(created.Name) != "Alice" || deref(created.Avatar) != "https://example.com/alice.png" || created.CustomData["plan"] != "pro" ||
			created.Profile["givenName"] != "Alice" || created.HasPassword || created.IsSuspended || created.LastSignInAt != nil || created.CreatedAt == 0 {
			t.Fatalf("created user = %+v", created)
		}
		var got user
		userCall(t, a, "GET", "/api/users/"+created.ID, nil, http.StatusOK, &got)
		if !reflect.DeepEqual(got, created) {
			t.Errorf("GET = %+v, want what POST answered %+v", got, created)
		}

		var patched user
		userCall(t, a, "PATCH", "/api/users/"+created.ID, map[string]any{"name": "Alice B", "avatar": nil, "username": "",
			"customData": map[string]any{"seats": 3}}, http.StatusOK, &patched)
		if deref(patched.Name) != "Alice B" || patched.Avatar != nil || patched.Username != nil || deref(patched.PrimaryEmail) != "alice@example.com" ||
			fmt.Sprint(patched.CustomData) != "map[seats:3]" || patched.Profile["givenName"] != "Alice" || patched.UpdatedAt < created.UpdatedAt {
			t.Errorf("patched user = %+v", patched)
		}
		var again user
		userCall(t, a, "GET", "/api/users/"+created.ID, nil, http.StatusOK, &again)
		if !reflect.DeepEqual(again, patched) {
			t.Errorf("GET after PATCH = %+v, want %+v", again, patched)
		}

		var bare user
		userCall(t, a, "POST", "/api/users", map[string]any{}, http.StatusOK, &bare)
		if bare.PrimaryEmail != nil || bare.Username != nil || len(bare.CustomData) != 0 || len(bare.Profile) != 0 {
			t.Errorf("a user created from {} = %+v, want every field empty", bare)
		}
	})
}

// TestUserInputIsRefusedWithTheFieldNamed: a malformed email, username or
// avatar, and a field Logto's user object does not have, are 400
// guard.invalid_input naming the field.
func TestUserInputIsRefusedWithTheFieldNamed(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		for body, field := range map[string]string{
			`{"primaryEmail":"not-an-address"}`:   "primaryEmail",
			`{"username":"1alice"}`:               "username",
			`{"username":"al ice"}`:               "username",
			`{"avatar":"javascript:alert(1)"}`:    "avatar",
			`{"passwordDigest":"$argon2id$v=19"}`: "passwordDigest",
		} {
			e := a.WantError("POST", "/api/users", body, http.StatusBadRequest, "guard.invalid_input")
			if !strings.Contains(string(e.Data), `"field":"`+field+`"`) {
				t.Errorf("POST %s: data %s does not name %s", body, e.Data, field)
			}
		}
		var u user
		userCall(t, a, "POST", "/api/users", map[string]any{"username": "bob"}, http.StatusOK, &u)
		a.WantError("PATCH", "/api/users/"+u.ID, `{"primaryEmail":"bob@"}`, http.StatusBadRequest, "guard.invalid_input")
		a.WantError("PATCH", "/api/users/"+u.ID, `{"customData":null}`, http.StatusBadRequest, "guard.invalid_input")
	})
}

// TestPrimaryEmailIsUniqueByItsCanonicalForm: an email another user has
// is refused with Logto's 422 user.email_already_in_use in any spelling of
// the same mailbox (case, a Unicode or punycode domain), on create and on
// patch; a username another user has is 422 user.username_already_in_use.
func TestPrimaryEmailIsUniqueByItsCanonicalForm(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var bob, idn, other user
		userCall(t, a, "POST", "/api/users", map[string]any{"primaryEmail": "bob@example.com", "username": "bob"}, http.StatusOK, &bob)
		userCall(t, a, "POST", "/api/users", map[string]any{"primaryEmail": "zoe@bücher.example"}, http.StatusOK, &idn)
		if deref(idn.PrimaryEmail) != "zoe@xn--bcher-kva.example" {
			t.Errorf("a Unicode domain is kept as %q, want its punycode", deref(idn.PrimaryEmail))
		}
		for _, email := range []string{"Bob@Example.com", "BOB@EXAMPLE.COM", "zoe@XN--BCHER-KVA.example", "zoe@BÜCHER.example"} {
			a.WantError("POST", "/api/users", map[string]any{"primaryEmail": email}, http.StatusUnprocessableEntity, "user.email_already_in_use")
		}
		userCall(t, a, "POST", "/api/users", map[string]any{"primaryEmail": "carol@example.com"}, http.StatusOK, &other)
		a.WantError("PATCH", "/api/users/"+other.ID, map[string]any{"primaryEmail": "Bob@Example.com"}, http.StatusUnprocessableEntity, "user.email_already_in_use")
		a.WantError("POST", "/api/users", map[string]any{"username": "bob"}, http.StatusUnprocessableEntity, "user.username_already_in_use")
		a.WantError("PATCH", "/api/users/"+other.ID, map[string]any{"username": "bob"}, http.StatusUnprocessableEntity, "user.username_already_in_use")
		// A user keeps its own email and username through a patch that
		// gives them again.
		userCall(t, a, "PATCH", "/api/users/"+bob.ID, map[string]any{"primaryEmail": "BOB@example.com", "username": "bob"}, http.StatusOK, nil)
		// Once the email is free again, another user may take it.
		userCall(t, a, "PATCH", "/api/users/"+bob.ID, map[string]any{"primaryEmail": nil}, http.StatusOK, nil)
		userCall(t, a, "PATCH", "/api/users/"+other.ID, map[string]any{"primaryEmail": "Bob@Example.com"}, http.StatusOK, &other)
		if deref(other.PrimaryEmail) != "bob@example.com" {
			t.Errorf("the freed email was taken as %q, want bob@example.com", deref(other.PrimaryEmail))
		}
	})
}

// TestUserListPagesAndSearchesAsLogto: GET /api/users answers newest
// first, page_size at a time from page 1, with the count of every match
// in Total-Number; search looks in email, username and name; a page out
// of range is 400 guard.invalid_pagination.
func TestUserListPagesAndSearchesAsLogto(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var ids []string
		for i := range 5 {
			var u user
			userCall(t, a, "POST", "/api/users", map[string]any{"primaryEmail": fmt.Sprintf("member%d@example.com", i),
				"username": fmt.Sprintf("member_%d", i), "name": fmt.Sprintf("Member %d", i)}, http.StatusOK, &u)
			ids = append(ids, u.ID)
		}
		var zed user
		userCall(t, a, "POST", "/api/users", map[string]any{"name": "Zed Outsider"}, http.StatusOK, &zed)
		list := func(query string) ([]string, string) {
			t.Helper()
			var us []user
			h := userCall(t, a, "GET", "/api/users?"+query, nil, http.StatusOK, &us)
			var got []string
			for _, u := range us {
				got = append(got, u.ID)
			}
			return got, h.Get("Total-Number")
		}
		all, total := list("")
		if len(all) != 6 || total != "6" {
			t.Fatalf("the first page by default = %d users, Total-Number %q; want 6 of 6", len(all), total)
		}
		// Created one after another, so newest first is the reverse order,
		// unless two share a millisecond; the page cut is what matters.
		first, total := list("page_size=2")
		second, _ := list("page=2&page_size=2")
		third, _ := list("page=3&page_size=2")
		if total != "6" || len(first) != 2 || len(second) != 2 || len(third) != 2 || fmt.Sprint(append(append(first, second...), third...)) != fmt.Sprint(all) {
			t.Errorf("pages of 2 = %v %v %v, want the whole list %v cut in three", first, second, third, all)
		}
		if past, total := list("page=4&page_size=2"); len(past) != 0 || total != "6" {
			t.Errorf("the page past the end = %v, Total-Number %q; want none of 6", past, total)
		}
		for search, want := range map[string]string{
			"MEMBER3@":   ids[3],
			"member_4":   ids[4],
			"member 1":   ids[1],
			"%member2%":  ids[2],
			"outsider":   zed.ID,
			"nobody-has": "",
		} {
			got, total := list("search=" + url.QueryEscape(search))
			wantTotal, wantIDs := "1", "["+want+"]"
			if want == "" {
				wantTotal, wantIDs = "0", "[]"
			}
			if fmt.Sprint(got) != wantIDs || total != wantTotal {
				t.Errorf("search %q = %v (Total-Number %q), want %s (%s)", search, got, total, wantIDs, wantTotal)
			}
		}
		if got, total := list("search=member&page_size=3"); len(got) != 3 || total != "5" {
			t.Errorf("a search's first page = %d users, Total-Number %q; want 3 of 5", len(got), total)
		}
		for _, q := range []string{"page=0", "page_size=0", "page_size=101", "page=x"} {
			a.WantError("GET", "/api/users?"+q, nil, http.StatusBadRequest, "guard.invalid_pagination")
		}
	})
}

// TestUserPasswordIsStoredAsAnArgon2idDigestAndNeverShown: a password set
// on create or with PATCH .../password verifies against the stored digest
// (identity.Verify), the old one no longer does, no answer shows the
// digest, and a password outside the policy is 422 password.rejected.
func TestUserPasswordIsStoredAsAnArgon2idDigestAndNeverShown(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var u user
		userCall(t, a, "POST", "/api/users", map[string]any{"username": "dana", "password": "correct horse battery"}, http.StatusOK, &u)
		if !u.HasPassword {
			t.Fatalf("created with a password: hasPassword = false")
		}
		digest := func() string {
			t.Helper()
			row, err := a.App.Store.UserGet(t.Context(), tenant.Default, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(row.PasswordDigest, "$argon2id$v=19$") {
				t.Fatalf("stored digest %q is not an argon2id PHC string", row.PasswordDigest)
			}
			return row.PasswordDigest
		}
		verify := func(d, pw string, want bool) {
			t.Helper()
			if ok, err := identity.Verify(d, pw); err != nil || ok != want {
				t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
			}
		}
		first := digest()
		verify(first, "correct horse battery", true)
		verify(first, "correct horse staple", false)

		userCall(t, a, "PATCH", "/api/users/"+u.ID+"/password", map[string]any{"password": "tr0ub4dor&3 again"}, http.StatusOK, &u)
		second := digest()
		verify(second, "tr0ub4dor&3 again", true)
		verify(second, "correct horse battery", false)
		if ok, err := a.App.API.Users.CheckPasswordOf(t.Context(), tenant.Default, u.ID, "tr0ub4dor&3 again"); err != nil || !ok {
			t.Errorf("CheckPasswordOf(the new password) = %v, %v; want true", ok, err)
		}

		for pw, issue := range map[string]string{"short": "password_rejected.too_short", strings.Repeat("p", 257): "password_rejected.too_long"} {
			e := a.WantError("PATCH", "/api/users/"+u.ID+"/password", map[string]any{"password": pw}, http.StatusUnprocessableEntity, "password.rejected")
			if !strings.Contains(string(e.Data), issue) {
				t.Errorf("a %d-character password: data %s does not say %s", len(pw), e.Data, issue)
			}
			a.WantError("POST", "/api/users", map[string]any{"password": pw}, http.StatusUnprocessableEntity, "password.rejected")
		}
		if digest() != second {
			t.Error("a refused password changed the stored digest")
		}
		// Every way of reading the user leaves the digest out.
		userCall(t, a, "GET", "/api/users/"+u.ID, nil, http.StatusOK, nil)
		userCall(t, a, "GET", "/api/users?search=dana", nil, http.StatusOK, nil)
		userCall(t, a, "PATCH", "/api/users/"+u.ID, map[string]any{"name": "Dana"}, http.StatusOK, nil)
		userCall(t, a, "PATCH", "/api/users/"+u.ID+"/is-suspended", map[string]any{"isSuspended": true}, http.StatusOK, nil)
		noDigest(t, "the app log", []byte(a.Logs()))
		if strings.Contains(a.Logs(), second[len(second)-20:]) {
			t.Error("the app log shows the password digest")
		}
	})
}

// TestUserIsSuspendedAndDeleted: is-suspended sets and clears the flag; a
// deleted user, and an ID no user has, are 404 entity.not_exists_with_id
// on every route of one user.
func TestUserIsSuspendedAndDeleted(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var u user
		userCall(t, a, "POST", "/api/users", map[string]any{"primaryEmail": "erin@example.com"}, http.StatusOK, &u)
		userCall(t, a, "PATCH", "/api/users/"+u.ID+"/is-suspended", map[string]any{"isSuspended": true}, http.StatusOK, &u)
		if !u.IsSuspended {
			t.Fatal("after suspending: isSuspended = false")
		}
		userCall(t, a, "GET", "/api/users/"+u.ID, nil, http.StatusOK, &u)
		if !u.IsSuspended {
			t.Fatal("read after suspending: isSuspended = false")
		}
		userCall(t, a, "PATCH", "/api/users/"+u.ID+"/is-suspended", map[string]any{"isSuspended": false}, http.StatusOK, &u)
		if u.IsSuspended {
			t.Fatal("after reinstating: isSuspended = true")
		}

		userCall(t, a, "DELETE", "/api/users/"+u.ID, nil, http.StatusNoContent, nil)
		for _, id := range []string{u.ID, "nosuchuser00"} {
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"GET", "/api/users/" + id, nil},
				{"PATCH", "/api/users/" + id, map[string]any{"name": "x"}},
				{"DELETE", "/api/users/" + id, nil},
				{"PATCH", "/api/users/" + id + "/password", map[string]any{"password": "correct horse battery"}},
				{"PATCH", "/api/users/" + id + "/is-suspended", map[string]any{"isSuspended": true}},
			} {
				e := a.WantError(c.method, c.path, c.body, http.StatusNotFound, "entity.not_exists_with_id")
				if !strings.Contains(e.Message, id) {
					t.Errorf("%s %s: message %q does not name the ID", c.method, c.path, e.Message)
				}
			}
		}
		// The deleted user's email is free again.
		userCall(t, a, "POST", "/api/users", map[string]any{"primaryEmail": "erin@example.com"}, http.StatusOK, nil)
	})
}
