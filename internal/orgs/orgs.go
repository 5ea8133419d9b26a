// Package orgs keeps a tenant's organizations as Logto's management API
// has them: organizations, their members, the organization template's
// roles and the roles members hold, and invitations to join by email
// (invitations.go), which mail through sendcode.Send and may be accepted
// on the page authmail hosts (accept.go) or by the app (SetStatus).
//
// It is a flows package: it sits below the HTTP layer and above sendcode,
// identity and the store.
package orgs

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
)

// Deps are the services organizations use.
type Deps struct {
	Store    *store.Store
	Keys     *keyring.Keyring
	Users    *identity.Service
	Codes    *sendcode.Service
	Delivery *delivery.Service
	Tenants  *tenant.Settings
	Now      func() time.Time
	Logger   *slog.Logger
	// PublicURL is the URL authmail is reached at; the hosted accept page
	// is under it.
	PublicURL string
}

// Service keeps organizations, roles, members and invitations.
type Service struct {
	d Deps
}

// New returns the service over d.
func New(d Deps) *Service { return &Service{d: d} }

// NotFoundError names what was not found: Entity is Logto's table name
// ("organizations", "organization_roles", "organization_invitations",
// "users") and ID what was asked for.
type NotFoundError struct {
	Entity, ID string
}

// Error says what is missing.
func (e *NotFoundError) Error() string { return fmt.Sprintf("no %s with ID %q", e.Entity, e.ID) }

// FieldError is an input the service refuses: the field (by its JSON
// name) and why, completing a sentence that starts with the field.
type FieldError struct {
	Field, Reason string
}

// Error returns "field reason".
func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

// Error is a refusal with Logto's code and status, such as 422
// entity.unique_integrity_violation.
type Error struct {
	Status        int
	Code, Message string
	Data          any
}

// Error returns "code: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Logto's refusals.
func errUnique(what string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "entity.unique_integrity_violation",
		Message: "The entity already exists or conflicts with another one: " + what + "."}
}

func errRelation(field, id string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "entity.relation_foreign_key_not_found",
		Message: fmt.Sprintf("Cannot find one or more foreign keys: %s `%s` does not exist.", field, id), Data: map[string]string{"field": field, "id": id}}
}

func errRequireMembership() *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "organization.require_membership",
		Message: "The user must be a member of the organization to proceed."}
}

// invalidRequest is Logto's request.invalid_input with its details.
func invalidRequest(status int, details string) *Error {
	return &Error{Status: status, Code: "request.invalid_input", Message: "Request input is invalid. " + details}
}

// Page is one page of a list: Page counts from 1.
type Page struct {
	Page, PageSize int
}

// Paging bounds, Logto's.
const (
	DefaultPageSize = identity.DefaultPageSize
	MaxPageSize     = identity.MaxPageSize
)

func (p Page) check() error {
	if p.Page < 1 || p.PageSize < 1 || p.PageSize > MaxPageSize {
		return &FieldError{Field: "page", Reason: fmt.Sprintf("must be 1 or more, and page_size from 1 to %d", MaxPageSize)}
	}
	return nil
}

func (p Page) limits() (limit, offset int) { return p.PageSize, (p.Page - 1) * p.PageSize }

// newID is an ID as Logto makes them: lower-case letters and digits.
func newID(n int) string {
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(keyring.RandomBytes(16)))[:n]
}

// Organization is Logto's organization object. Description and CustomCSS
// are "" when unset.
type Organization struct {
	ID, Name, Description string
	CustomData            map[string]any
	IsMfaRequired         bool
	Color, Branding       map[string]any
	CustomCSS             string
	CreatedAt             time.Time
}

// ReturnURLKey is the customData member that holds where the hosted
// accept page sends a member who joined: an absolute https URL (or http
// to a loopback host). Without it the page says the invitee joined.
const ReturnURLKey = "invitationReturnUrl"

// OrganizationInput is a new organization, or a change to one: a nil
// field is kept on a change (Name must be given on create).
type OrganizationInput struct {
	Name, Description, CustomCSS *string
	CustomData, Color, Branding  map[string]any
	IsMfaRequired                *bool
}

func orgView(r store.Organization) (Organization, error) {
	o := Organization{ID: r.ID, Name: r.Name, Description: r.Description, IsMfaRequired: r.IsMfaRequired, CustomCSS: r.CustomCSS, CreatedAt: r.CreatedAt}
	for _, f := range []struct {
		raw string
		dst *map[string]any
	}{{r.CustomData, &o.CustomData}, {r.Color, &o.Color}, {r.Branding, &o.Branding}} {
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return Organization{}, fmt.Errorf("organization %s: stored JSON: %w", r.ID, err)
		}
		if *f.dst == nil {
			*f.dst = map[string]any{}
		}
	}
	return o, nil
}

