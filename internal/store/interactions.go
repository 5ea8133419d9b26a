package store

import (
	"context"
	"log/slog"
	"time"
)

// Interaction is a row of the interactions table: one sign-in, sign-up or
// password reset in a browser, found by the keyed hash of its cookie.
// Request is what the authorization request asked for and State the flow
// so far, both opaque to the store (State is sealed by the caller).
type Interaction struct {
	TenantID      string
	IDHash        string
	AuthRequestID string
	Request       string
	State         string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     time.Time
}

// LogValue leaves the sealed state out of logs.
func (i Interaction) LogValue() slog.Value {
	return slog.GroupValue(slog.String("tenant", i.TenantID), slog.String("authRequest", i.AuthRequestID))
}

// InteractionInsert stores a new interaction.
func (w Writer) InteractionInsert(ctx context.Context, i Interaction) error {
	_, err := w.exec(ctx, `INSERT INTO interactions (tenant_id, id_hash, auth_request_id, request, state, created_at, updated_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		i.TenantID, i.IDHash, i.AuthRequestID, i.Request, i.State, Micros(i.CreatedAt), Micros(i.UpdatedAt), Micros(i.ExpiresAt))
	return err
}

// InteractionGet reads the interaction whose cookie hashes to idHash if it
// has not expired by now, or ErrNotFound.
func (r Reader) InteractionGet(ctx context.Context, tenant, idHash string, now time.Time) (Interaction, error) {
	i := Interaction{TenantID: tenant, IDHash: idHash}
	var created, updated, expires int64
	err := r.db.QueryRowContext(ctx, `SELECT auth_request_id, request, state, created_at, updated_at, expires_at FROM interactions
		WHERE tenant_id = $1 AND id_hash = $2 AND expires_at > $3`, tenant, idHash, Micros(now)).
		Scan(&i.AuthRequestID, &i.Request, &i.State, &created, &updated, &expires)
	i.CreatedAt, i.UpdatedAt, i.ExpiresAt = FromMicros(created), FromMicros(updated), FromMicros(expires)
	return i, interpret(err)
}

// InteractionSetState replaces an interaction's state. ErrNotFound when
// there is no such interaction.
func (w Writer) InteractionSetState(ctx context.Context, tenant, idHash, state string, now time.Time) error {
	n, err := w.exec(ctx, `UPDATE interactions SET state = $3, updated_at = $4 WHERE tenant_id = $1 AND id_hash = $2`,
		tenant, idHash, state, Micros(now))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// InteractionDelete removes an interaction; one already gone is no error.
func (w Writer) InteractionDelete(ctx context.Context, tenant, idHash string) error {
	_, err := w.exec(ctx, `DELETE FROM interactions WHERE tenant_id = $1 AND id_hash = $2`, tenant, idHash)
	return err
}

// SignInSession is a row of the sign_in_sessions table: a browser that
// signed in, found by the keyed hash of its cookie. AMR is a JSON list.
type SignInSession struct {
	TenantID  string
	IDHash    string
	UserID    string
	AuthTime  time.Time
	AMR       string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionInsert stores a new sign-in session.
func (w Writer) SessionInsert(ctx context.Context, s SignInSession) error {
	_, err := w.exec(ctx, `INSERT INTO sign_in_sessions (tenant_id, id_hash, user_id, auth_time, amr, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.TenantID, s.IDHash, s.UserID, Micros(s.AuthTime), s.AMR, Micros(s.CreatedAt), Micros(s.ExpiresAt))
	return err
}

// SessionGet reads the sign-in session whose cookie hashes to idHash if it
// has not expired by now, or ErrNotFound.
func (r Reader) SessionGet(ctx context.Context, tenant, idHash string, now time.Time) (SignInSession, error) {
	s := SignInSession{TenantID: tenant, IDHash: idHash}
	var auth, created, expires int64
	err := r.db.QueryRowContext(ctx, `SELECT user_id, auth_time, amr, created_at, expires_at FROM sign_in_sessions
		WHERE tenant_id = $1 AND id_hash = $2 AND expires_at > $3`, tenant, idHash, Micros(now)).
		Scan(&s.UserID, &auth, &s.AMR, &created, &expires)
	s.AuthTime, s.CreatedAt, s.ExpiresAt = FromMicros(auth), FromMicros(created), FromMicros(expires)
	return s, interpret(err)
}

// SessionDelete removes a sign-in session; one already gone is no error.
func (w Writer) SessionDelete(ctx context.Context, tenant, idHash string) error {
	_, err := w.exec(ctx, `DELETE FROM sign_in_sessions WHERE tenant_id = $1 AND id_hash = $2`, tenant, idHash)
	return err
}

// SessionDeleteUser removes every sign-in session of a user (signing them
// out everywhere) and returns how many there were.
func (w Writer) SessionDeleteUser(ctx context.Context, tenant, userID string) (int64, error) {
	return w.exec(ctx, `DELETE FROM sign_in_sessions WHERE tenant_id = $1 AND user_id = $2`, tenant, userID)
}
