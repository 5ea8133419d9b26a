package store

import (
	"context"
	"time"
)

// ConsoleSession is a browser signed in to the admin console.
type ConsoleSession struct {
	TenantID string
	// IDHash is the keyed hash of the session cookie's value.
	IDHash string
	// KeyCheck ties the session to the admin key it began with; "" for
	// a session of a user.
	KeyCheck string
	// UserID is the administrator who signed in through the hosted pages;
	// "" for a session begun with the admin key.
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ConsoleSessionInsert records a new console session.
func (w Writer) ConsoleSessionInsert(ctx context.Context, s ConsoleSession) error {
	_, err := w.exec(ctx, `INSERT INTO console_sessions (tenant_id, id_hash, key_check, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		s.TenantID, s.IDHash, s.KeyCheck, s.UserID, Micros(s.CreatedAt), Micros(s.ExpiresAt))
	return err
}

// ConsoleSessionGet returns the console session idHash (ErrNotFound when
// there is none, expired or not).
func (r Reader) ConsoleSessionGet(ctx context.Context, tenant, idHash string) (ConsoleSession, error) {
	s := ConsoleSession{TenantID: tenant, IDHash: idHash}
	var created, expires int64
	err := r.db.QueryRowContext(ctx, `SELECT key_check, user_id, created_at, expires_at FROM console_sessions WHERE tenant_id = $1 AND id_hash = $2`,
		tenant, idHash).Scan(&s.KeyCheck, &s.UserID, &created, &expires)
	s.CreatedAt, s.ExpiresAt = FromMicros(created), FromMicros(expires)
	return s, interpret(err)
}

// ConsoleSessionDelete ends the console session idHash; ending one that
// is not there is not an error.
func (w Writer) ConsoleSessionDelete(ctx context.Context, tenant, idHash string) error {
	_, err := w.exec(ctx, `DELETE FROM console_sessions WHERE tenant_id = $1 AND id_hash = $2`, tenant, idHash)
	return err
}
