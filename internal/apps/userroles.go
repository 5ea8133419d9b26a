package apps

import (
	"context"
	"errors"
	"slices"

	"github.com/authmail/authmail/internal/store"
)

// AdminRoleID is the built-in User role of the tenant's administrators: a
// user who holds it may sign in to the console through the hosted pages.
const AdminRoleID = "admin"

// Errors of the user role routes.
var (
	// ErrMachineRole means a MachineToMachine role cannot be given to a
	// user (Logto's user.invalid_role_type).
	ErrMachineRole = errors.New("a machine-to-machine role cannot be given to a user")
	// ErrUserRoleNotHeld means the user does not hold the role.
	ErrUserRoleNotHeld = errors.New("the user does not hold the role")
)

// userLockKey serialises the role changes of one user.
func userLockKey(tenant, id string) string { return "user-roles:" + tenant + ":" + id }

// existingUser checks the user exists, *NotFoundError for "users" when
// not.
func existingUser(ctx context.Context, r store.Reader, tenant, id string) error {
	_, err := r.UserGet(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return &NotFoundError{Entity: "users", ID: id}
	}
	return err
}

// userRoles checks every ID names a User role, each once.
func userRoles(ids []string) ([]string, error) {
	var want []string
	for _, id := range ids {
		if slices.Contains(want, id) {
			continue
		}
		r, ok := findRole(id)
		if !ok {
			return nil, &NotFoundError{Entity: "roles", ID: id}
		}
		if r.Type != RoleTypeUser {
			return nil, ErrMachineRole
		}
		want = append(want, id)
	}
	return want, nil
}

// UserRoles returns a page of the roles a user holds, and how many it
// holds.
func (s *Service) UserRoles(ctx context.Context, tenant, userID string, p Page) ([]Role, int, error) {
	if err := existingUser(ctx, s.st.Reader, tenant, userID); err != nil {
		return nil, 0, err
	}
	ids, err := s.st.UserRoles(ctx, tenant, userID)
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

// AssignUserRoles gives a user roles it does not hold yet; every role is
// checked before any is given.
func (s *Service) AssignUserRoles(ctx context.Context, tenant, userID string, roleIDs []string) error {
	return s.changeUserRoles(ctx, tenant, userID, roleIDs, false)
}

// ReplaceUserRoles makes the roles a user holds exactly roleIDs.
func (s *Service) ReplaceUserRoles(ctx context.Context, tenant, userID string, roleIDs []string) error {
	return s.changeUserRoles(ctx, tenant, userID, roleIDs, true)
}

func (s *Service) changeUserRoles(ctx context.Context, tenant, userID string, roleIDs []string, replace bool) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockKey(ctx, userLockKey(tenant, userID)); err != nil {
			return err
		}
		if err := existingUser(ctx, tx.Reader, tenant, userID); err != nil {
			return err
		}
		want, err := userRoles(roleIDs)
		if err != nil {
			return err
		}
		if replace {
			held, err := tx.UserRoles(ctx, tenant, userID)
			if err != nil {
				return err
			}
			for _, id := range held {
				if !slices.Contains(want, id) {
					if err := tx.UserRoleRemove(ctx, tenant, userID, id); err != nil {
						return err
					}
				}
			}
		}
		for _, id := range want {
			if _, err := tx.UserRoleAdd(ctx, tenant, userID, id, s.now()); err != nil {
				return err
			}
		}
		return nil
	})
}

// RemoveUserRole takes a role from a user; ErrUserRoleNotHeld when it does
// not hold it.
func (s *Service) RemoveUserRole(ctx context.Context, tenant, userID, roleID string) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockKey(ctx, userLockKey(tenant, userID)); err != nil {
			return err
		}
		if err := existingUser(ctx, tx.Reader, tenant, userID); err != nil {
			return err
		}
		err := tx.UserRoleRemove(ctx, tenant, userID, roleID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrUserRoleNotHeld
		}
		return err
	})
}

// HoldsRole reports whether a user holds a role.
func (s *Service) HoldsRole(ctx context.Context, tenant, userID, roleID string) (bool, error) {
	ids, err := s.st.UserRoles(ctx, tenant, userID)
	return slices.Contains(ids, roleID), err
}
