package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Errors a user write returns when a unique index refuses it; both match
// ErrConflict too.
var (
	// ErrEmailTaken means another user of the tenant has the primary email.
	ErrEmailTaken = fmt.Errorf("%w: the primary email belongs to another user", ErrConflict)
	// ErrUsernameTaken means another user of the tenant has the username.
	ErrUsernameTaken = fmt.Errorf("%w: the username belongs to another user", ErrConflict)
)

// User is a row of the users table. PrimaryEmail (canonical) and Username
// are "" when the user has none (NULL in the table, so that the unique
// indexes let any number of users lack them). CustomData and Profile are
// JSON objects. PasswordDigest is an argon2id PHC string or "".
// EmailVerified says the user proved PrimaryEmail by a code.
type User struct {
	TenantID       string
	ID             string
	PrimaryEmail   string
	EmailVerified  bool
	Username       string
	Name           string
	Avatar         string
	CustomData     string
	Profile        string
	PasswordDigest string
	IsSuspended    bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	LastSignInAt   time.Time
}

// LogValue leaves the password digest out of logs.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("tenant", u.TenantID), slog.String("id", u.ID),
		slog.Bool("hasPassword", u.PasswordDigest != ""), slog.Bool("isSuspended", u.IsSuspended))
}

const userColumns = `tenant_id, id, COALESCE(primary_email, ''), primary_email_verified, COALESCE(username, ''), name, avatar,
	custom_data, profile, password_digest, is_suspended, created_at, updated_at, last_sign_in_at`

// userConflict names which unique index refused a user write.
func userConflict(err error) error {
	if !errors.Is(err, ErrConflict) {
		return err
	}
	switch msg := err.Error(); {
	case strings.Contains(msg, "primary_email"):
		return ErrEmailTaken
	case strings.Contains(msg, "username"):
		return ErrUsernameTaken
	}
	return err
}

