package sendcode

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/store"
)

// CheckRequest is a check of a connector config that is not saved.
type CheckRequest struct {
	// Tenant is the tenant the config is for.
	Tenant string
	// FactoryID is the connector factory to build the config with.
	FactoryID string
	// Config is the unsaved config. Secrets it sends back redacted are
	// taken from the tenant's saved connector, as for a test send.
	Config json.RawMessage
}

// Check proves an unsaved config's connection and credentials without
// sending mail (connector.Checker). It returns nil when the provider
// accepted them, the build's error for a config that cannot work, a
// *delivery.SendError carrying the provider's (masked) refusal, or
// delivery.ErrNoCheck for a connector that can only be tried by sending.
func (s *Service) Check(ctx context.Context, req CheckRequest) error {
	raw, err := s.withSavedSecrets(ctx, req.Tenant, req.FactoryID, req.Config)
	if err != nil {
		return err
	}
	return s.d.Connectors.Check(ctx, req.Tenant, req.FactoryID, raw)
}

// withSavedSecrets returns raw with the secrets it echoes as
// "[redacted]" taken from the tenant's saved connector of the same
// factory: a console trying an edit of the saved connector (a test send,
// a check) sends its secrets back redacted. A stored secret stays with its
// destination: when the edit changes a destination field, the echo is
// refused (connector.KeepSecrets, a *connector.SecretReuseError). Without
// a saved connector of that factory raw is returned as it is; a database
// that does not answer is an error, so a redacted echo is never tried as
// a secret.
func (s *Service) withSavedSecrets(ctx context.Context, tenant, factoryID string, raw json.RawMessage) (json.RawMessage, error) {
	row, err := s.d.Store.ConnectorActive(ctx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		return raw, nil
	}
	if err != nil {
		return nil, err
	}
	f, ok := connector.Lookup(factoryID)
	if !ok || row.ConnectorID != f.ID {
		return raw, nil
	}
	prev, err := s.d.Connectors.OpenConfig(row)
	if err != nil {
		return nil, err
	}
	return connector.KeepSecrets(f, raw, prev)
}
