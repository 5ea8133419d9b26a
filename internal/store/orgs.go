package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Organization is a row of the organizations table. Description and
// CustomCSS are "" when unset; CustomData, Color and Branding are JSON
// objects.
type Organization struct {
	TenantID      string
	ID            string
	Name          string
	Description   string
	CustomData    string
	IsMfaRequired bool
	Color         string
	Branding      string
	CustomCSS     string
	CreatedAt     time.Time
}

const organizationColumns = `tenant_id, id, name, description, custom_data, is_mfa_required, color, branding, custom_css, created_at`

func scanOrganization(row scanner) (Organization, error) {
	var o Organization
	var created int64
	if err := row.Scan(&o.TenantID, &o.ID, &o.Name, &o.Description, &o.CustomData, &o.IsMfaRequired, &o.Color, &o.Branding,
		&o.CustomCSS, &created); err != nil {
		return Organization{}, interpret(err)
	}
	o.CreatedAt = FromMicros(created)
	return o, nil
}

// likePattern is a search term as a LIKE pattern that finds it anywhere:
// % in it matches any run of characters, _ and \ match themselves.
func likePattern(search string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `_`, `\_`).Replace(search) + "%"
}

// OrganizationInsert stores a new organization.
func (w Writer) OrganizationInsert(ctx context.Context, o Organization) error {
	_, err := w.exec(ctx, `INSERT INTO organizations (`+organizationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		o.TenantID, o.ID, o.Name, o.Description, o.CustomData, o.IsMfaRequired, o.Color, o.Branding, o.CustomCSS, Micros(o.CreatedAt))
	return err
}

