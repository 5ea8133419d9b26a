package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
)

func testUser(id, email, username string, at time.Time) store.User {
	return store.User{TenantID: "default", ID: id, PrimaryEmail: email, Username: username, CustomData: "{}", Profile: "{}",
		CreatedAt: at, UpdatedAt: at}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()

	run(t, "InsertedUserReadsBackByIDAndEmail", func(t *testing.T, s *store.Store) {
		now := testNow()
		u := testUser("u1", "bob@example.com", "bob", now)
		u.Name, u.Avatar, u.CustomData, u.Profile = "Bob", "https://example.com/a.png", `{"plan":"pro"}`, `{"nickname":"b"}`
		u.PasswordDigest, u.IsSuspended, u.LastSignInAt = "$argon2id$x", true, now.Add(time.Second)
		if err := s.WriteQ().UserInsert(ctx, u); err != nil {
			t.Fatal(err)
		}
		for name, get := range map[string]func() (store.User, error){
			"by id":    func() (store.User, error) { return s.UserGet(ctx, "default", "u1") },
			"by email": func() (store.User, error) { return s.UserByEmail(ctx, "default", "bob@example.com") },
		} {
			got, err := get()
			if err != nil || got != u {
				t.Errorf("%s = %+v, %v; want %+v", name, got, err, u)
			}
		}
		if _, err := s.UserGet(ctx, "other", "u1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another tenant's user: err = %v, want ErrNotFound", err)
		}
	})

	run(t, "EmailAndUsernameAreUniquePerTenantAndMayBeAbsent", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		if err := w.UserInsert(ctx, testUser("u1", "bob@example.com", "bob", now)); err != nil {
			t.Fatal(err)
		}
		if err := w.UserInsert(ctx, testUser("u2", "bob@example.com", "other", now)); !errors.Is(err, store.ErrEmailTaken) || !errors.Is(err, store.ErrConflict) {
			t.Errorf("same email: err = %v, want ErrEmailTaken", err)
		}
		if err := w.UserInsert(ctx, testUser("u3", "other@example.com", "bob", now)); !errors.Is(err, store.ErrUsernameTaken) {
			t.Errorf("same username: err = %v, want ErrUsernameTaken", err)
		}
		for _, id := range []string{"n1", "n2"} {
			if err := w.UserInsert(ctx, testUser(id, "", "", now)); err != nil {
				t.Errorf("user without email or username: %v", err)
			}
		}
		other := testUser("u1", "bob@example.com", "bob", now)
		other.TenantID = "other"
		if err := w.UserInsert(ctx, other); err != nil {
			t.Errorf("the same email and username in another tenant: %v", err)
		}
		u2 := testUser("u2", "carol@example.com", "carol", now)
		if err := w.UserInsert(ctx, u2); err != nil {
			t.Fatal(err)
		}
		u2.PrimaryEmail = "bob@example.com"
		if err := w.UserUpdate(ctx, u2); !errors.Is(err, store.ErrEmailTaken) {
			t.Errorf("update to a taken email: err = %v, want ErrEmailTaken", err)
		}
	})

	run(t, "UpdatesKeepWhatTheyDoNotWrite", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		if err := w.UserInsert(ctx, testUser("u1", "bob@example.com", "bob", now)); err != nil {
			t.Fatal(err)
		}
		later := now.Add(time.Minute)
		if err := w.UserSetPassword(ctx, "default", "u1", "$argon2id$digest", later); err != nil {
			t.Fatal(err)
		}
		if err := w.UserSetSuspended(ctx, "default", "u1", true, later); err != nil {
			t.Fatal(err)
		}
		if err := w.UserSignedIn(ctx, "default", "u1", later); err != nil {
			t.Fatal(err)
		}
		u := testUser("u1", "", "bobby", now)
		u.Name, u.UpdatedAt = "Bob", later.Add(time.Second)
		if err := w.UserUpdate(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, err := s.UserGet(ctx, "default", "u1")
		if err != nil {
			t.Fatal(err)
		}
		if got.PrimaryEmail != "" || got.Username != "bobby" || got.Name != "Bob" || got.PasswordDigest != "$argon2id$digest" ||
			!got.IsSuspended || !got.LastSignInAt.Equal(later) || !got.UpdatedAt.Equal(u.UpdatedAt) || !got.CreatedAt.Equal(now) {
			t.Errorf("after the updates: %+v", got)
		}
		for name, err := range map[string]error{
			"update":      w.UserUpdate(ctx, testUser("nobody", "", "", now)),
			"password":    w.UserSetPassword(ctx, "default", "nobody", "", now),
			"suspend":     w.UserSetSuspended(ctx, "default", "nobody", true, now),
			"signed in":   w.UserSignedIn(ctx, "default", "nobody", now),
			"delete":      w.UserDelete(ctx, "default", "nobody"),
			"delete user": w.UserDelete(ctx, "default", "u1"),
		} {
			want := store.ErrNotFound
			if name == "delete user" {
				want = nil
			}
			if !errors.Is(err, want) {
				t.Errorf("%s: err = %v, want %v", name, err, want)
			}
		}
		if _, err := s.UserGet(ctx, "default", "u1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted user: err = %v, want ErrNotFound", err)
		}
	})

	run(t, "ListPagesNewestFirstAndSearches", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		for i := range 5 {
			u := testUser(fmt.Sprintf("u%d", i), fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("name_%d", i), now.Add(time.Duration(i)*time.Second))
			if err := w.UserInsert(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		named := testUser("x", "", "", now)
		named.Name = "Zoë 100% Alice"
		if err := w.UserInsert(ctx, named); err != nil {
			t.Fatal(err)
		}
		ids := func(us []store.User) (out []string) {
			for _, u := range us {
				out = append(out, u.ID)
			}
			return out
		}
		page, total, err := s.UserList(ctx, store.UserFilter{Tenant: "default", Limit: 2, Offset: 2})
		if err != nil || total != 6 || fmt.Sprint(ids(page)) != "[u2 u1]" {
			t.Errorf("second page of two = %v, total %d, %v; want [u2 u1] of 6", ids(page), total, err)
		}
		for search, want := range map[string]string{
			"USER3":   "[u3]",
			"%user3%": "[u3]",
			"name_4":  "[u4]",
			"name\\":  "[]",
			"r_":      "[]",
			"alice":   "[x]",
			"100%":    "[x]",
			"nobody":  "[]",
		} {
			got, total, err := s.UserList(ctx, store.UserFilter{Tenant: "default", Search: search, Limit: 10})
			if err != nil || fmt.Sprint(ids(got)) != want || total != len(got) {
				t.Errorf("search %q = %v (total %d), %v; want %s", search, ids(got), total, err, want)
			}
		}
		if got, total, err := s.UserList(ctx, store.UserFilter{Tenant: "other", Limit: 10}); err != nil || len(got) != 0 || total != 0 {
			t.Errorf("another tenant's list = %v, %d, %v; want none", ids(got), total, err)
		}
	})
}