// UserInsert stores a new user. A primary email or username another user
// of the tenant has is ErrEmailTaken or ErrUsernameTaken.
func (w Writer) UserInsert(ctx context.Context, u User) error {
	_, err := w.exec(ctx, `INSERT INTO users (tenant_id, id, primary_email, username, name, avatar, custom_data, profile,
		password_digest, is_suspended, created_at, updated_at, last_sign_in_at, primary_email_verified)
		VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''), $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		u.TenantID, u.ID, u.PrimaryEmail, u.Username, u.Name, u.Avatar, u.CustomData, u.Profile,
		u.PasswordDigest, u.IsSuspended, Micros(u.CreatedAt), Micros(u.UpdatedAt), Micros(u.LastSignInAt), u.EmailVerified)
	return userConflict(err)
}

// UserUpdate writes a user's profile fields (primary email and whether
// it is verified, username, name, avatar, custom data, profile) and
// updated time; the password and
// the suspension have their own writes, so a profile change never undoes
// a password change made meanwhile. ErrNotFound when there is no such
// user; ErrEmailTaken or ErrUsernameTaken as for UserInsert.
func (w Writer) UserUpdate(ctx context.Context, u User) error {
	n, err := w.exec(ctx, `UPDATE users SET primary_email = NULLIF($3, ''), username = NULLIF($4, ''), name = $5, avatar = $6,
		custom_data = $7, profile = $8, updated_at = $9, primary_email_verified = $10 WHERE tenant_id = $1 AND id = $2`,
		u.TenantID, u.ID, u.PrimaryEmail, u.Username, u.Name, u.Avatar, u.CustomData, u.Profile, Micros(u.UpdatedAt), u.EmailVerified)
	if err != nil {
		return userConflict(err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// UserSetPassword replaces a user's password digest ("" removes the
// password). ErrNotFound when there is no such user.
func (w Writer) UserSetPassword(ctx context.Context, tenant, id, digest string, now time.Time) error {
	return w.userSet(ctx, `password_digest`, tenant, id, digest, now)
}

// UserSetSuspended suspends or reinstates a user. ErrNotFound when there
// is no such user.
func (w Writer) UserSetSuspended(ctx context.Context, tenant, id string, suspended bool, now time.Time) error {
	return w.userSet(ctx, `is_suspended`, tenant, id, suspended, now)
}

// UserSignedIn records a sign-in time. ErrNotFound when there is no such
// user.
func (w Writer) UserSignedIn(ctx context.Context, tenant, id string, at time.Time) error {
	n, err := w.exec(ctx, `UPDATE users SET last_sign_in_at = $3 WHERE tenant_id = $1 AND id = $2`, tenant, id, Micros(at))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// userSet sets one column (named by the caller, never by input) and the
// updated time.
func (w Writer) userSet(ctx context.Context, column, tenant, id string, value any, now time.Time) error {
	n, err := w.exec(ctx, `UPDATE users SET `+column+` = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2`, tenant, id, value, Micros(now))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// UserDelete removes a user and the roles it holds; run it in a
// transaction so that both go at once. ErrNotFound when there is no such
// user.
func (w Writer) UserDelete(ctx context.Context, tenant, id string) error {
	if _, err := w.exec(ctx, `DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2`, tenant, id); err != nil {
		return err
	}
	n, err := w.exec(ctx, `DELETE FROM users WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// UserGet reads a user, or ErrNotFound.
func (r Reader) UserGet(ctx context.Context, tenant, id string) (User, error) {
	return scanUser(r.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND id = $2`, tenant, id))
}

// UserByEmail reads the user whose primary email is the canonical address
// email, or ErrNotFound.
func (r Reader) UserByEmail(ctx context.Context, tenant, email string) (User, error) {
	return scanUser(r.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND primary_email = $2`, tenant, email))
}

// UserFilter selects a page of a tenant's users, newest first.
type UserFilter struct {
	Tenant string
	// Search, when not empty, keeps the users whose primary email,
	// username or name contains it, ignoring the case of ASCII letters on
	// SQLite and of every letter on PostgreSQL. A % in it matches any
	// run of characters (so Logto's "%alice%" works as "alice"); _ and \
	// match themselves.
	Search string
	// Organization, when not empty, keeps the members of that
	// organization.
	Organization string
	// OrganizationRole, with Organization, keeps the members who hold
	// that organization role there.
	OrganizationRole string
	// Limit and Offset choose the page.
	Limit, Offset int
}

// UserList returns a page of the filter's users, newest first, and how
// many users the filter matches in all.
func (r Reader) UserList(ctx context.Context, f UserFilter) ([]User, int, error) {
	where := `tenant_id = $1`
	args := []any{f.Tenant}
	if f.Search != "" {
		pattern := likePattern(f.Search)
		where += ` AND (lower(COALESCE(primary_email, '')) LIKE lower($2) ESCAPE '\' OR lower(COALESCE(username, '')) LIKE lower($2) ESCAPE '\'
			OR lower(name) LIKE lower($2) ESCAPE '\')`
		args = append(args, pattern)
	}
	if f.Organization != "" {
		args = append(args, f.Organization)
		where += fmt.Sprintf(` AND id IN (SELECT user_id FROM organization_users WHERE tenant_id = $1 AND organization_id = $%d)`, len(args))
		if f.OrganizationRole != "" {
			args = append(args, f.OrganizationRole)
			where += fmt.Sprintf(` AND id IN (SELECT user_id FROM organization_user_roles WHERE tenant_id = $1 AND organization_id = $%d AND role_id = $%d)`,
				len(args)-1, len(args))
		}
	}
	var total int
	if err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, interpret(err)
	}
	n := len(args)
	rows, err := r.db.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM users WHERE %s ORDER BY created_at DESC, id DESC LIMIT $%d OFFSET $%d`,
		userColumns, where, n+1, n+2), append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, interpret(err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, interpret(err)
	}
	return out, total, nil
}

// scanner is a row to scan.
type scanner interface{ Scan(dest ...any) error }

func scanUser(row scanner) (User, error) {
	var u User
	var created, updated, signedIn int64
	err := row.Scan(&u.TenantID, &u.ID, &u.PrimaryEmail, &u.EmailVerified, &u.Username, &u.Name, &u.Avatar, &u.CustomData,
		&u.Profile, &u.PasswordDigest, &u.IsSuspended, &created, &updated, &signedIn)
	if err != nil {
		return User{}, interpret(err)
	}
	u.CreatedAt, u.UpdatedAt, u.LastSignInAt = FromMicros(created), FromMicros(updated), FromMicros(signedIn)
	return u, nil
}