// OrganizationUpdate writes an organization's fields but its creation
// time. ErrNotFound when there is no such organization.
func (w Writer) OrganizationUpdate(ctx context.Context, o Organization) error {
	n, err := w.exec(ctx, `UPDATE organizations SET name = $3, description = $4, custom_data = $5, is_mfa_required = $6, color = $7,
		branding = $8, custom_css = $9 WHERE tenant_id = $1 AND id = $2`,
		o.TenantID, o.ID, o.Name, o.Description, o.CustomData, o.IsMfaRequired, o.Color, o.Branding, o.CustomCSS)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// OrganizationDelete removes an organization with its memberships, their
// roles and its invitations. ErrNotFound when there is no such
// organization.
func (w Writer) OrganizationDelete(ctx context.Context, tenant, id string) error {
	n, err := w.exec(ctx, `DELETE FROM organizations WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// OrganizationGet reads an organization, or ErrNotFound.
func (r Reader) OrganizationGet(ctx context.Context, tenant, id string) (Organization, error) {
	return scanOrganization(r.db.QueryRowContext(ctx, `SELECT `+organizationColumns+` FROM organizations WHERE tenant_id = $1 AND id = $2`, tenant, id))
}

// OrganizationList returns a page of the tenant's organizations, newest
// first, whose ID or name contains search (any when ""), and how many
// match in all.
func (r Reader) OrganizationList(ctx context.Context, tenant, search string, limit, offset int) ([]Organization, int, error) {
	where, args := `tenant_id = $1`, []any{tenant}
	if search != "" {
		where += ` AND (lower(id) LIKE lower($2) ESCAPE '\' OR lower(name) LIKE lower($2) ESCAPE '\')`
		args = append(args, likePattern(search))
	}
	var total int
	if err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM organizations WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, interpret(err)
	}
	n := len(args)
	rows, err := r.db.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM organizations WHERE %s ORDER BY created_at DESC, id DESC LIMIT $%d OFFSET $%d`,
		organizationColumns, where, n+1, n+2), append(args, limit, offset)...)
	if err != nil {
		return nil, 0, interpret(err)
	}
	out, err := collect(rows, scanOrganization)
	return out, total, err
}

// collect scans every row.
func collect[T any](rows interface {
	Next() bool
	Err() error
	Close() error
	scanner
}, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, interpret(err)
	}
	return out, nil
}

// OrganizationRole is a row of the organization_roles table: a role of
// the tenant's organization template. Description is "" when unset.
type OrganizationRole struct {
	TenantID    string
	ID          string
	Name        string
	Description string
	Type        string
	CreatedAt   time.Time
}

const organizationRoleColumns = `tenant_id, id, name, description, type, created_at`

func scanOrganizationRole(row scanner) (OrganizationRole, error) {
	var o OrganizationRole
	var created int64
	if err := row.Scan(&o.TenantID, &o.ID, &o.Name, &o.Description, &o.Type, &created); err != nil {
		return OrganizationRole{}, interpret(err)
	}
	o.CreatedAt = FromMicros(created)
	return o, nil
}

// OrganizationRoleInsert stores a new organization role; a name another
// role of the tenant has is ErrConflict.
func (w Writer) OrganizationRoleInsert(ctx context.Context, o OrganizationRole) error {
	_, err := w.exec(ctx, `INSERT INTO organization_roles (`+organizationRoleColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		o.TenantID, o.ID, o.Name, o.Description, o.Type, Micros(o.CreatedAt))
	return err
}

// OrganizationRoleUpdate writes a role's name and description; ErrConflict
// as for OrganizationRoleInsert, ErrNotFound when there is no such role.
func (w Writer) OrganizationRoleUpdate(ctx context.Context, o OrganizationRole) error {
	n, err := w.exec(ctx, `UPDATE organization_roles SET name = $3, description = $4 WHERE tenant_id = $1 AND id = $2`,
		o.TenantID, o.ID, o.Name, o.Description)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// OrganizationRoleDelete removes a role, from every member and invitation
// that has it too. ErrNotFound when there is no such role.
func (w Writer) OrganizationRoleDelete(ctx context.Context, tenant, id string) error {
	n, err := w.exec(ctx, `DELETE FROM organization_roles WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// OrganizationRoleGet reads a role, or ErrNotFound.
func (r Reader) OrganizationRoleGet(ctx context.Context, tenant, id string) (OrganizationRole, error) {
	return scanOrganizationRole(r.db.QueryRowContext(ctx, `SELECT `+organizationRoleColumns+` FROM organization_roles WHERE tenant_id = $1 AND id = $2`, tenant, id))
}

// OrganizationRoleList returns a page of the tenant's organization roles
// by name whose ID or name contains search (any when ""), and how many
// match in all.
func (r Reader) OrganizationRoleList(ctx context.Context, tenant, search string, limit, offset int) ([]OrganizationRole, int, error) {
	where, args := `tenant_id = $1`, []any{tenant}
	if search != "" {
		where += ` AND (lower(id) LIKE lower($2) ESCAPE '\' OR lower(name) LIKE lower($2) ESCAPE '\')`
		args = append(args, likePattern(search))
	}
	var total int
	if err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM organization_roles WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, interpret(err)
	}
	n := len(args)
	rows, err := r.db.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM organization_roles WHERE %s ORDER BY name, id LIMIT $%d OFFSET $%d`,
		organizationRoleColumns, where, n+1, n+2), append(args, limit, offset)...)
	if err != nil {
		return nil, 0, interpret(err)
	}
	out, err := collect(rows, scanOrganizationRole)
	return out, total, err
}

// OrganizationRolesNamed returns the tenant's roles with these names.
func (r Reader) OrganizationRolesNamed(ctx context.Context, tenant string, names []string) ([]OrganizationRole, error) {
	var out []OrganizationRole
	for _, name := range names {
		o, err := scanOrganizationRole(r.db.QueryRowContext(ctx, `SELECT `+organizationRoleColumns+` FROM organization_roles WHERE tenant_id = $1 AND name = $2`, tenant, name))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// OrganizationMemberAdd makes a user a member of an organization; a
// member already is kept as is.
func (w Writer) OrganizationMemberAdd(ctx context.Context, tenant, org, user string, now time.Time) error {
	_, err := w.exec(ctx, `INSERT INTO organization_users (tenant_id, organization_id, user_id, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, tenant, org, user, Micros(now))
	return err
}

// OrganizationMemberRemove ends a membership and the roles it held.
// ErrNotFound when the user is not a member.
func (w Writer) OrganizationMemberRemove(ctx context.Context, tenant, org, user string) error {
	n, err := w.exec(ctx, `DELETE FROM organization_users WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3`, tenant, org, user)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// OrganizationIsMember reports whether a user is a member of an
// organization.
func (r Reader) OrganizationIsMember(ctx context.Context, tenant, org, user string) (bool, error) {
	var n int
	err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM organization_users WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3`,
		tenant, org, user).Scan(&n)
	return n > 0, interpret(err)
}

// OrganizationMemberRoleAdd gives a member a role; a role the member
// holds already is kept as is.
func (w Writer) OrganizationMemberRoleAdd(ctx context.Context, tenant, org, user, role string) error {
	_, err := w.exec(ctx, `INSERT INTO organization_user_roles (tenant_id, organization_id, user_id, role_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, tenant, org, user, role)
	return err
}

// OrganizationMemberRoleRemove takes a role from a member. ErrNotFound
// when the member does not hold it.
func (w Writer) OrganizationMemberRoleRemove(ctx context.Context, tenant, org, user, role string) error {
	n, err := w.exec(ctx, `DELETE FROM organization_user_roles WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3 AND role_id = $4`,
		tenant, org, user, role)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// OrganizationMemberRolesClear takes every role from a member.
func (w Writer) OrganizationMemberRolesClear(ctx context.Context, tenant, org, user string) error {
	_, err := w.exec(ctx, `DELETE FROM organization_user_roles WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3`, tenant, org, user)
	return err
}

// OrganizationMemberRoles returns the roles a member holds, by name.
func (r Reader) OrganizationMemberRoles(ctx context.Context, tenant, org, user string) ([]OrganizationRole, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+organizationRoleColumns+` FROM organization_roles WHERE tenant_id = $1 AND id IN
		(SELECT role_id FROM organization_user_roles WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3) ORDER BY name, id`, tenant, org, user)
	if err != nil {
		return nil, interpret(err)
	}
	return collect(rows, scanOrganizationRole)
}

// OrganizationInvitation is a row of the organization_invitations table.
// InviterID, AcceptedUserID, MessageID and AcceptTokenHash are "" when
// unset. Invitee is a canonical address.
type OrganizationInvitation struct {
	TenantID        string
	ID              string
	InviterID       string
	Invitee         string
	AcceptedUserID  string
	OrganizationID  string
	Status          string
	MessageID       string
	AcceptTokenHash string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	ExpiresAt       time.Time
}

const invitationColumns = `tenant_id, id, inviter_id, invitee, accepted_user_id, organization_id, status, message_id, accept_token_hash,
	created_at, updated_at, expires_at`

func scanInvitation(row scanner) (OrganizationInvitation, error) {
	var o OrganizationInvitation
	var created, updated, expires int64
	if err := row.Scan(&o.TenantID, &o.ID, &o.InviterID, &o.Invitee, &o.AcceptedUserID, &o.OrganizationID, &o.Status, &o.MessageID,
		&o.AcceptTokenHash, &created, &updated, &expires); err != nil {
		return OrganizationInvitation{}, interpret(err)
	}
	o.CreatedAt, o.UpdatedAt, o.ExpiresAt = FromMicros(created), FromMicros(updated), FromMicros(expires)
	return o, nil
}

// InvitationInsert stores a new invitation. A Pending invitation of the
// invitee to the organization already is ErrConflict.
func (w Writer) InvitationInsert(ctx context.Context, o OrganizationInvitation) error {
	_, err := w.exec(ctx, `INSERT INTO organization_invitations (`+invitationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		o.TenantID, o.ID, o.InviterID, o.Invitee, o.AcceptedUserID, o.OrganizationID, o.Status, o.MessageID, o.AcceptTokenHash,
		Micros(o.CreatedAt), Micros(o.UpdatedAt), Micros(o.ExpiresAt))
	return err
}

// InvitationExpireStale writes Expired on the invitee's Pending
// invitations to the organization that expired by now.
func (w Writer) InvitationExpireStale(ctx context.Context, tenant, invitee, org string, now time.Time) error {
	_, err := w.exec(ctx, `UPDATE organization_invitations SET status = 'Expired', updated_at = $4
		WHERE tenant_id = $1 AND invitee = $2 AND organization_id = $3 AND status = 'Pending' AND expires_at <= $4`, tenant, invitee, org, Micros(now))
	return err
}

// InvitationSetStatus writes an invitation's status and accepted user and
// drops its accept token, if the row's status is still from. It reports
// whether it was.
func (w Writer) InvitationSetStatus(ctx context.Context, tenant, id, from, to, acceptedUser string, now time.Time) (bool, error) {
	n, err := w.exec(ctx, `UPDATE organization_invitations SET status = $4, accepted_user_id = $5, accept_token_hash = '', updated_at = $6
		WHERE tenant_id = $1 AND id = $2 AND status = $3`, tenant, id, from, to, acceptedUser, Micros(now))
	return n > 0, err
}

// InvitationSetMessage records an invitation's latest email and the hash
// of its accept token ("" when the email carries the app's own link).
// ErrNotFound when there is no such invitation.
func (w Writer) InvitationSetMessage(ctx context.Context, tenant, id, messageID, tokenHash string, now time.Time) error {
	n, err := w.exec(ctx, `UPDATE organization_invitations SET message_id = $3, accept_token_hash = $4, updated_at = $5
		WHERE tenant_id = $1 AND id = $2`, tenant, id, messageID, tokenHash, Micros(now))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// InvitationDelete removes an invitation. ErrNotFound when there is none.
func (w Writer) InvitationDelete(ctx context.Context, tenant, id string) error {
	n, err := w.exec(ctx, `DELETE FROM organization_invitations WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// InvitationGet reads an invitation, or ErrNotFound.
func (r Reader) InvitationGet(ctx context.Context, tenant, id string) (OrganizationInvitation, error) {
	return scanInvitation(r.db.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM organization_invitations WHERE tenant_id = $1 AND id = $2`, tenant, id))
}

// InvitationByToken reads the invitation whose accept token has the hash,
// or ErrNotFound.
func (r Reader) InvitationByToken(ctx context.Context, tenant, tokenHash string) (OrganizationInvitation, error) {
	if tokenHash == "" {
		return OrganizationInvitation{}, ErrNotFound
	}
	return scanInvitation(r.db.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM organization_invitations
		WHERE tenant_id = $1 AND accept_token_hash = $2`, tenant, tokenHash))
}

// InvitationFilter selects a tenant's invitations; an empty field selects
// any.
type InvitationFilter struct {
	Tenant, OrganizationID, InviterID, Invitee string
}

// InvitationList returns the invitations f selects, oldest first.
func (r Reader) InvitationList(ctx context.Context, f InvitationFilter) ([]OrganizationInvitation, error) {
	where, args := `tenant_id = $1`, []any{f.Tenant}
	for col, v := range map[string]string{"organization_id": f.OrganizationID, "inviter_id": f.InviterID, "invitee": f.Invitee} {
		if v != "" {
			args = append(args, v)
			where += fmt.Sprintf(` AND %s = $%d`, col, len(args))
		}
	}
	rows, err := r.db.QueryContext(ctx, `SELECT `+invitationColumns+` FROM organization_invitations WHERE `+where+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, interpret(err)
	}
	return collect(rows, scanInvitation)
}

// InvitationRoleAdd records a role an invitation gives.
func (w Writer) InvitationRoleAdd(ctx context.Context, tenant, invitation, role string) error {
	_, err := w.exec(ctx, `INSERT INTO organization_invitation_roles (tenant_id, invitation_id, role_id) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, tenant, invitation, role)
	return err
}

// InvitationRoles returns the roles an invitation gives, by name.
func (r Reader) InvitationRoles(ctx context.Context, tenant, invitation string) ([]OrganizationRole, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+organizationRoleColumns+` FROM organization_roles WHERE tenant_id = $1 AND id IN
		(SELECT role_id FROM organization_invitation_roles WHERE tenant_id = $1 AND invitation_id = $2) ORDER BY name, id`, tenant, invitation)
	if err != nil {
		return nil, interpret(err)
	}
	return collect(rows, scanOrganizationRole)
}

// OrganizationMemberIDs returns the IDs of an organization's members.
func (r Reader) OrganizationMemberIDs(ctx context.Context, tenant, org string) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT user_id FROM organization_users WHERE tenant_id = $1 AND organization_id = $2 ORDER BY user_id`, tenant, org)
	if err != nil {
		return nil, interpret(err)
	}
	return collect(rows, func(row scanner) (string, error) {
		var id string
		return id, interpret(row.Scan(&id))
	})
}

// OrganizationsOfUser returns the organizations a user is a member of,
// by name.
func (r Reader) OrganizationsOfUser(ctx context.Context, tenant, user string) ([]Organization, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+organizationColumns+` FROM organizations WHERE tenant_id = $1 AND id IN
		(SELECT organization_id FROM organization_users WHERE tenant_id = $1 AND user_id = $2) ORDER BY name, id`, tenant, user)
	if err != nil {
		return nil, interpret(err)
	}
	return collect(rows, scanOrganization)
}
