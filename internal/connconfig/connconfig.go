// Package connconfig keeps a tenant's saved connector configs: it creates
// (an email connector replaces the tenant's previous one), updates, reads
// and lists them. A config is proved before it is saved (built, or with a
// check, its connection and credentials tried), sealed at rest, and read
// back with its secrets redacted and the connector's recent delivery
// health. Deleting one is the tenant's rule (tenant.DeleteConnector),
// since email sign-in may rely on it.
package connconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/store"
)

// Service reads and writes saved connector configs.
type Service struct {
	st     *store.Store
	conns  *delivery.Connectors
	logger *slog.Logger
	now    func() time.Time
}

// New returns the service over st, building connectors with conns.
func New(st *store.Store, conns *delivery.Connectors, logger *slog.Logger, now func() time.Time) *Service {
	return &Service{st: st, conns: conns, logger: logger.With("component", "connconfig"), now: now}
}

// Installed is a saved connector as an admin may see it.
type Installed struct {
	// ID is the connector instance's ID.
	ID string
	// Factory is its kind.
	Factory connector.Factory
	// Config is the config with its secret fields redacted.
	Config json.RawMessage
	// CreatedAt and UpdatedAt are when it was saved first and last.
	CreatedAt, UpdatedAt time.Time
	// Health is its recent delivery record.
	Health store.ConnectorHealth
	// Check is what the check asked for on a save found, when the save
	// asked for one and went ahead; nil otherwise.
	Check *CheckOutcome
}

// CheckOutcome is the result of a check made before a save that saved:
// the config passed, failed only temporarily (the provider may be down),
// or its kind cannot check without sending mail.
type CheckOutcome struct {
	// Result is "passed", "temporary_failure" or "not_supported".
	Result string
	// Message says what the provider answered, or how to try the config.
	Message string
}

// Save is one create or update.
type Save struct {
	// Tenant is the tenant the connector is for.
	Tenant string
	// FactoryID (on create) is the factory to build the config with.
	FactoryID string
	// ID is the connector's ID: chosen by the caller or generated on
	// create, the one to update on update.
	ID string
	// Config is the config as given; on update, secrets echoed as
	// [redacted] keep their stored value while the destination stays.
	Config json.RawMessage
	// Check runs the connector's check before saving: a permanent
	// failure saves nothing.
	Check bool
}

// Create proves and saves a new connector config; an email connector
// replaces the tenant's previous one in the same statement, so the next
// message goes through it.
func (s *Service) Create(ctx context.Context, req Save) (Installed, error) {
	if req.ID == "" {
		req.ID = delivery.NewID("conn")
	}
	outcome, err := s.prove(ctx, req.Tenant, req.FactoryID, req.Config, req.Check)
	if err != nil {
		return Installed{}, err
	}
	now := s.now()
	row := store.Connector{TenantID: req.Tenant, ID: req.ID, ConnectorID: req.FactoryID,
		Config: s.conns.SealConfig(req.Tenant, req.ID, req.Config), CreatedAt: now, UpdatedAt: now}
	if err := s.st.InTx(ctx, func(tx *store.Tx) error { return tx.ConnectorReplace(ctx, row) }); err != nil {
		return Installed{}, err
	}
	s.logger.InfoContext(ctx, "email connector set", "connector", req.FactoryID, "id", req.ID)
	return s.view(ctx, row, outcome)
}