func checkText(field, v string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return &FieldError{Field: field, Reason: "must not be empty"}
	case utf8.RuneCountInString(v) > max:
		return &FieldError{Field: field, Reason: fmt.Sprintf("must be at most %d characters", max)}
	}
	return nil
}

func encodeObject(field string, m map[string]any) (string, error) {
	if m == nil {
		m = map[string]any{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", &FieldError{Field: field, Reason: "must be a JSON object"}
	}
	return string(b), nil
}

// apply writes in's fields onto row, checking them.
func (in OrganizationInput) apply(row *store.Organization) error {
	if in.Name != nil {
		row.Name = *in.Name
	}
	if in.Description != nil {
		row.Description = *in.Description
	}
	if in.CustomCSS != nil {
		row.CustomCSS = *in.CustomCSS
	}
	if in.IsMfaRequired != nil {
		row.IsMfaRequired = *in.IsMfaRequired
	}
	if err := checkText("name", row.Name, 128, true); err != nil {
		return err
	}
	if err := checkText("description", row.Description, 256, false); err != nil {
		return err
	}
	if in.CustomData != nil {
		if raw, ok := in.CustomData[ReturnURLKey]; ok {
			s, _ := raw.(string)
			if p := returnURLProblem(s); p != "" {
				return &FieldError{Field: "customData." + ReturnURLKey, Reason: p}
			}
		}
	}
	for _, f := range []struct {
		name string
		m    map[string]any
		dst  *string
	}{{"customData", in.CustomData, &row.CustomData}, {"color", in.Color, &row.Color}, {"branding", in.Branding, &row.Branding}} {
		if f.m == nil {
			if *f.dst == "" {
				*f.dst = "{}"
			}
			continue
		}
		s, err := encodeObject(f.name, f.m)
		if err != nil {
			return err
		}
		*f.dst = s
	}
	return nil
}

func orgError(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &NotFoundError{Entity: "organizations", ID: id}
	}
	return err
}

// CreateOrganization stores a new organization.
func (s *Service) CreateOrganization(ctx context.Context, tenantID string, in OrganizationInput) (Organization, error) {
	if in.Name == nil {
		return Organization{}, &FieldError{Field: "name", Reason: "is required"}
	}
	row := store.Organization{TenantID: tenantID, ID: newID(12), CreatedAt: s.d.Now()}
	if err := in.apply(&row); err != nil {
		return Organization{}, err
	}
	if err := s.d.Store.WriteQ().OrganizationInsert(ctx, row); err != nil {
		return Organization{}, err
	}
	return orgView(row)
}

// Organization reads one organization.
func (s *Service) Organization(ctx context.Context, tenantID, id string) (Organization, error) {
	row, err := s.d.Store.OrganizationGet(ctx, tenantID, id)
	if err != nil {
		return Organization{}, orgError(err, id)
	}
	return orgView(row)
}

// Organizations returns a page of the tenant's organizations, newest
// first, whose ID or name contains search, and how many match.
func (s *Service) Organizations(ctx context.Context, tenantID, search string, p Page) ([]Organization, int, error) {
	if err := p.check(); err != nil {
		return nil, 0, err
	}
	limit, offset := p.limits()
	rows, total, err := s.d.Store.OrganizationList(ctx, tenantID, search, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Organization, 0, len(rows))
	for _, r := range rows {
		o, err := orgView(r)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, o)
	}
	return out, total, nil
}

// UpdateOrganization changes the fields given; customData, color and
// branding replace the old values whole.
func (s *Service) UpdateOrganization(ctx context.Context, tenantID, id string, in OrganizationInput) (Organization, error) {
	var out store.Organization
	err := s.d.Store.InTx(ctx, func(tx *store.Tx) error {
		row, err := tx.OrganizationGet(ctx, tenantID, id)
		if err != nil {
			return orgError(err, id)
		}
		if err := in.apply(&row); err != nil {
			return err
		}
		out = row
		return tx.OrganizationUpdate(ctx, row)
	})
	if err != nil {
		return Organization{}, err
	}
	return orgView(out)
}

