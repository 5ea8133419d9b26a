package store

import (
	"context"
	"time"
)

// AccountVerification is a row of account_verifications: a verification
// record of the account API, made for one user and found by the keyed
// hash of its ID (the ID itself is never stored). Kind is "Password" or
// "EmailVerificationCode"; UsageType the code's template, "" for a
// password; Email the canonical address the code went to.
type AccountVerification struct {
	TenantID   string
	IDHash     string
	UserID     string
	Kind       string
	UsageType  string
	Email      string
	Verified   bool
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ConsumedAt time.Time
}

// AccountVerificationInsert stores a new account verification.
func (w Writer) AccountVerificationInsert(ctx context.Context, v AccountVerification) error {
	_, err := w.exec(ctx, `INSERT INTO account_verifications (tenant_id, id_hash, user_id, kind, usage_type, email, verified, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, v.TenantID, v.IDHash, v.UserID, v.Kind, v.UsageType, v.Email, v.Verified,
		Micros(v.CreatedAt), Micros(v.ExpiresAt))
	return err
}

// AccountVerificationGet reads an account verification that has neither
// expired by now nor been consumed, or ErrNotFound.
func (r Reader) AccountVerificationGet(ctx context.Context, tenant, idHash string, now time.Time) (AccountVerification, error) {
	v := AccountVerification{TenantID: tenant, IDHash: idHash}
	var created, expires int64
	err := r.db.QueryRowContext(ctx, `SELECT user_id, kind, usage_type, email, verified, created_at, expires_at FROM account_verifications
		WHERE tenant_id = $1 AND id_hash = $2 AND expires_at > $3 AND consumed_at IS NULL`, tenant, idHash, Micros(now)).
		Scan(&v.UserID, &v.Kind, &v.UsageType, &v.Email, &v.Verified, &created, &expires)
	v.CreatedAt, v.ExpiresAt = FromMicros(created), FromMicros(expires)
	return v, interpret(err)
}

// AccountVerificationVerify marks a live, unconsumed account verification
// verified. ErrNotFound when there is none.
func (w Writer) AccountVerificationVerify(ctx context.Context, tenant, idHash string, now time.Time) error {
	n, err := w.exec(ctx, `UPDATE account_verifications SET verified = $3
		WHERE tenant_id = $1 AND id_hash = $2 AND expires_at > $4 AND consumed_at IS NULL`, tenant, idHash, true, Micros(now))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// AccountVerificationConsume marks a live, verified, unconsumed account
// verification consumed, in one statement, so that of two changes that
// present it only one gets it. ErrNotFound when there is none.
func (w Writer) AccountVerificationConsume(ctx context.Context, tenant, idHash string, now time.Time) error {
	n, err := w.exec(ctx, `UPDATE account_verifications SET consumed_at = $4
		WHERE tenant_id = $1 AND id_hash = $2 AND verified = $3 AND expires_at > $4 AND consumed_at IS NULL`, tenant, idHash, true, Micros(now))
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// AccountVerificationsDeleteUser removes every account verification of a
// user (their account is deleted).
func (w Writer) AccountVerificationsDeleteUser(ctx context.Context, tenant, userID string) error {
	_, err := w.exec(ctx, `DELETE FROM account_verifications WHERE tenant_id = $1 AND user_id = $2`, tenant, userID)
	return err
}
