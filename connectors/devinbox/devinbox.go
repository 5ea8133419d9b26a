// Package devinbox is the dev inbox connector: it keeps every message in
// authmail's own database instead of sending it, so that a fresh install
// works with no email provider. Messages are read at
// GET /api/dev-inbox/messages. It is for development only.
package devinbox

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/authmail/authmail/connector"
)

// ID is the factory ID.
const ID = "dev-inbox"

// defaultFrom is the sender of messages whose template sets none.
var defaultFrom = connector.Address{Name: "authmail", Email: "no-reply@authmail.localhost"}

// ErrNoInbox is returned by New when the host gives no inbox to store into.
var ErrNoInbox = errors.New("dev inbox: the host provides no inbox store")

//go:embed README.md
var readme string

const logo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">` +
	`<path d="M8 34l8-22h32l8 22v16a4 4 0 0 1-4 4H12a4 4 0 0 1-4-4z" fill="#fef3c7" stroke="#d97706" stroke-width="3" stroke-linejoin="round"/>` +
	`<path d="M8 34h14a10 10 0 0 0 20 0h14" fill="none" stroke="#d97706" stroke-width="3" stroke-linejoin="round"/>` +
	`<path d="M24 22h16M26 28h12" stroke="#92400e" stroke-width="3" stroke-linecap="round"/>` +
	`</svg>`

const schema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Dev inbox",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "note": {"type": "string", "description": "A free note for whoever reads the config."}
  }
}`

func init() {
	connector.Register(Factory())
}

// Factory returns the dev inbox connector's factory.
func Factory() connector.Factory {
	return connector.Factory{
		ID:    ID,
		Name:  "Dev inbox",
		Group: connector.GroupBuiltIn,
		Description: "Keeps every message in authmail's own database, readable at GET /api/dev-inbox/messages, " +
			"instead of sending it; for development only, never use it in production.",
		Logo:         logo,
		ConfigSchema: json.RawMessage(schema),
		Form: []connector.FormItem{
			{Key: "note", Label: "Note", Type: "Text", Description: "Optional; not used by authmail."},
		},
		DefaultConfig: json.RawMessage(`{}`),
		ReadMe:        readme,
		NewConfig:     func() connector.Config { return &Config{} },
	}
}

// Config is the dev inbox config. It has no settings.
type Config struct {
	// Note is a free text for whoever reads the config; unused.
	Note string `json:"note,omitempty"`
}

// Connector stores messages in the host's inbox.
type Connector struct {
	inbox  connector.Inbox
	logger *slog.Logger
}

// Build builds a dev inbox connector on env.Inbox.
func (c *Config) Build(_ context.Context, env connector.Env) (connector.Connector, error) {
	if env.Inbox == nil {
		return nil, ErrNoInbox
	}
	return &Connector{inbox: env.Inbox, logger: env.Logger}, nil
}

// Send stores msg, with its sender resolved, and returns the inbox ID.
func (c *Connector) Send(ctx context.Context, msg connector.Message) (connector.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return connector.Receipt{}, err
	}
	msg.From = connector.ResolveFrom(msg.From, defaultFrom)
	id, err := c.inbox.Store(ctx, msg)
	if err != nil {
		return connector.Receipt{}, storeError(err)
	}
	c.logger.InfoContext(ctx, "message kept in the dev inbox, not sent", "message_id", msg.ID, "inbox_id", id, "type", msg.Type)
	return connector.Receipt{ProviderMessageID: id}, nil
}

// Check always passes: the inbox is authmail's own database, with no
// connection or credentials of its own to prove.
func (c *Connector) Check(ctx context.Context) error { return ctx.Err() }

// storeError classifies an inbox failure: context errors stay as they are,
// anything else (a busy or unreachable database) is temporary.
func storeError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &connector.Error{Kind: connector.ErrTemporary, Err: fmt.Errorf("storing in the dev inbox: %w", err)}
}

// Interface guards.
var (
	_ connector.Config    = (*Config)(nil)
	_ connector.Connector = (*Connector)(nil)
	_ connector.Checker   = (*Connector)(nil)
)
