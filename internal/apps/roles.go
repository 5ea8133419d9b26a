package apps

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/authmail/authmail/internal/store"
)

// RoleType is a role's kind, Logto's names: a User role is given to users,
// a MachineToMachine role to MachineToMachine applications.
type RoleType string

// The role types.
const (
	RoleTypeUser             RoleType = "User"
	RoleTypeMachineToMachine RoleType = "MachineToMachine"
)

// RoleTypes lists every role type.
func RoleTypes() []RoleType { return []RoleType{RoleTypeUser, RoleTypeMachineToMachine} }

// Role is Logto's role object.
type Role struct {
	ID, Name, Description string
	Type                  RoleType
	IsDefault             bool
	// scopes are what the role grants, by resource indicator.
	scopes map[string][]string
}

// builtinRoles are the roles every tenant has: Logto's pre-configured
// "Logto Management API access" role, which grants ManagementScope on
// ManagementResource, and the administrators' User role.
func builtinRoles() []Role {
	return []Role{{ID: ManagementRoleID, Name: "Logto Management API access",
		Description: "This default role grants access to the Logto management API.", Type: RoleTypeMachineToMachine,
		scopes: map[string][]string{ManagementResource: {ManagementScope}}},
		{ID: AdminRoleID, Name: "Admin", Description: "Signs in to the admin console through the hosted sign-in pages.", Type: RoleTypeUser}}
}

func findRole(id string) (Role, bool) {
	i := slices.IndexFunc(builtinRoles(), func(r Role) bool { return r.ID == id })
	if i < 0 {
		return Role{}, false
	}
	return builtinRoles()[i], true
}

// RoleSummary is a role as Logto's role list shows it: with how many
// users and applications hold it and the first three of each.
type RoleSummary struct {
	Role                 Role
	UsersCount           int
	FeaturedUsers        []FeaturedUser
	ApplicationsCount    int
	FeaturedApplications []Application
}

// FeaturedUser is a user a role list shows.
type FeaturedUser struct {
	ID, Name, Avatar string
}

// Roles returns the tenant's roles of a type (every type when ""), a page
// of them, and how many there are.
func (s *Service) Roles(ctx context.Context, tenant string, typ RoleType, p Page) ([]RoleSummary, int, error) {
	if typ != "" && !slices.Contains(RoleTypes(), typ) {
		return nil, 0, &FieldError{Field: "type", Reason: "must be User or MachineToMachine"}
	}
	var roles []Role
	for _, r := range builtinRoles() {
		if typ == "" || r.Type == typ {
			roles = append(roles, r)
		}
	}
	page := pageOf(roles, p)
	out := make([]RoleSummary, 0, len(page))
	for _, r := range page {
		rows, n, err := s.st.RoleApplications(ctx, tenant, r.ID, 3)
		if err != nil {
			return nil, 0, err
		}
		users, nu, err := s.st.RoleUsers(ctx, tenant, r.ID, 3)
		if err != nil {
			return nil, 0, err
		}
		sum := RoleSummary{Role: r, ApplicationsCount: n, FeaturedApplications: []Application{}, UsersCount: nu, FeaturedUsers: []FeaturedUser{}}
		for _, u := range users {
			sum.FeaturedUsers = append(sum.FeaturedUsers, FeaturedUser{ID: u.ID, Name: u.Name, Avatar: u.Avatar})
		}
		for _, row := range rows {
			a, err := view(row)
			if err != nil {
				return nil, 0, err
			}
			sum.FeaturedApplications = append(sum.FeaturedApplications, a)
		}
		out = append(out, sum)
	}
	return out, len(roles), nil
}

// pageOf cuts a page out of a list.
func pageOf[T any](all []T, p Page) []T {
	if p.Offset >= len(all) {
		return nil
	}
	all = all[p.Offset:]
	if p.Limit > 0 && p.Limit < len(all) {
		all = all[:p.Limit]
	}
	return all
}

// machineToMachine reads an application that may hold roles.
func machineToMachine(ctx context.Context, r store.Reader, tenant, id string) (store.Application, error) {
	row, err := r.ApplicationGet(ctx, tenant, id)
	if err != nil {
		return store.Application{}, appError(err, id)
	}
	if Type(row.Type) != TypeMachineToMachine {
		return store.Application{}, ErrNotMachineToMachine
	}
	return row, nil
}

