package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
)

// ErrNoConnector means the tenant has no email connector.
var ErrNoConnector = errors.New("no email connector is configured")

// Active is a tenant's built email connector.
type Active struct {
	// ID is the connector instance ID.
	ID string
	// Factory describes the connector kind.
	Factory connector.Factory
	// Conn sends mail.
	Conn connector.Connector
	// Templates are the config's own templates, if it has any.
	Templates []connector.Template
	// Secrets are the config's secret values, for masking errors.
	Secrets []string

	// owner counts this connector's references when it came from the
	// cache (nil for one from Build, which its caller closes).
	owner *Connectors
	refs  int // guarded by owner.mu; 0 once closed
}

// Connectors builds each tenant's active connector once and rebuilds it
// when the stored row changes, so a switch made through any process takes
// effect for the next message. Sends that arrive together after a change
// share one build. A replaced connector is closed when the last send that
// holds it releases it.
type Connectors struct {
	st     *store.Store
	keys   *keyring.Keyring
	logger *slog.Logger
	now    func() time.Time
	net    Network
	builds singleflight.Group

	mu    sync.Mutex
	cache map[string]*cachedConnector
	live  map[*Active]struct{} // every cached connector not yet closed, replaced or not
}

type cachedConnector struct {
	rowID   string
	updated time.Time
	active  *Active
}

// Network is how the connectors reach the outside: the HTTP client and
// the dialer every connector is given (connector.Env), which apply the
// host's outbound policy (internal/outbound). A nil member is the
// connector package's unguarded default.
type Network struct {
	HTTPClient *http.Client
	Dialer     connector.Dialer
}

// NewConnectors returns an empty cache whose connectors reach the
// outside through nw.
func NewConnectors(st *store.Store, keys *keyring.Keyring, logger *slog.Logger, now func() time.Time, nw Network) *Connectors {
	return &Connectors{st: st, keys: keys, logger: logger, now: now, net: nw,
		cache: map[string]*cachedConnector{}, live: map[*Active]struct{}{}}
}

// SealConfig seals a connector config for its row.
func (c *Connectors) SealConfig(tenant, id string, raw json.RawMessage) string {
	return c.keys.Seal(raw, "connector:"+tenant+":"+id)
}

// OpenConfig unseals a stored connector config.
func (c *Connectors) OpenConfig(row store.Connector) (json.RawMessage, error) {
	b, err := c.keys.Open(row.Config, "connector:"+row.TenantID+":"+row.ID)
	if err != nil {
		return nil, fmt.Errorf("connector %s: %w", row.ID, err)
	}
	return b, nil
}

// Env returns the environment connectors of a tenant are built with.
func (c *Connectors) Env(tenant, factoryID string) connector.Env {
	return connector.Env{
		Logger:     c.logger.With("connector", factoryID, "tenant", tenant),
		HTTPClient: c.net.HTTPClient,
		Dialer:     c.net.Dialer,
		Inbox:      &storeInbox{st: c.st, tenant: tenant, now: c.now},
		Now:        c.now,
	}
}

// Build builds a connector from a raw config without saving it.
func (c *Connectors) Build(ctx context.Context, tenant, factoryID string, raw json.RawMessage) (*Active, error) {
	f, ok := connector.Lookup(factoryID)
	if !ok {
		return nil, &connector.UnknownFactoryError{ID: factoryID}
	}
	secrets := connector.Secrets(f, raw)
	conn, err := connector.Build(ctx, f.ID, raw, c.Env(tenant, f.ID))
	if err != nil {
		return nil, maskError(err, secrets)
	}
	a := &Active{Factory: f, Conn: conn, Secrets: secrets}
	if ts, ok := conn.(connector.TemplateSource); ok {
		a.Templates = ts.Templates()
	}
	return a, nil
}

// ErrNoCheck means a connector kind implements no connector.Checker: its
// config can only be tried by sending a test message.
var ErrNoCheck = errors.New("this connector cannot check a config without sending mail")

