package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/password"
	"github.com/authmail/authmail/internal/tenant"
)

// userJSON is Logto's user object. Times are milliseconds, as Logto's;
// the password digest is never part of it, only whether there is one.
type userJSON struct {
	ID           string           `json:"id"`
	Username     *string          `json:"username"`
	PrimaryEmail *string          `json:"primaryEmail"`
	Name         *string          `json:"name"`
	Avatar       *string          `json:"avatar"`
	CustomData   map[string]any   `json:"customData"`
	Profile      identity.Profile `json:"profile"`
	HasPassword  bool             `json:"hasPassword"`
	IsSuspended  bool             `json:"isSuspended"`
	CreatedAt    int64            `json:"createdAt"`
	UpdatedAt    int64            `json:"updatedAt"`
	LastSignInAt *int64           `json:"lastSignInAt"`
}

func userView(u identity.User) userJSON {
	orNull := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	v := userJSON{ID: u.ID, Username: orNull(u.Username), PrimaryEmail: orNull(u.PrimaryEmail), Name: orNull(u.Name), Avatar: orNull(u.Avatar),
		CustomData: u.CustomData, Profile: u.Profile, HasPassword: u.HasPassword, IsSuspended: u.IsSuspended,
		CreatedAt: u.CreatedAt.UnixMilli(), UpdatedAt: u.UpdatedAt.UnixMilli()}
	if !u.LastSignInAt.IsZero() {
		ms := u.LastSignInAt.UnixMilli()
		v.LastSignInAt = &ms
	}
	return v
}

// createUserBody is POST /api/users.
type createUserBody struct {
	PrimaryEmail string           `json:"primaryEmail,omitempty"`
	Username     string           `json:"username,omitempty"`
	Password     string           `json:"password,omitempty"`
	Name         string           `json:"name,omitempty"`
	Avatar       string           `json:"avatar,omitempty"`
	CustomData   map[string]any   `json:"customData,omitempty"`
	Profile      identity.Profile `json:"profile,omitzero"`
}

// patchUserBody is PATCH /api/users/{userId}: a field left out is kept,
// null or "" clears it; customData and profile replace the old values.
type patchUserBody struct {
	Username     *string           `json:"username,omitempty"`
	PrimaryEmail *string           `json:"primaryEmail,omitempty"`
	Name         *string           `json:"name,omitempty"`
	Avatar       *string           `json:"avatar,omitempty"`
	CustomData   map[string]any    `json:"customData,omitempty"`
	Profile      *identity.Profile `json:"profile,omitempty"`
}

// passwordBody is PATCH /api/users/{userId}/password.
type passwordBody struct {
	Password string `json:"password"`
}

// suspendBody is PATCH /api/users/{userId}/is-suspended.
type suspendBody struct {
	IsSuspended bool `json:"isSuspended"`
}

// userQuery is the user list's query parameters, Logto's paging.
func userQuery() []param {
	return []param{
		{name: "page", description: "The page, counted from 1", schema: map[string]any{"type": "integer", "minimum": 1, "default": 1}},
		{name: "page_size", description: "Users per page", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": identity.MaxPageSize, "default": identity.DefaultPageSize}},
		stringParam("search", "Only the users whose primary email, username or name contains this (case-insensitive; % matches anything)"),
	}
}

// totalNumberHeader is Logto's count of every match of a paged list.
func totalNumberHeader() param {
	return param{name: "Total-Number", description: "How many users match, on every page", schema: map[string]any{"type": "integer", "minimum": 0}, required: true}
}

// listUsers answers a page of users, newest first, with the number of
// users that match in the Total-Number header, as Logto's pagination.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lq := identity.ListQuery{Page: 1, PageSize: identity.DefaultPageSize, Search: q.Get("search")}
	for name, dst := range map[string]*int{"page": &lq.Page, "page_size": &lq.PageSize} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return invalidPagination()
			}
			*dst = n
		}
	}
	users, total, err := s.Users.List(r.Context(), tenant.FromContext(r.Context()), lq)
	var fe *identity.FieldError
	if errors.As(err, &fe) && fe.Field == "page" {
		return invalidPagination()
	}
	if err != nil {
		return err
	}
	out := make([]userJSON, 0, len(users))
	for _, u := range users {
		out = append(out, userView(u))
	}
	w.Header().Set("Total-Number", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, out)
	return nil
}