// AppRoles returns a page of the roles a MachineToMachine application
// holds, and how many it holds.
func (s *Service) AppRoles(ctx context.Context, tenant, appID string, p Page) ([]Role, int, error) {
	if _, err := machineToMachine(ctx, s.st.Reader, tenant, appID); err != nil {
		return nil, 0, err
	}
	ids, err := s.st.ApplicationRoles(ctx, tenant, appID)
	if err != nil {
		return nil, 0, err
	}
	var roles []Role
	for _, id := range ids {
		if r, ok := findRole(id); ok {
			roles = append(roles, r)
		}
	}
	return pageOf(roles, p), len(roles), nil
}

// AssignRoles gives a MachineToMachine application roles, and returns the
// ones it did not hold yet. Every role is checked before any is given.
func (s *Service) AssignRoles(ctx context.Context, tenant, appID string, roleIDs []string) ([]string, error) {
	added := []string{}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockKey(ctx, lockKey(tenant, appID)); err != nil {
			return err
		}
		if _, err := machineToMachine(ctx, tx.Reader, tenant, appID); err != nil {
			return err
		}
		var want []string
		for _, id := range roleIDs {
			if slices.Contains(want, id) {
				continue
			}
			r, ok := findRole(id)
			if !ok {
				return &NotFoundError{Entity: "roles", ID: id}
			}
			if r.Type != RoleTypeMachineToMachine {
				return ErrUserRole
			}
			want = append(want, id)
		}
		for _, id := range want {
			fresh, err := tx.ApplicationRoleAdd(ctx, tenant, appID, id, s.now())
			if err != nil {
				return err
			}
			if fresh {
				added = append(added, id)
			}
		}
		return nil
	})
	return added, err
}

// RemoveRole takes a role from a MachineToMachine application;
// ErrRoleNotHeld when it does not hold it.
func (s *Service) RemoveRole(ctx context.Context, tenant, appID, roleID string) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockKey(ctx, lockKey(tenant, appID)); err != nil {
			return err
		}
		if _, err := machineToMachine(ctx, tx.Reader, tenant, appID); err != nil {
			return err
		}
		err := tx.ApplicationRoleRemove(ctx, tenant, appID, roleID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrRoleNotHeld
		}
		return err
	})
}

// M2MScopes returns the scopes a MachineToMachine application may get for
// a resource under client_credentials, from the roles it holds, sorted;
// another type of application gets none. ErrNotFound when there is no
// such application.
func (s *Service) M2MScopes(ctx context.Context, tenant, appID, indicator string) ([]string, error) {
	_, err := machineToMachine(ctx, s.st.Reader, tenant, appID)
	if errors.Is(err, ErrNotMachineToMachine) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	ids, err := s.st.ApplicationRoles(ctx, tenant, appID)
	if err != nil {
		return nil, err
	}
	scopes := []string{}
	for _, id := range ids {
		if r, ok := findRole(id); ok {
			scopes = append(scopes, r.scopes[indicator]...)
		}
	}
	slices.Sort(scopes)
	return slices.Compact(scopes), nil
}

// ManagementAccess reports whether an application exists and holds a
// role that grants ManagementScope on ManagementResource: what a
// client_credentials token must still have to open the management API.
func (s *Service) ManagementAccess(ctx context.Context, tenant, appID string) (bool, error) {
	scopes, err := s.M2MScopes(ctx, tenant, appID, ManagementResource)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return slices.Contains(scopes, ManagementScope), err
}

// Resource is an API resource, Logto's shape. AccessTokenTTL is seconds.
type Resource struct {
	ID, Name, Indicator string
	AccessTokenTTL      int
	IsDefault           bool
	// Scopes are the resource's permissions (the management API's "all";
	// a tenant's own resources have none yet).
	Scopes []Scope
}

// Scope is a permission of a resource.
type Scope struct {
	ID, Name, Description string
}