// checkTimeout bounds a connector check, as a test send is bounded.
const checkTimeout = 30 * time.Second

// Check builds a connector from a raw config without saving it, runs its
// connector.Checker and closes it. It returns the build's error as Build
// does (an invalid config), a *SendError carrying the check's masked and
// classified failure, or ErrNoCheck when the kind cannot check.
func (c *Connectors) Check(ctx context.Context, tenant, factoryID string, raw json.RawMessage) error {
	a, err := c.Build(ctx, tenant, factoryID, raw)
	if err != nil {
		return err
	}
	defer a.Close()
	ch, ok := a.Conn.(connector.Checker)
	if !ok {
		return fmt.Errorf("%s: %w", a.Factory.ID, ErrNoCheck)
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := ch.Check(ctx); err != nil {
		return &SendError{Connector: a.Factory.ID, Err: a.Mask(err)}
	}
	return nil
}

// maskError hides secret values in err's text: a schema failure quotes the
// value at fault, which may be a secret, and the error reaches responses,
// the message log and the logs. Classification (errors.Is, errors.As of a
// ConfigError) is kept.
func maskError(err error, secrets []string) error {
	text := err.Error()
	if connector.Snippet(text, secrets...) == connector.Snippet(text) {
		return err
	}
	var ce *connector.ConfigError
	if errors.As(err, &ce) {
		return &connector.ConfigError{Field: ce.Field, Reason: connector.Snippet(ce.Reason, secrets...)}
	}
	// A send error keeps its class, status and provider code; its texts
	// are masked and nothing unmasked stays reachable through Unwrap.
	var se *connector.Error
	if errors.As(err, &se) {
		out := *se
		out.Message = connector.Snippet(se.Message, secrets...)
		if se.Err != nil {
			out.Err = errors.New(connector.Snippet(se.Err.Error(), secrets...))
		}
		return &out
	}
	return &maskedError{text: connector.Snippet(text, secrets...), temporary: connector.Temporary(err)}
}

// maskedError is an unclassified error with its secrets masked; it keeps
// only whether the original was worth retrying.
type maskedError struct {
	text      string
	temporary bool
}

func (e *maskedError) Error() string { return e.text }

// Is keeps the retry decision of the error it replaced.
func (e *maskedError) Is(target error) bool { return e.temporary && target == connector.ErrTemporary }

// Mask hides this connector's secret values in err, keeping its class.
func (a *Active) Mask(err error) error {
	if err == nil {
		return nil
	}
	return maskError(err, a.Secrets)
}

// Active returns the tenant's connector, building it when the stored row
// is new or changed. It returns ErrNoConnector when there is none. The
// caller holds a reference and must Release it when its send is done.
func (c *Connectors) Active(ctx context.Context, tenant string) (*Active, error) {
	a, _, err := c.ActiveVersioned(ctx, tenant)
	return a, err
}

// ActiveVersioned is Active plus the tenant's templates version
// (store.TemplatesVersionSetting), read by the same statement.
func (c *Connectors) ActiveVersioned(ctx context.Context, tenant string) (*Active, string, error) {
	row, version, err := c.st.ConnectorActiveVersioned(ctx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		c.drop(tenant)
		return nil, "", ErrNoConnector
	}
	if err != nil {
		return nil, "", err
	}
	a, err := c.built(ctx, tenant, row)
	return a, version, err
}

// built returns a reference to the connector built from row, building it
// when the row is new or changed. Concurrent callers for one row share
// one build.
func (c *Connectors) built(ctx context.Context, tenant string, row store.Connector) (*Active, error) {
	for {
		if a := c.acquireCached(tenant, row); a != nil {
			return a, nil
		}
		key := tenant + "\x00" + row.ID + "\x00" + row.UpdatedAt.String()
		v, err, _ := c.builds.Do(key, func() (any, error) {
			if a := c.acquireCached(tenant, row); a != nil {
				// Built by a flight that ended just before this one began.
				c.Release(a)
				return a, nil
			}
			// The build is shared: one caller's cancellation must not fail the others'.
			return c.install(context.WithoutCancel(ctx), tenant, row)
		})
		if err != nil {
			return nil, err
		}
		if c.acquire(v.(*Active)) {
			return v.(*Active), nil
		}
		// Replaced and closed between its build and this caller's turn
		// (the row changed again): look again.
	}
}

// acquireCached returns a reference to the cached connector when it was
// built from row, else nil.
func (c *Connectors) acquireCached(tenant string, row store.Connector) *Active {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := c.cache[tenant]
	if cc == nil || cc.rowID != row.ID || !cc.updated.Equal(row.UpdatedAt) || cc.active.refs == 0 {
		return nil
	}
	cc.active.refs++
	return cc.active
}

// install builds row's connector and makes it the tenant's cached one; the
// cache holds its first reference.
func (c *Connectors) install(ctx context.Context, tenant string, row store.Connector) (*Active, error) {
	raw, err := c.OpenConfig(row)
	if err != nil {
		return nil, err
	}
	a, err := c.Build(ctx, tenant, row.ConnectorID, raw)
	if err != nil {
		return nil, fmt.Errorf("building connector %s: %w", row.ID, err)
	}
	a.ID, a.owner, a.refs = row.ID, c, 1
	c.mu.Lock()
	old := c.cache[tenant]
	c.cache[tenant] = &cachedConnector{rowID: row.ID, updated: row.UpdatedAt, active: a}
	c.live[a] = struct{}{}
	c.mu.Unlock()
	if old != nil {
		c.Release(old.active) // the cache's reference
	}
	return a, nil
}

// acquire takes a reference to a, unless it is already closed.
func (c *Connectors) acquire(a *Active) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.refs == 0 {
		return false
	}
	a.refs++
	return true
}

