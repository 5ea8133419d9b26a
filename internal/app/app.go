// Package app wires authmail's parts together: the store, the keyring,
// the connector cache, the delivery service, the tenants' settings, the
// send pipeline and the API. The authmail
// command, the end-to-end tests and the load tool all build it the same way.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/account"
	"github.com/authmail/authmail/internal/api"
	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/connconfig"
	"github.com/authmail/authmail/internal/console"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/demoapp"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/oidc"
	"github.com/authmail/authmail/internal/orgs"
	"github.com/authmail/authmail/internal/outbound"
	"github.com/authmail/authmail/internal/pages"
	"github.com/authmail/authmail/internal/password"
	"github.com/authmail/authmail/internal/ratelimit"
	"github.com/authmail/authmail/internal/relyingparty"
	"github.com/authmail/authmail/internal/savedtemplates"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/signingkeys"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
)

// App is a running authmail: call Start, serve Handler, then Stop.
type App struct {
	Store    *store.Store
	Keys     *keyring.Keyring
	Delivery *delivery.Service
	// Tenants holds the tenants' settings and admin keys.
	Tenants *tenant.Settings
	// Codes is the send pipeline every surface sends through.
	Codes *sendcode.Service
	API   *api.Server
	// Pages are the hosted sign-in pages.
	Pages *pages.Server
	// Console is the admin console at /console.
	Console *console.Server
	// DemoApp is the built-in demo application at /demo-app, nil when
	// --demo-app is false.
	DemoApp *demoapp.Server
	// Apps holds the tenants' applications, API resources and roles.
	Apps *apps.Service
	// SigningKeys holds the tenants' token signing keys.
	SigningKeys *signingkeys.Service
	// Users holds the tenants' users.
	Users *identity.Service
	// Experience runs the sign-in flows (the experience API and the hosted
	// pages call it).
	Experience *experience.Service
	// Orgs holds the tenants' organizations, organization roles and
	// invitations.
	Orgs *orgs.Service
	// Account runs the account API and the hosted account page.
	Account *account.Service
	// Limiter caps the requests one client makes to the public routes.
	Limiter *ratelimit.Limiter
	// OIDC is the OpenID Connect provider, under /oidc.
	OIDC *oidc.Provider
	// AdminKey is the admin key when this start generated it, else "".
	AdminKey string
	// PublicURL is the URL authmail is reached at (config.Settings.PublicBaseURL).
	PublicURL string

	conns  *delivery.Connectors
	logger *slog.Logger
}

// Options are what New needs besides the settings.
type Options struct {
	// SecretKey is the 32-byte key; when nil, SecretKeyText is parsed,
	// and when that is empty too the key file in the data dir is read
	// (generated on first start).
	SecretKey []byte
	// SecretKeyText is the key as 64 hex digits or base64, as
	// AUTHMAIL_SECRET_KEY gives it.
	SecretKeyText string
	// DNSResolver is the nameserver ("HOST:PORT", AUTHMAIL_DNS_RESOLVER)
	// deliverability checks query; empty means the system's.
	DNSResolver string
	// AdminKey, when set, is the admin key to accept (AUTHMAIL_ADMIN_KEY).
	AdminKey string
	// Now is the clock; nil means time.Now in UTC.
	Now func() time.Time
	// Delivery overrides delivery tuning (Workers and FirstAttemptWait
	// come from the settings when zero).
	Delivery delivery.Config
}

// MinAdminKeyLen is the shortest admin key New accepts. The key guards
// every management route and is stored as a fast hash, so it must not be
// guessable.
const MinAdminKeyLen = 16