// DeleteOrganization removes an organization, its memberships and its
// invitations.
func (s *Service) DeleteOrganization(ctx context.Context, tenantID, id string) error {
	return orgError(s.d.Store.WriteQ().OrganizationDelete(ctx, tenantID, id), id)
}

// RoleTypes are the organization role types, Logto's.
func RoleTypes() []string { return []string{"User", "MachineToMachine"} }

// Role is Logto's organization role. Description is "" when unset.
type Role struct {
	ID, Name, Description, Type string
}

func roleView(r store.OrganizationRole) Role {
	return Role{ID: r.ID, Name: r.Name, Description: r.Description, Type: r.Type}
}

func roleViews(rows []store.OrganizationRole) []Role {
	out := make([]Role, 0, len(rows))
	for _, r := range rows {
		out = append(out, roleView(r))
	}
	return out
}

// RoleInput is a new role or a change to one: a nil field is kept on a
// change; the type is set on create only.
type RoleInput struct {
	Name, Description, Type *string
}

func roleError(err error, id string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &NotFoundError{Entity: "organization_roles", ID: id}
	case errors.Is(err, store.ErrConflict):
		return errUnique("another organization role has this name")
	}
	return err
}

func (in RoleInput) apply(row *store.OrganizationRole) error {
	if in.Name != nil {
		row.Name = *in.Name
	}
	if in.Description != nil {
		row.Description = *in.Description
	}
	if err := checkText("name", row.Name, 128, true); err != nil {
		return err
	}
	return checkText("description", row.Description, 256, false)
}

// CreateRole stores a new organization role; its name is unique in the
// tenant.
func (s *Service) CreateRole(ctx context.Context, tenantID string, in RoleInput) (Role, error) {
	if in.Name == nil {
		return Role{}, &FieldError{Field: "name", Reason: "is required"}
	}
	row := store.OrganizationRole{TenantID: tenantID, ID: newID(21), Type: "User", CreatedAt: s.d.Now()}
	if in.Type != nil {
		if !slices.Contains(RoleTypes(), *in.Type) {
			return Role{}, &FieldError{Field: "type", Reason: "must be User or MachineToMachine"}
		}
		row.Type = *in.Type
	}
	if err := in.apply(&row); err != nil {
		return Role{}, err
	}
	if err := s.d.Store.WriteQ().OrganizationRoleInsert(ctx, row); err != nil {
		return Role{}, roleError(err, row.ID)
	}
	return roleView(row), nil
}

// Role reads one organization role.
func (s *Service) Role(ctx context.Context, tenantID, id string) (Role, error) {
	row, err := s.d.Store.OrganizationRoleGet(ctx, tenantID, id)
	if err != nil {
		return Role{}, roleError(err, id)
	}
	return roleView(row), nil
}

// Roles returns a page of the tenant's organization roles by name whose
// ID or name contains search, and how many match.
func (s *Service) Roles(ctx context.Context, tenantID, search string, p Page) ([]Role, int, error) {
	if err := p.check(); err != nil {
		return nil, 0, err
	}
	limit, offset := p.limits()
	rows, total, err := s.d.Store.OrganizationRoleList(ctx, tenantID, search, limit, offset)
	return roleViews(rows), total, err
}

// UpdateRole changes a role's name or description.
func (s *Service) UpdateRole(ctx context.Context, tenantID, id string, in RoleInput) (Role, error) {
	if in.Type != nil {
		return Role{}, &FieldError{Field: "type", Reason: "cannot be changed"}
	}
	var out store.OrganizationRole
	err := s.d.Store.InTx(ctx, func(tx *store.Tx) error {
		row, err := tx.OrganizationRoleGet(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if err := in.apply(&row); err != nil {
			return err
		}
		out = row
		return tx.OrganizationRoleUpdate(ctx, row)
	})
	if err != nil {
		return Role{}, roleError(err, id)
	}
	return roleView(out), nil
}

// DeleteRole removes a role, from the members who hold it and the
// invitations that give it too.
func (s *Service) DeleteRole(ctx context.Context, tenantID, id string) error {
	return roleError(s.d.Store.WriteQ().OrganizationRoleDelete(ctx, tenantID, id), id)
}

// Member is a member of an organization with the roles they hold there.
type Member struct {
	User  identity.User
	Roles []Role
}

// Members returns a page of an organization's members, newest users
// first, whose email, username or name contains search and who hold
// roleID there (any member when ""), and how many match.
func (s *Service) Members(ctx context.Context, tenantID, orgID, search, roleID string, p Page) ([]Member, int, error) {
	if _, err := s.d.Store.OrganizationGet(ctx, tenantID, orgID); err != nil {
		return nil, 0, orgError(err, orgID)
	}
	users, total, err := s.d.Users.List(ctx, tenantID, identity.ListQuery{Page: p.Page, PageSize: p.PageSize, Search: search, Organization: orgID, OrganizationRole: roleID})
	var fe *identity.FieldError
	if errors.As(err, &fe) {
		return nil, 0, &FieldError{Field: fe.Field, Reason: fe.Reason}
	}
	if err != nil {
		return nil, 0, err
	}
	out := make([]Member, 0, len(users))
	for _, u := range users {
		roles, err := s.d.Store.OrganizationMemberRoles(ctx, tenantID, orgID, u.ID)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, Member{User: u, Roles: roleViews(roles)})
	}
	return out, total, nil
}