// Release gives back a reference taken by Active or ActiveVersioned; the
// last one closes a connector that has been replaced.
func (c *Connectors) Release(a *Active) {
	c.mu.Lock()
	a.refs--
	closing := a.refs == 0
	if closing {
		delete(c.live, a)
	}
	c.mu.Unlock()
	if closing {
		a.Close()
	}
}

// Release gives back the reference the caller holds (see
// Connectors.Active). It does nothing for a connector from Build.
func (a *Active) Release() {
	if a != nil && a.owner != nil {
		a.owner.Release(a)
	}
}

func (c *Connectors) drop(tenant string) {
	c.mu.Lock()
	old := c.cache[tenant]
	delete(c.cache, tenant)
	c.mu.Unlock()
	if old != nil {
		c.Release(old.active)
	}
}

// Close closes every connector the cache built, the current ones and the
// replaced ones still held. Call it once sends have stopped.
func (c *Connectors) Close() {
	c.mu.Lock()
	live := c.live
	c.live, c.cache = map[*Active]struct{}{}, map[string]*cachedConnector{}
	for a := range live {
		a.refs = 0
	}
	c.mu.Unlock()
	for a := range live {
		a.Close()
	}
}

// Close closes the connector when it implements io.Closer (an SMTP
// connection pool, say). The caller of Build closes what it built; the
// cache closes its own.
func (a *Active) Close() {
	if cl, ok := a.Conn.(io.Closer); ok {
		_ = cl.Close()
	}
}

// storeInbox keeps dev inbox messages in the database.
type storeInbox struct {
	st     *store.Store
	tenant string
	now    func() time.Time
}

func (i *storeInbox) Store(ctx context.Context, msg connector.Message) (string, error) {
	payload, err := json.Marshal(msg.Payload)
	if err != nil {
		return "", err
	}
	id := NewID("inbox")
	err = i.st.WriteQ().InboxInsert(ctx, store.InboxMessage{TenantID: i.tenant, ID: id, MessageID: msg.ID, To: msg.To,
		From: msg.From.String(), Subject: msg.Subject, HTML: msg.HTML, Text: msg.Text, Type: string(msg.Type),
		Payload: string(payload), CreatedAt: i.now()})
	return id, err
}