// New opens and migrates the database and builds every part.
func New(ctx context.Context, s config.Settings, opts Options, logger *slog.Logger) (*App, error) {
	opts.AdminKey = strings.TrimSpace(opts.AdminKey)
	if opts.AdminKey != "" && len(opts.AdminKey) < MinAdminKeyLen {
		return nil, fmt.Errorf("AUTHMAIL_ADMIN_KEY must be at least %d characters (a generated key has 67)", MinAdminKeyLen)
	}
	now := opts.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	st, err := store.Open(ctx, s.DatabaseURL(), logger.With("component", "store"))
	if err != nil {
		return nil, err
	}
	a := &App{Store: st, PublicURL: s.PublicBaseURL(), logger: logger}
	if err := a.build(ctx, s, opts, now); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context, s config.Settings, opts Options, now func() time.Time) error {
	if err := a.Store.Migrate(ctx); err != nil {
		return err
	}
	var err error
	if opts.SecretKey != nil {
		a.Keys, err = keyring.New(opts.SecretKey)
	} else {
		a.Keys, err = secretKey(opts.SecretKeyText, s.DataDir, a.logger)
	}
	if err != nil {
		return err
	}
	// Connectors reach the outside only through the outbound policy, and
	// never this process's own listen address.
	policy := outbound.Policy{AllowPrivate: s.AllowPrivateEndpoints, Allow: s.AllowEndpoints}
	if s.Addr != "" {
		policy.Listen = []string{s.Addr}
	}
	guard, err := outbound.New(ctx, policy)
	if err != nil {
		return err
	}
	a.conns = delivery.NewConnectors(a.Store, a.Keys, a.logger, now,
		delivery.Network{HTTPClient: guard.HTTPClient(), Dialer: guard.Dialer()})
	a.Tenants = tenant.New(a.Store, now)
	if err := a.bootstrap(ctx, s, opts.AdminKey, now); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	dc := opts.Delivery
	if dc.Workers == 0 {
		dc.Workers = s.Workers
	}
	if dc.FirstAttemptWait == 0 {
		dc.FirstAttemptWait = s.FirstAttemptWait
	}
	a.Delivery, err = delivery.New(a.Store, a.Keys, a.conns, delivery.NewMetrics(reg, a.Store), a.logger, now, dc)
	if err != nil {
		return err
	}
	codes := verification.New(a.Keys, now)
	a.Codes = sendcode.New(sendcode.Deps{Store: a.Store, Tenants: a.Tenants, Connectors: a.conns, Delivery: a.Delivery,
		Verification: codes})
	a.Apps = apps.New(a.Store, a.Keys, now)
	if !s.NoDemoApp {
		a.Apps.EnableDemoApp(a.PublicURL)
	}
	a.Apps.EnableConsoleApp(a.PublicURL)
	// A rotated-out key stays published as long as the longest-lived
	// token it may have signed.
	a.SigningKeys = signingkeys.New(a.Store, a.Keys, now, apps.MaxAccessTokenTTL*time.Second)
	a.Users = identity.New(a.Store, now, password.NewChecker(guard.HTTPClient(), s.PwnedPasswordsURL))
	a.Limiter = ratelimit.New(a.Store, a.Keys, now)
	a.OIDC, err = oidc.New(oidc.Deps{Store: a.Store, Keys: a.Keys, Apps: a.Apps, SigningKeys: a.SigningKeys, Users: a.Users,
		PublicURL: a.PublicURL, Limiter: a.Limiter, Limit: OIDCLimit(s), Logger: a.logger, Now: now})
	if err != nil {
		return err
	}
	a.Experience = experience.New(experience.Deps{Store: a.Store, Keys: a.Keys, Tenants: a.Tenants, Users: a.Users, Codes: a.Codes,
		Verification: codes, Completer: a.OIDC, Authorizer: a.OIDC, Limiter: a.Limiter, AppLimit: AppLimit(s), PublicURL: a.PublicURL, Logger: a.logger.With("component", "experience"), Now: now})
	a.OIDC.SetExperience(a.Experience)
	a.Account = account.New(account.Deps{Store: a.Store, Keys: a.Keys, Tenants: a.Tenants, Users: a.Users, Codes: a.Codes,
		Verification: codes, Tokens: a.OIDC, Sessions: a.Experience, AppName: a.appName, Logger: a.logger.With("component", "account"), Now: now})
	configs, templates := connconfig.New(a.Store, a.conns, a.logger, now), savedtemplates.New(a.Store, now)
	a.Orgs = orgs.New(orgs.Deps{Store: a.Store, Keys: a.Keys, Users: a.Users, Codes: a.Codes, Delivery: a.Delivery, Tenants: a.Tenants,
		Now: now, Logger: a.logger.With("component", "orgs"), PublicURL: a.PublicURL})
	a.API = api.New(api.Deps{Store: a.Store, Connectors: a.conns, Tenants: a.Tenants, Codes: a.Codes, Verification: codes,
		Configs: configs, Templates: templates, Users: a.Users,
		Apps: a.Apps, SigningKeys: a.SigningKeys, Issuer: a.OIDC.Issuer(), OIDCOperations: oidc.Operations(),
		Experience: a.Experience, Orgs: a.Orgs, Account: a.Account, Limiter: a.Limiter, PublicLimit: PublicLimit(s),
		Registry: reg, Logger: a.logger, Now: now, DNSResolver: opts.DNSResolver})
	a.Pages, err = pages.New(pages.Deps{Experience: a.Experience, Account: a.Account, Tenants: a.Tenants, AppName: a.appName,
		Limiter: a.Limiter, Limit: PublicLimit(s), Keys: a.Keys, Logger: a.logger, Now: now,
		SecureCookies: strings.HasPrefix(a.PublicURL, "https://"), Orgs: a.Orgs})
	if err != nil {
		return err
	}
	a.Console, err = console.New(console.Deps{Store: a.Store, Tenants: a.Tenants, Keys: a.Keys, Configs: configs, Codes: a.Codes,
		Templates: templates, Delivery: a.Delivery, Connectors: a.conns, Users: a.Users, Apps: a.Apps, Orgs: a.Orgs, Verification: codes, Preview: a.Pages, Account: a.consoleAccount(now), DNSResolver: opts.DNSResolver, Logger: a.logger, Now: now,
		SecureCookies: strings.HasPrefix(a.PublicURL, "https://")})
	if err != nil || s.NoDemoApp {
		return err
	}
	a.DemoApp, err = demoapp.New(demoapp.Deps{Issuer: a.OIDC.Issuer(), PublicURL: a.PublicURL, Client: a.OIDC.InProcessClient(),
		Keys: a.Keys, Limiter: a.Limiter, Limit: PublicLimit(s), Logger: a.logger, Now: now,
		SecureCookies: strings.HasPrefix(a.PublicURL, "https://")})
	return err
}

