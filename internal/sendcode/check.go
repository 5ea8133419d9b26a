package sendcode

import (
	"context"
	"encoding/json"

	"github.com/authmail/authmail/connector"
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
	raw := s.withSavedSecrets(ctx, req.Tenant, req.FactoryID, req.Config)
	return s.d.Connectors.Check(ctx, req.Tenant, req.FactoryID, raw)
}

// withSavedSecrets returns raw with the secrets it echoes as
// "[redacted]" taken from the tenant's saved connector of the same
// factory: a console trying an edit of the saved connector (a test send,
// a check) sends its secrets back redacted.
func (s *Service) withSavedSecrets(ctx context.Context, tenant, factoryID string, raw json.RawMessage) json.RawMessage {
	row, err := s.d.Store.ConnectorActive(ctx, tenant)
	if err != nil {
		return raw
	}
	f, ok := connector.Lookup(factoryID)
	if !ok || row.ConnectorID != f.ID {
		return raw
	}
	prev, err := s.d.Connectors.OpenConfig(row)
	if err != nil {
		return raw
	}
	return connector.KeepRedacted(f, raw, prev)
}