// managementResource is the built-in management API resource, as Logto
// seeds it.
func managementResource() Resource {
	return Resource{ID: ManagementResourceID, Name: "Logto Management API", Indicator: ManagementResource, AccessTokenTTL: DefaultAccessTokenTTL,
		Scopes: []Scope{{ID: "management-api-all", Name: ManagementScope, Description: "Default scope for Management API, allows all permissions."}}}
}

func resourceView(r store.Resource) Resource {
	return Resource{ID: r.ID, Name: r.Name, Indicator: r.Indicator, AccessTokenTTL: r.AccessTokenTTL}
}

// Resource reads a resource by its indicator; ErrNotFound when the tenant
// has none.
func (s *Service) Resource(ctx context.Context, tenant, indicator string) (Resource, error) {
	if indicator == ManagementResource {
		return managementResource(), nil
	}
	r, err := s.st.ResourceByIndicator(ctx, tenant, indicator)
	if errors.Is(err, store.ErrNotFound) {
		return Resource{}, &NotFoundError{Entity: "resources", ID: indicator}
	}
	return resourceView(r), err
}

// ResourceByID reads a resource by its ID.
func (s *Service) ResourceByID(ctx context.Context, tenant, id string) (Resource, error) {
	if id == ManagementResourceID {
		return managementResource(), nil
	}
	r, err := s.st.ResourceGet(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return Resource{}, &NotFoundError{Entity: "resources", ID: id}
	}
	return resourceView(r), err
}

// Resources returns a page of the tenant's resources, the management API
// first and then the others oldest first, and how many there are.
func (s *Service) Resources(ctx context.Context, tenant string, p Page) ([]Resource, int, error) {
	// The built-in resource is the list's first item; the rows follow.
	limit, offset := p.Limit, p.Offset-1
	var out []Resource
	if p.Offset == 0 {
		out = append(out, managementResource())
		offset = 0
		if limit > 0 {
			limit--
		}
	}
	var rows []store.Resource
	var total int
	var err error
	if p.Limit == 0 || limit > 0 {
		rows, total, err = s.st.ResourceList(ctx, tenant, limit, offset)
	} else {
		_, total, err = s.st.ResourceList(ctx, tenant, 1, 0)
	}
	if err != nil {
		return nil, 0, err
	}
	for _, r := range rows {
		out = append(out, resourceView(r))
	}
	if out == nil {
		out = []Resource{}
	}
	return out, total + 1, nil
}

// NewResource is what CreateResource is given; AccessTokenTTL 0 is the
// default.
type NewResource struct {
	Name, Indicator string
	AccessTokenTTL  int
}

// CreateResource checks and stores a new resource. Its indicator is an
// absolute URI without a fragment (RFC 8707), unique in the tenant.
func (s *Service) CreateResource(ctx context.Context, tenant string, n NewResource) (Resource, error) {
	if strings.TrimSpace(n.Name) == "" || utf8.RuneCountInString(n.Name) > maxName {
		return Resource{}, &FieldError{Field: "name", Reason: fmt.Sprintf("must be 1 to %d characters", maxName)}
	}
	if u, err := url.Parse(n.Indicator); err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(n.Indicator, "#") ||
		len(n.Indicator) > maxURI || strings.ContainsFunc(n.Indicator, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return Resource{}, &FieldError{Field: "indicator", Reason: fmt.Sprintf("must be an absolute URI without a fragment, at most %d bytes, such as https://api.example.com", maxURI)}
	}
	if n.AccessTokenTTL == 0 {
		n.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if n.AccessTokenTTL < 1 || n.AccessTokenTTL > MaxAccessTokenTTL {
		return Resource{}, &FieldError{Field: "accessTokenTtl", Reason: fmt.Sprintf("must be from 1 to %d seconds", MaxAccessTokenTTL)}
	}
	if n.Indicator == ManagementResource {
		return Resource{}, ErrIndicatorInUse
	}
	r := store.Resource{TenantID: tenant, ID: newID(), Name: n.Name, Indicator: n.Indicator, AccessTokenTTL: n.AccessTokenTTL, CreatedAt: s.now()}
	if err := s.st.WriteQ().ResourceInsert(ctx, r); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Resource{}, ErrIndicatorInUse
		}
		return Resource{}, err
	}
	return resourceView(r), nil
}