// PublicLimit is the per-client cap on the public sign-in routes the
// settings ask for.
func PublicLimit(s config.Settings) ratelimit.Limit {
	return ratelimit.Limit{Name: "public", N: s.PublicRequestLimit, Window: time.Minute}
}

// appName names the application of a client ID, "" for one the tenant
// does not have.
func (a *App) appName(ctx context.Context, tenant, clientID string) (string, error) {
	app, err := a.Apps.Get(ctx, tenant, clientID)
	if errors.Is(err, apps.ErrNotFound) {
		return "", nil
	}
	return app.Name, err
}

// AppLimit is the per-application cap on sign-ins without redirects
// (experience.StartDirect and the steps of its interactions).
func AppLimit(s config.Settings) ratelimit.Limit {
	return ratelimit.Limit{Name: "app", N: s.AppRequestLimit, Window: time.Minute}
}

// consoleAccount is the console's client of the provider, signing
// administrators in through the hosted pages as apps.ConsoleAppID.
func (a *App) consoleAccount(now func() time.Time) *relyingparty.RP {
	return relyingparty.New(relyingparty.Config{ClientID: apps.ConsoleAppID, RedirectURL: a.PublicURL + apps.ConsoleCallbackPath,
		Issuer: a.OIDC.Issuer(), Client: a.OIDC.InProcessClient(), Keys: a.Keys, Cookie: "authmail_console_signin",
		CookiePath: console.Prefix, Secure: strings.HasPrefix(a.PublicURL, "https://"), Scopes: []string{"profile", "email"}, Now: now})
}

// OIDCLimit is the per-client cap on the OpenID Connect routes: as many
// requests as the public sign-in routes allow, counted apart.
func OIDCLimit(s config.Settings) ratelimit.Limit {
	return ratelimit.Limit{Name: "oidc", N: s.PublicRequestLimit, Window: time.Minute}
}

// Handler serves the OpenID Connect provider, the hosted pages and the
// API.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	a.OIDC.Mount(mux)
	a.Pages.Mount(mux)
	a.Console.Mount(mux)
	if a.DemoApp != nil {
		a.DemoApp.Mount(mux)
	}
	mux.Handle("/", a.API.Handler())
	return mux
}

