package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/authmail/authmail/internal/store"
)

// The message log as an admin reads it: messages with their attempts,
// counts by status, a retry of a failed message, and the dev inbox.

// Messages returns the messages f selects, newest first.
func (s *Service) Messages(ctx context.Context, f store.MessageFilter) ([]store.Message, error) {
	return s.st.MessageList(ctx, f)
}

// Message returns one of the tenant's messages with its attempts, in
// order (store.ErrNotFound when there is none).
func (s *Service) Message(ctx context.Context, tenant, id string) (store.Message, []store.Attempt, error) {
	m, err := s.st.MessageGet(ctx, tenant, id)
	if err != nil {
		return m, nil, err
	}
	atts, err := s.st.AttemptList(ctx, tenant, id)
	return m, atts, err
}

// Counts returns how many of the tenant's messages created since have
// each status.
func (s *Service) Counts(ctx context.Context, tenant string, since time.Time) (map[string]int64, error) {
	return s.st.MessageStatusCounts(ctx, tenant, since)
}

// ErrNotFailed refuses to retry a message that has not failed: it was
// sent, or is still being delivered.
var ErrNotFailed = errors.New("only a failed message can be retried")

// ErrExpired refuses to retry a message whose content (a code) has
// expired: a new code must be sent instead.
var ErrExpired = errors.New("the message has expired: the code in it is no longer valid, so send a new one")

// Retry puts a failed message back in the queue: a worker makes a new
// attempt through the tenant's current connector at once, and retries a
// temporary failure as for any message, until the message expires. The
// message and its new job are written in one transaction.
func (s *Service) Retry(ctx context.Context, tenant, id string) error {
	now := s.now()
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		m, err := tx.MessageGet(ctx, tenant, id)
		if err != nil {
			return err
		}
		if m.Status != store.StatusFailed {
			return ErrNotFailed
		}
		if !now.Before(m.ExpiresAt) {
			return ErrExpired
		}
		res, err := s.river.InsertTx(ctx, tx.SQL(), deliverArgs{Tenant: tenant, MessageID: id}, &river.InsertOpts{ScheduledAt: now})
		if err != nil {
			return fmt.Errorf("enqueuing delivery: %w", err)
		}
		ok, err := tx.MessageRequeue(ctx, tenant, id, res.Job.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFailed
		}
		s.logger.InfoContext(ctx, "failed message queued again", "message", id)
		return nil
	})
}

// Inbox returns the dev inbox's messages newest first, of one recipient
// when to is not empty.
func (s *Service) Inbox(ctx context.Context, tenant, to string, limit int) ([]store.InboxMessage, error) {
	return s.st.InboxList(ctx, tenant, to, limit)
}

// InboxMessage returns one dev inbox message (store.ErrNotFound when
// there is none).
func (s *Service) InboxMessage(ctx context.Context, tenant, id string) (store.InboxMessage, error) {
	return s.st.InboxGet(ctx, tenant, id)
}
