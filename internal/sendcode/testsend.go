package sendcode

import (
	"context"
	"encoding/json"
	"time"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/store"
)

// TestCode is the code a test send carries. It is not stored, so it
// verifies nothing.
const TestCode = "000000"

// testSendTimeout bounds a test send, provider call included.
const testSendTimeout = 30 * time.Second

// TestRequest is a test send: a Generic message through a connector
// config that is not saved.
type TestRequest struct {
	// Tenant is the tenant whose settings and templates apply.
	Tenant string
	// Email is the recipient, in canonical form.
	Email address.Address
	// FactoryID is the connector factory to build the config with.
	FactoryID string
	// Config is the unsaved config. Secrets it sends back redacted are
	// taken from the tenant's saved connector of the same factory
	// (withSavedSecrets).
	Config json.RawMessage
	// Locale is the language tag wanted; may be empty.
	Locale string
	// Preferred are the languages the client prefers, as Request's.
	Preferred []language.Tag
	// IP is the client's address, when known; FromAdmin is as in Request.
	IP        string
	FromAdmin bool
}

// TestSend sends a Generic message with code TestCode through an unsaved
// config, as Logto does, and returns the provider's answer: nil when it
// accepted, a *delivery.SendError carrying its (masked) refusal otherwise.
// The message is built as a real send's is and counts toward the send
// caps as one does (a *verification.Error when a cap is reached); it is
// not recorded, queued or retried, and no code is issued.
func (s *Service) TestSend(ctx context.Context, req TestRequest) error {
	ctx, cancel := context.WithTimeout(ctx, testSendTimeout)
	defer cancel()
	raw, err := s.withSavedSecrets(ctx, req.Tenant, req.FactoryID, req.Config)
	if err != nil {
		return err
	}
	act, err := s.d.Connectors.Build(ctx, req.Tenant, req.FactoryID, raw)
	if err != nil {
		return err
	}
	defer act.Close()
	exp, err := s.d.Tenants.Experience(ctx, req.Tenant)
	if err != nil {
		return err
	}
	out, err := compose(ctx, templateStore{q: s.d.Store.Reader}, exp, Request{Tenant: req.Tenant, Email: req.Email,
		Usage: connector.UsageGeneric, Locale: req.Locale, Preferred: req.Preferred, IP: req.IP}, true, TestCode, act)
	if err != nil {
		return err
	}
	// Counted once it is ready to go, so that a config or template
	// error costs nothing.
	err = s.d.Store.InTx(ctx, func(tx *store.Tx) error {
		return s.d.Verification.CountSend(ctx, tx, req.Tenant, req.Email, cappedIP(req.IP, req.FromAdmin), exp.VerificationCodePolicy)
	})
	if err != nil {
		return err
	}
	if _, err := act.Conn.Send(ctx, out.Message(delivery.NewID("test"))); err != nil {
		return &delivery.SendError{Connector: act.Factory.ID, Err: act.Mask(err)}
	}
	return nil
}