// Connectors is the per-tenant cache of built connectors, which also
// seals and opens their stored configs.
func (a *App) Connectors() *delivery.Connectors { return a.conns }

// Start runs the delivery workers.
func (a *App) Start(ctx context.Context) error { return a.Delivery.Start(ctx) }

// Stop lets in-flight deliveries finish until ctx ends, then closes
// connectors and the database.
func (a *App) Stop(ctx context.Context) error {
	err := a.Delivery.Stop(ctx)
	a.conns.Close()
	return errors.Join(err, a.Store.Close())
}

// secretKey parses the given key (AUTHMAIL_SECRET_KEY), or reads the key
// file in the data dir, generating it (mode 0600) on first start.
func secretKey(given, dataDir string, logger *slog.Logger) (*keyring.Keyring, error) {
	if given != "" {
		b, err := keyring.ParseKey(given)
		if err != nil {
			return nil, fmt.Errorf("AUTHMAIL_SECRET_KEY: %w", err)
		}
		return keyring.New(b)
	}
	path := filepath.Join(dataDir, "secret-key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := keyring.NewKey()
		if err := writeOnce(path, key); err != nil {
			return nil, err
		}
		logger.Info("generated the secret key that seals secrets at rest; back it up", "path", path)
		b = []byte(key)
	} else if err != nil {
		return nil, err
	}
	raw, err := keyring.ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keyring.New(raw)
}

// writeOnce creates path with mode 0600, refusing to overwrite it.
func writeOnce(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.WriteString(content + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// settingInstalledAt records when the first start finished bootstrapping.
const settingInstalledAt = "installed_at"

// bootstrap provisions the admin key and, on a fresh install, the dev
// inbox connector, so everything works with no provider.
func (a *App) bootstrap(ctx context.Context, s config.Settings, adminKey string, now func() time.Time) error {
	keyPath := filepath.Join(s.DataDir, "admin-key")
	fresh, err := a.Tenants.EnsureAdminKey(ctx, tenant.Default, adminKey, func(fresh string) error {
		if err := writeOnce(keyPath, fresh); err != nil {
			return fmt.Errorf("writing the admin key: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("provisioning the admin key: %w", err)
	}
	if fresh != "" {
		a.AdminKey = fresh
		a.logger.Info("generated the admin key; it is written once, to this file", "path", keyPath)
	} else if adminKey == "" {
		a.logger.Info("admin key file (written on first start)", "path", keyPath)
	}
	// A fresh install is one that never finished bootstrapping, whether
	// the admin key was generated or given (AUTHMAIL_ADMIN_KEY).
	_, err = a.Store.SettingGet(ctx, tenant.Default, settingInstalledAt)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	installed := err == nil
	conns, err := a.Store.ConnectorList(ctx, tenant.Default)
	if err != nil {
		return err
	}
	f, devInbox := connector.Lookup("dev-inbox")
	if !installed && len(conns) == 0 && !devInbox {
		a.logger.Warn("this build has no dev inbox connector, so no connector is active; create one with POST /api/connectors")
	}
	if !installed && len(conns) == 0 && devInbox {
		id := delivery.NewID("conn")
		row := store.Connector{TenantID: tenant.Default, ID: id, ConnectorID: f.ID,
			Config: a.conns.SealConfig(tenant.Default, id, []byte(`{}`)), CreatedAt: now(), UpdatedAt: now()}
		if err := a.Store.WriteQ().ConnectorReplace(ctx, row); err != nil {
			return err
		}
		conns = append(conns, row)
	}
	if !installed {
		// Written after the dev inbox, so a crash in between only repeats
		// the check above, which then finds the connector.
		if _, err := a.Store.WriteQ().SettingInsert(ctx, tenant.Default, settingInstalledAt, now().Format(time.RFC3339), now()); err != nil {
			return err
		}
	}
	for _, c := range conns {
		if c.ConnectorID == "dev-inbox" {
			a.logger.Warn("the dev inbox connector is active: mail is kept in the database, not sent; read it at GET /api/dev-inbox/messages and set a real connector before production")
		}
	}
	return nil
}