// invalidPagination is Logto's answer to a page or page size out of range.
func invalidPagination() *Error {
	return &Error{Status: http.StatusBadRequest, Code: "guard.invalid_pagination",
		Message: fmt.Sprintf("The pagination value of the request is invalid: page must be 1 or more and page_size from 1 to %d.", identity.MaxPageSize)}
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var b createUserBody
	if err := decode(r, &b); err != nil {
		return err
	}
	policy, err := s.passwordPolicy(r)
	if err != nil {
		return err
	}
	u, err := s.Users.Create(r.Context(), tenant.FromContext(r.Context()), identity.NewUser{PrimaryEmail: b.PrimaryEmail, Username: b.Username,
		Password: b.Password, Name: b.Name, Avatar: b.Avatar, CustomData: b.CustomData, Profile: b.Profile}, policy)
	return writeUser(w, u, err)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.Users.Get(r.Context(), tenant.FromContext(r.Context()), r.PathValue("userId"))
	return writeUser(w, u, userError(err, r))
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) error {
	var b patchUserBody
	// A member given as null clears its field, as "" does; one left out
	// is kept.
	present, err := readPatch(r, &b)
	if err != nil {
		return err
	}
	p := identity.Patch{PrimaryEmail: clearedBy(present, "primaryEmail", b.PrimaryEmail), Username: clearedBy(present, "username", b.Username),
		Name: clearedBy(present, "name", b.Name), Avatar: clearedBy(present, "avatar", b.Avatar), CustomData: b.CustomData, Profile: b.Profile}
	if _, ok := present["customData"]; ok && b.CustomData == nil {
		return invalidInput("customData", "must be an object")
	}
	if _, ok := present["profile"]; ok && b.Profile == nil {
		return invalidInput("profile", "must be an object")
	}
	u, err := s.Users.Update(r.Context(), tenant.FromContext(r.Context()), r.PathValue("userId"), p)
	return writeUser(w, u, userError(err, r))
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := userError(s.Users.Delete(r.Context(), tenant.FromContext(r.Context()), r.PathValue("userId")), r); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) setUserPassword(w http.ResponseWriter, r *http.Request) error {
	var b passwordBody
	if err := decode(r, &b); err != nil {
		return err
	}
	policy, err := s.passwordPolicy(r)
	if err != nil {
		return err
	}
	u, err := s.Users.SetPassword(r.Context(), tenant.FromContext(r.Context()), r.PathValue("userId"), b.Password, policy)
	return writeUser(w, u, userError(err, r))
}

// passwordPolicy is the request's tenant's password policy, which the
// user service checks new passwords against.
func (s *Server) passwordPolicy(r *http.Request) (password.Policy, error) {
	e, err := s.Tenants.Experience(r.Context(), tenant.FromContext(r.Context()))
	return e.PasswordPolicy, err
}

func (s *Server) setUserSuspended(w http.ResponseWriter, r *http.Request) error {
	var b suspendBody
	if err := decode(r, &b); err != nil {
		return err
	}
	u, err := s.Users.SetSuspended(r.Context(), tenant.FromContext(r.Context()), r.PathValue("userId"), b.IsSuspended)
	return writeUser(w, u, userError(err, r))
}

// userError is Logto's 404 for a user ID the tenant does not have.
func userError(err error, r *http.Request) error {
	if errors.Is(err, identity.ErrUserNotFound) {
		id := r.PathValue("userId")
		return &Error{Status: http.StatusNotFound, Code: "entity.not_exists_with_id",
			Message: fmt.Sprintf("The user with ID `%s` does not exist.", id), Data: map[string]string{"name": "user", "id": id}}
	}
	return err
}

func writeUser(w http.ResponseWriter, u identity.User, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userView(u))
	return nil
}
