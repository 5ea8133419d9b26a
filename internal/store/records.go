package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// VerificationRecord is a verified code turned into a one-use proof that
// Email received it (see the verification package). IDHash is the keyed
// hash of the record's ID; the ID itself is never stored.
type VerificationRecord struct {
	TenantID  string
	IDHash    string
	UsageType string
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// RecordInsert stores a new verification record.
func (w Writer) RecordInsert(ctx context.Context, r VerificationRecord) error {
	_, err := w.exec(ctx, `INSERT INTO verification_records (tenant_id, id_hash, usage_type, email, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, r.TenantID, r.IDHash, r.UsageType, r.Email, Micros(r.CreatedAt), Micros(r.ExpiresAt))
	return err
}

// RecordConsume marks a live, unconsumed record of the usage type as
// consumed and returns it, in one statement, so that of two steps that
// present one record only one gets it. ErrNotFound covers a record that
// does not exist, has another usage type, has expired or was consumed.
func (w Writer) RecordConsume(ctx context.Context, tenant, idHash, usage string, now time.Time) (VerificationRecord, error) {
	r := VerificationRecord{TenantID: tenant, IDHash: idHash, UsageType: usage}
	var created, expires int64
	err := w.db.QueryRowContext(ctx, `UPDATE verification_records SET consumed_at = $4
		WHERE tenant_id = $1 AND id_hash = $2 AND usage_type = $3 AND consumed_at IS NULL AND expires_at > $4
		RETURNING email, created_at, expires_at`, tenant, idHash, usage, Micros(now)).Scan(&r.Email, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return VerificationRecord{}, ErrNotFound
	}
	if err != nil {
		return VerificationRecord{}, interpret(err)
	}
	r.CreatedAt, r.ExpiresAt = FromMicros(created), FromMicros(expires)
	return r, nil
}
