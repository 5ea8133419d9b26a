package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/password"
)

// usersPageSize is how many users one page of the list shows.
const usersPageSize = 25

// usersData is what the users page shows.
type usersData struct {
	Search string
	Users  []identity.User
	Total  int
	// Prev and Next are the links to the neighbouring pages, "" at an end.
	Prev, Next string
	// New holds what the create form was given, after a refusal.
	New newUserForm
}

// newUserForm is the create form's values (never the password).
type newUserForm struct{ Email, Username, Name string }

// usersPage lists the tenant's users, newest first, a page at a time,
// those whose email, username or name holds ?search= when given.
func (s *Server) usersPage(p *page) error {
	return s.renderUsers(p, p.view("users"), http.StatusOK, newUserForm{})
}

// renderUsers renders the list into v with status, the create form
// holding form.
func (s *Server) renderUsers(p *page, v view, status int, form newUserForm) error {
	d := usersData{Search: strings.TrimSpace(p.r.URL.Query().Get("search")), New: form}
	pg := p.newPager()
	var err error
	d.Users, d.Total, err = s.Users.List(p.r.Context(), p.tenant, identity.ListQuery{Page: pg.N, PageSize: usersPageSize, Search: d.Search})
	if err != nil {
		return err
	}
	pg.links(Prefix+"/users", d.Search, usersPageSize, d.Total)
	d.Prev, d.Next = pg.Prev, pg.Next
	v.Data = d
	p.render(status, "users", v)
	return nil
}

// userErrorField maps a user error to the input it is about and its
// sentence; ok is false for an error that is not the input's.
func (p *page) userError(err error, ids map[string]string) (id, sentence string, ok bool) {
	var fe *identity.FieldError
	var pe *password.Error
	switch {
	case errors.Is(err, identity.ErrEmailInUse):
		return ids["primaryEmail"], p.cat.text(msg("users.email_in_use")), true
	case errors.Is(err, identity.ErrUsernameInUse):
		return ids["username"], p.cat.text(msg("users.username_in_use")), true
	case errors.As(err, &pe):
		return ids["password"], pe.Error(), true
	case errors.As(err, &fe):
		id := ids[fe.Field]
		if id == "" {
			id = ids[""]
		}
		return id, fe.Field + " " + fe.Reason, true
	}
	return "", "", false
}

// createUser creates a user from the list page's form.
func (s *Server) createUser(p *page) error {
	f := p.r.PostForm
	form := newUserForm{Email: strings.TrimSpace(f.Get("primaryEmail")), Username: strings.TrimSpace(f.Get("username")), Name: strings.TrimSpace(f.Get("name"))}
	exp, err := s.Tenants.Experience(p.r.Context(), p.tenant)
	if err != nil {
		return err
	}
	u, err := s.Users.Create(p.r.Context(), p.tenant, identity.NewUser{PrimaryEmail: form.Email, Username: form.Username, Name: form.Name,
		Password: f.Get("password")}, exp.PasswordPolicy)
	if err != nil {
		id, sentence, ok := p.userError(err, map[string]string{"primaryEmail": "new-email", "username": "new-username", "name": "new-name",
			"password": "new-password", "": "new-email"})
		if !ok {
			return err
		}
		v := p.view("users")
		v.Fields, v.Focus, v.Error = map[string]string{id: sentence}, id, p.cat.text(msg("users.fix"))
		return s.renderUsers(p, v, http.StatusBadRequest, form)
	}
	return p.redirect(Prefix + "/users/" + url.PathEscape(u.ID) + "?notice=user_created")
}

// userData is what one user's page shows.
type userData struct {
	User identity.User
	// Admin says the user holds the admin role: it may sign in to the
	// console.
	Admin bool
}

// userView reads what a user's page shows.
func (s *Server) userView(p *page, id string) (userData, error) {
	u, err := s.Users.Get(p.r.Context(), p.tenant, id)
	if err != nil {
		return userData{}, err
	}
	admin, err := s.Apps.HoldsRole(p.r.Context(), p.tenant, id, apps.AdminRoleID)
	return userData{User: u, Admin: admin}, err
}

// userPage shows one user with suspend or reinstate, the admin role and a
// new password.
func (s *Server) userPage(p *page) error {
	d, err := s.userView(p, p.r.PathValue("id"))
	if err != nil {
		return err
	}
	v := p.view("users")
	v.Data = d
	p.render(http.StatusOK, "user", v)
	return nil
}

// setUserAdmin gives a user the admin role or takes it (admin=true or
// false).
func (s *Server) setUserAdmin(p *page) error {
	on, err := strconv.ParseBool(p.r.PostForm.Get("admin"))
	if err != nil {
		p.errorPage(http.StatusBadRequest, msg("error.bad_form"))
		return nil
	}
	id := p.r.PathValue("id")
	notice := "user_admin"
	if on {
		err = s.Apps.AssignUserRoles(p.r.Context(), p.tenant, id, []string{apps.AdminRoleID})
	} else {
		notice = "user_not_admin"
		if err = s.Apps.RemoveUserRole(p.r.Context(), p.tenant, id, apps.AdminRoleID); errors.Is(err, apps.ErrUserRoleNotHeld) {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	return p.redirect(Prefix + "/users/" + url.PathEscape(id) + "?notice=" + notice)
}

// suspendUser suspends or reinstates a user (suspended=true or false).
func (s *Server) suspendUser(p *page) error {
	on, err := strconv.ParseBool(p.r.PostForm.Get("suspended"))
	if err != nil {
		p.errorPage(http.StatusBadRequest, msg("error.bad_form"))
		return nil
	}
	u, err := s.Users.SetSuspended(p.r.Context(), p.tenant, p.r.PathValue("id"), on)
	if err != nil {
		return err
	}
	notice := "user_reinstated"
	if on {
		notice = "user_suspended"
	}
	return p.redirect(Prefix + "/users/" + url.PathEscape(u.ID) + "?notice=" + notice)
}

// setUserPassword sets a user's password, checked against the tenant's
// password policy.
func (s *Server) setUserPassword(p *page) error {
	exp, err := s.Tenants.Experience(p.r.Context(), p.tenant)
	if err != nil {
		return err
	}
	id := p.r.PathValue("id")
	u, err := s.Users.SetPassword(p.r.Context(), p.tenant, id, p.r.PostForm.Get("password"), exp.PasswordPolicy)
	if err != nil {
		field, sentence, ok := p.userError(err, map[string]string{"password": "user-password", "": "user-password"})
		if !ok {
			return err
		}
		cur, gerr := s.userView(p, id)
		if gerr != nil {
			return gerr
		}
		v := p.view("users")
		v.Fields, v.Focus, v.Data = map[string]string{field: sentence}, field, cur
		p.render(http.StatusBadRequest, "user", v)
		return nil
	}
	return p.redirect(Prefix + "/users/" + url.PathEscape(u.ID) + "?notice=password_set")
}