// Update proves and saves a new config for the tenant's connector req.ID
// (store.ErrNotFound when there is none).
func (s *Service) Update(ctx context.Context, req Save) (Installed, error) {
	row, err := s.st.ConnectorGet(ctx, req.Tenant, req.ID)
	if err != nil {
		return Installed{}, err
	}
	f, ok := connector.Lookup(row.ConnectorID)
	if !ok {
		return Installed{}, unknownStored(row)
	}
	prev, err := s.conns.OpenConfig(row)
	if err != nil {
		return Installed{}, err
	}
	// A client that echoes the redacted config keeps the stored secrets,
	// as long as they would go where they went before.
	raw, err := connector.KeepSecrets(f, req.Config, prev)
	if err != nil {
		return Installed{}, err
	}
	outcome, err := s.prove(ctx, req.Tenant, f.ID, raw, req.Check)
	if err != nil {
		return Installed{}, err
	}
	// The config was proved outside any transaction (a check talks to the
	// provider); the write takes the connector's lock and goes ahead only
	// if nobody saved the connector since it was read, so no update is lost.
	read := row.UpdatedAt
	now := s.now()
	row.Config, row.UpdatedAt = s.conns.SealConfig(req.Tenant, row.ID, raw), now
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockKey(ctx, "connector\x00"+req.Tenant+"\x00"+req.ID); err != nil {
			return err
		}
		cur, err := tx.ConnectorGet(ctx, req.Tenant, req.ID)
		if err != nil {
			return err
		}
		if !cur.UpdatedAt.Equal(read) {
			return fmt.Errorf("connector %s was saved by another request meanwhile; read it again: %w", req.ID, store.ErrConflict)
		}
		return tx.ConnectorUpdateConfig(ctx, req.Tenant, row.ID, row.Config, now)
	})
	if err != nil {
		return Installed{}, err
	}
	return s.view(ctx, row, outcome)
}

// Get returns the tenant's connector id (store.ErrNotFound when there is
// none).
func (s *Service) Get(ctx context.Context, tenant, id string) (Installed, error) {
	row, err := s.st.ConnectorGet(ctx, tenant, id)
	if err != nil {
		return Installed{}, err
	}
	return s.view(ctx, row, nil)
}

// List returns the tenant's connectors.
func (s *Service) List(ctx context.Context, tenant string) ([]Installed, error) {
	rows, err := s.st.ConnectorList(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]Installed, 0, len(rows))
	for _, row := range rows {
		v, err := s.view(ctx, row, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// NoCheckMessage says how to try a config whose kind cannot check one.
func NoCheckMessage(factoryID string) string {
	return factoryID + " cannot check a config without sending mail; try it with POST /api/connectors/" + factoryID + "/test"
}

// prove builds the config (schema, fields, endpoints) or, with check,
// runs the connector's check on it. A permanent failure is the error; a
// temporary one, or a kind that cannot check, is an outcome the save
// reports and goes ahead with.
func (s *Service) prove(ctx context.Context, tenant, factoryID string, raw json.RawMessage, check bool) (*CheckOutcome, error) {
	if !check {
		a, err := s.conns.Build(ctx, tenant, factoryID, raw)
		if err != nil {
			return nil, err
		}
		a.Close()
		return nil, nil
	}
	err := s.conns.Check(ctx, tenant, factoryID, raw)
	var se *delivery.SendError
	switch {
	case err == nil:
		return &CheckOutcome{Result: "passed"}, nil
	case errors.Is(err, delivery.ErrNoCheck):
		return &CheckOutcome{Result: "not_supported", Message: NoCheckMessage(factoryID)}, nil
	case errors.As(err, &se) && connector.Temporary(se.Err):
		s.logger.WarnContext(ctx, "connector check failed temporarily; saving anyway", "connector", factoryID, "err", se.Err.Error())
		return &CheckOutcome{Result: "temporary_failure", Message: se.Err.Error()}, nil
	}
	return nil, err
}

// view is row as an admin sees it.
func (s *Service) view(ctx context.Context, row store.Connector, outcome *CheckOutcome) (Installed, error) {
	f, ok := connector.Lookup(row.ConnectorID)
	if !ok {
		return Installed{}, unknownStored(row)
	}
	raw, err := s.conns.OpenConfig(row)
	if err != nil {
		return Installed{}, err
	}
	health, err := s.st.ConnectorHealth(ctx, row.TenantID, row.ID)
	if err != nil {
		return Installed{}, err
	}
	return Installed{ID: row.ID, Factory: f, Config: connector.Redact(f, raw), CreatedAt: row.CreatedAt,
		UpdatedAt: row.UpdatedAt, Health: health, Check: outcome}, nil
}

// unknownStored is a saved connector whose kind this build does not have
// (a custom build's connector, opened by the standard one).
func unknownStored(row store.Connector) error {
	return fmt.Errorf("stored connector %s has factory %q, which this build does not include", row.ID, row.ConnectorID)
}