// AddMembers makes users members of an organization, in one transaction;
// a member already stays one.
func (s *Service) AddMembers(ctx context.Context, tenantID, orgID string, userIDs []string) error {
	if len(userIDs) == 0 {
		return &FieldError{Field: "userIds", Reason: "must name at least one user"}
	}
	return s.d.Store.InTx(ctx, func(tx *store.Tx) error { return s.addMembers(ctx, tx, tenantID, orgID, userIDs) })
}

// addMembers checks the organization and the users and adds them, inside
// tx.
func (s *Service) addMembers(ctx context.Context, tx *store.Tx, tenantID, orgID string, userIDs []string) error {
	if _, err := tx.OrganizationGet(ctx, tenantID, orgID); err != nil {
		return orgError(err, orgID)
	}
	for _, id := range userIDs {
		if _, err := tx.UserGet(ctx, tenantID, id); errors.Is(err, store.ErrNotFound) {
			return errRelation("userIds", id)
		} else if err != nil {
			return err
		}
		if err := tx.OrganizationMemberAdd(ctx, tenantID, orgID, id, s.d.Now()); err != nil {
			return err
		}
	}
	return nil
}

// ReplaceMembers makes userIDs the organization's members, in one
// transaction: the others stop being members, with the roles they held.
func (s *Service) ReplaceMembers(ctx context.Context, tenantID, orgID string, userIDs []string) error {
	return s.d.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := s.addMembers(ctx, tx, tenantID, orgID, userIDs); err != nil {
			return err
		}
		current, err := tx.OrganizationMemberIDs(ctx, tenantID, orgID)
		if err != nil {
			return err
		}
		for _, id := range current {
			if !slices.Contains(userIDs, id) {
				if err := tx.OrganizationMemberRemove(ctx, tenantID, orgID, id); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// AssignRolesToMembers gives each of the members userIDs each of the
// roles roleIDs, in one transaction (Logto's POST .../users/roles).
func (s *Service) AssignRolesToMembers(ctx context.Context, tenantID, orgID string, userIDs, roleIDs []string) error {
	if len(userIDs) == 0 || len(roleIDs) == 0 {
		return &FieldError{Field: "userIds", Reason: "and organizationRoleIds must each name at least one"}
	}
	return s.d.Store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.OrganizationGet(ctx, tenantID, orgID); err != nil {
			return orgError(err, orgID)
		}
		roles, err := resolveRoles(ctx, tx.Reader, tenantID, roleIDs, nil)
		if err != nil {
			return err
		}
		for _, u := range userIDs {
			if ok, err := tx.OrganizationIsMember(ctx, tenantID, orgID, u); err != nil {
				return err
			} else if !ok {
				return errRelation("userIds", u)
			}
			for _, r := range roles {
				if err := tx.OrganizationMemberRoleAdd(ctx, tenantID, orgID, u, r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// UserOrganization is an organization a user is a member of, with the
// roles the user holds there.
type UserOrganization struct {
	Organization Organization
	Roles        []Role
}

// UserOrganizations returns the organizations a user is a member of, by
// name (Logto's GET /api/users/{userId}/organizations).
func (s *Service) UserOrganizations(ctx context.Context, tenantID, userID string) ([]UserOrganization, error) {
	if _, err := s.d.Users.Get(ctx, tenantID, userID); errors.Is(err, identity.ErrUserNotFound) {
		return nil, &NotFoundError{Entity: "users", ID: userID}
	} else if err != nil {
		return nil, err
	}
	rows, err := s.d.Store.OrganizationsOfUser(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	out := make([]UserOrganization, 0, len(rows))
	for _, r := range rows {
		o, err := orgView(r)
		if err != nil {
			return nil, err
		}
		roles, err := s.d.Store.OrganizationMemberRoles(ctx, tenantID, r.ID, userID)
		if err != nil {
			return nil, err
		}
		out = append(out, UserOrganization{Organization: o, Roles: roleViews(roles)})
	}
	return out, nil
}

// RemoveMember ends a membership and the roles it held.
func (s *Service) RemoveMember(ctx context.Context, tenantID, orgID, userID string) error {
	if _, err := s.d.Store.OrganizationGet(ctx, tenantID, orgID); err != nil {
		return orgError(err, orgID)
	}
	err := s.d.Store.WriteQ().OrganizationMemberRemove(ctx, tenantID, orgID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return errRequireMembership()
	}
	return err
}

// member checks that the organization exists and the user is a member.
func member(ctx context.Context, r store.Reader, tenantID, orgID, userID string) error {
	if _, err := r.OrganizationGet(ctx, tenantID, orgID); err != nil {
		return orgError(err, orgID)
	}
	ok, err := r.OrganizationIsMember(ctx, tenantID, orgID, userID)
	if err == nil && !ok {
		err = errRequireMembership()
	}
	return err
}

// MemberRoles returns the roles a member holds in an organization.
func (s *Service) MemberRoles(ctx context.Context, tenantID, orgID, userID string) ([]Role, error) {
	if err := member(ctx, s.d.Store.Reader, tenantID, orgID, userID); err != nil {
		return nil, err
	}
	rows, err := s.d.Store.OrganizationMemberRoles(ctx, tenantID, orgID, userID)
	return roleViews(rows), err
}

// resolveRoles returns the IDs of the roles named by ID or by name, each
// once, or Logto's refusal for one the tenant does not have.
func resolveRoles(ctx context.Context, r store.Reader, tenantID string, ids, names []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		if _, err := r.OrganizationRoleGet(ctx, tenantID, id); errors.Is(err, store.ErrNotFound) {
			return nil, errRelation("organizationRoleIds", id)
		} else if err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(names) > 0 {
		found, err := r.OrganizationRolesNamed(ctx, tenantID, names)
		if err != nil {
			return nil, err
		}
		var missing []string
		for _, n := range names {
			i := slices.IndexFunc(found, func(r store.OrganizationRole) bool { return r.Name == n })
			if i < 0 {
				missing = append(missing, n)
			} else if !slices.Contains(out, found[i].ID) {
				out = append(out, found[i].ID)
			}
		}
		if len(missing) > 0 {
			return nil, &Error{Status: http.StatusUnprocessableEntity, Code: "organization.role_names_not_found",
				Message: "There are no roles named " + strings.Join(missing, ", ") + ".", Data: map[string]any{"names": missing}}
		}
	}
	return out, nil
}

// AssignRoles gives a member roles, by ID or by name (replace: instead of
// the ones they hold), in one transaction, and returns the IDs given.
func (s *Service) AssignRoles(ctx context.Context, tenantID, orgID, userID string, ids, names []string, replace bool) ([]string, error) {
	var out []string
	err := s.d.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := member(ctx, tx.Reader, tenantID, orgID, userID); err != nil {
			return err
		}
		var err error
		if out, err = resolveRoles(ctx, tx.Reader, tenantID, ids, names); err != nil {
			return err
		}
		if replace {
			if err := tx.OrganizationMemberRolesClear(ctx, tenantID, orgID, userID); err != nil {
				return err
			}
		}
		for _, id := range out {
			if err := tx.OrganizationMemberRoleAdd(ctx, tenantID, orgID, userID, id); err != nil {
				return err
			}
		}
		return nil
	})
	if out == nil {
		out = []string{}
	}
	return out, err
}

// RemoveRole takes a role from a member.
func (s *Service) RemoveRole(ctx context.Context, tenantID, orgID, userID, roleID string) error {
	if err := member(ctx, s.d.Store.Reader, tenantID, orgID, userID); err != nil {
		return err
	}
	err := s.d.Store.WriteQ().OrganizationMemberRoleRemove(ctx, tenantID, orgID, userID, roleID)
	if errors.Is(err, store.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Code: "entity.not_found", Message: "The member does not hold this organization role."}
	}
	return err
}

// returnURLProblem says what is wrong with an organization's return URL,
// or "" when nothing is.
func returnURLProblem(raw string) string { return apps.WebURIProblem(raw) }
