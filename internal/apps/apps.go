// Package apps keeps a tenant's applications (the OpenID Connect clients,
// Logto's application object), its API resources and the roles
// applications hold. A Traditional or MachineToMachine application has a
// client secret, generated here, shown once and stored only as a keyed
// hash; redirect URIs are checked when saved and matched exactly when
// used. The management API is a built-in resource, and a built-in
// machine-to-machine role grants its scope "all", as Logto seeds them.
package apps

import (
	"context"
	"crypto/hmac"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
)

// Type is an application type, Logto's names.
type Type string

// The application types authmail serves (Logto's Protected and SAML types
// are not among them).
const (
	TypeTraditional      Type = "Traditional"
	TypeSPA              Type = "SPA"
	TypeNative           Type = "Native"
	TypeMachineToMachine Type = "MachineToMachine"
)

// Types lists every application type.
func Types() []Type { return []Type{TypeNative, TypeSPA, TypeTraditional, TypeMachineToMachine} }

// hasSecret reports whether applications of the type are confidential
// clients, with a client secret (Logto's hasSecrets).
func (t Type) hasSecret() bool { return t == TypeTraditional || t == TypeMachineToMachine }

// Errors the service returns; callers check them with errors.Is.
var (
	// ErrNotFound means the tenant has no such application, resource or
	// role; the error is a *NotFoundError that says which.
	ErrNotFound = errors.New("not found")
	// ErrInvalidClient means a client ID and secret do not authenticate
	// an application: the ID is unknown, the secret wrong, or the
	// application has no secret.
	ErrInvalidClient = errors.New("invalid client credentials")
	// ErrNotMachineToMachine means only a MachineToMachine application
	// may hold roles.
	ErrNotMachineToMachine = errors.New("only machine-to-machine applications can have roles")
	// ErrUserRole means a User role cannot be given to an application.
	ErrUserRole = errors.New("a user role cannot be given to a machine-to-machine application")
	// ErrRoleNotHeld means the application does not hold the role.
	ErrRoleNotHeld = errors.New("the application does not hold the role")
	// ErrIndicatorInUse means another resource of the tenant has the
	// indicator.
	ErrIndicatorInUse = errors.New("the resource indicator is in use")
)

// NotFoundError names what was not found: Entity is Logto's table name
// ("applications", "resources", "roles") and ID what was asked for.
type NotFoundError struct {
	Entity, ID string
}

// Error says what is missing.
func (e *NotFoundError) Error() string { return fmt.Sprintf("no %s with ID %q", e.Entity, e.ID) }

// Is makes a NotFoundError match ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// FieldError is an input the service refuses: the field (by its JSON
// path) and why, completing a sentence that starts with the field.
type FieldError struct {
	Field, Reason string
}

// Error returns "field reason".
func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

// ManagementResource is the indicator of the management API (Logto's OSS
// management API resource); its one scope is ManagementScope.
const ManagementResource = "https://default.logto.app/api"

// ManagementScope is the management API's scope, which allows everything.
const ManagementScope = "all"

// ManagementResourceID is the built-in management API resource's ID, as
// Logto seeds it.
const ManagementResourceID = "management-api"

// ManagementRoleID is the ID of the built-in machine-to-machine role that
// grants ManagementScope on ManagementResource (Logto's pre-configured
// "Logto Management API access" role).
const ManagementRoleID = "management-api-access"

// DefaultAccessTokenTTL is a resource's access token lifetime, in seconds,
// when its creator gives none (Logto's default).
const DefaultAccessTokenTTL = 3600

// MaxAccessTokenTTL bounds a resource's access token lifetime, in seconds;
// signing keys stay published at least this long after they are rotated
// out.
const MaxAccessTokenTTL = 86400

// Service reads and writes applications, resources and role assignments.
type Service struct {
	// consoleURL is the console application's redirect URI, "" when it is
	// off (EnableConsoleApp).
	consoleURL string
	st         *store.Store
	keys       *keyring.Keyring
	now        func() time.Time
	// demoURL is the demo application's redirect URI, "" when it is off
	// (EnableDemoApp).
	demoURL string
}

// New returns the service over st; keys hashes client secrets.
func New(st *store.Store, keys *keyring.Keyring, now func() time.Time) *Service {
	return &Service{st: st, keys: keys, now: now}
}

// CustomClientMetadata is the part of Logto's customClientMetadata that
// authmail uses; every field is optional. IDTokenTTL is seconds.
type CustomClientMetadata struct {
	CorsAllowedOrigins      []string `json:"corsAllowedOrigins,omitempty"`
	IDTokenTTL              *int     `json:"idTokenTtl,omitempty"`
	RefreshTokenTTLInDays   *int     `json:"refreshTokenTtlInDays,omitempty"`
	AlwaysIssueRefreshToken *bool    `json:"alwaysIssueRefreshToken,omitempty"`
	RotateRefreshToken      *bool    `json:"rotateRefreshToken,omitempty"`
}

// Application is an application as anyone may see it: everything but its
// secret, which is never stored in clear (Create returns it once, in
// CreateResult.Secret).
type Application struct {
	TenantID, ID, Name, Description string
	Type                            Type
	// RedirectURIs and PostLogoutRedirectURIs are Logto's
	// oidcClientMetadata; a URI is allowed only as written here.
	RedirectURIs, PostLogoutRedirectURIs []string
	CustomClientMetadata                 CustomClientMetadata
	CustomData                           map[string]any
	CreatedAt                            time.Time
}

// Public reports whether the application has no secret (SPA, Native): it
// must then prove itself with PKCE.
func (a Application) Public() bool { return !a.Type.hasSecret() }

// RedirectURIAllowed reports whether uri is one of the redirect URIs, as
// written.
func (a Application) RedirectURIAllowed(uri string) bool { return slices.Contains(a.RedirectURIs, uri) }

// PostLogoutRedirectURIAllowed reports whether uri is one of the
// post-logout redirect URIs, as written.
func (a Application) PostLogoutRedirectURIAllowed(uri string) bool {
	return slices.Contains(a.PostLogoutRedirectURIs, uri)
}

// NewApplication is what Create is given; Name and Type are required.
type NewApplication struct {
	Name, Description                    string
	Type                                 Type
	RedirectURIs, PostLogoutRedirectURIs []string
	CustomClientMetadata                 CustomClientMetadata
	CustomData                           map[string]any
}

// CreateResult is a new application and, for a confidential one, its
// client secret: the only time the secret is shown.
type CreateResult struct {
	Application Application
	Secret      string
}

// LogValue leaves the secret out of logs.
func (r CreateResult) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", r.Application.ID), slog.Bool("hasSecret", r.Secret != ""))
}

// oidcClientMetadata is the stored form of the redirect URIs.
type oidcClientMetadata struct {
	RedirectURIs           []string `json:"redirectUris"`
	PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
}

// Create checks and stores a new application with a generated ID and, for
// the confidential types, a generated secret.
func (s *Service) Create(ctx context.Context, tenant string, n NewApplication) (CreateResult, error) {
	if !slices.Contains(Types(), n.Type) {
		return CreateResult{}, &FieldError{Field: "type", Reason: fmt.Sprintf("must be one of %s", joinTypes())}
	}
	a := Application{TenantID: tenant, ID: newID(), Name: n.Name, Description: n.Description, Type: n.Type,
		RedirectURIs: n.RedirectURIs, PostLogoutRedirectURIs: n.PostLogoutRedirectURIs,
		CustomClientMetadata: n.CustomClientMetadata, CustomData: n.CustomData, CreatedAt: s.now()}
	row, err := s.row(a)
	if err != nil {
		return CreateResult{}, err
	}
	var secret string
	if a.Type.hasSecret() {
		secret = newSecret()
		row.SecretHash = s.secretHash(tenant, a.ID, secret)
	}
	if err := s.st.WriteQ().ApplicationInsert(ctx, row); err != nil {
		return CreateResult{}, err
	}
	out, err := view(row)
	return CreateResult{Application: out, Secret: secret}, err
}

// Get reads an application.
func (s *Service) Get(ctx context.Context, tenant, id string) (Application, error) {
	if a, ok := s.builtin(tenant, id); ok {
		return a, nil
	}
	row, err := s.st.ApplicationGet(ctx, tenant, id)
	if err != nil {
		return Application{}, appError(err, id)
	}
	return view(row)
}

// Detail is an application with whether it may call the management API
// (Logto's isAdmin).
type Detail struct {
	Application Application
	IsAdmin     bool
}

// GetDetail reads an application and whether it holds a role that grants
// the management API.
func (s *Service) GetDetail(ctx context.Context, tenant, id string) (Detail, error) {
	a, err := s.Get(ctx, tenant, id)
	if err != nil {
		return Detail{}, err
	}
	admin, err := s.ManagementAccess(ctx, tenant, id)
	return Detail{Application: a, IsAdmin: admin}, err
}

// Page chooses a page of a list: Limit items from Offset; a Limit of 0 is
// the whole list.
type Page struct {
	Limit, Offset int
}

// ListQuery selects applications: of the given types (all when empty),
// and none when ThirdParty is true (authmail has no third-party
// applications).
type ListQuery struct {
	Types      []Type
	ThirdParty *bool
	Page       Page
}

// List returns the applications the query selects, newest first, and how
// many it selects in all.
func (s *Service) List(ctx context.Context, tenant string, q ListQuery) ([]Application, int, error) {
	if q.ThirdParty != nil && *q.ThirdParty {
		return []Application{}, 0, nil
	}
	f := store.ApplicationFilter{Tenant: tenant, Limit: q.Page.Limit, Offset: q.Page.Offset}
	for _, t := range q.Types {
		if !slices.Contains(Types(), t) {
			return nil, 0, &FieldError{Field: "types", Reason: fmt.Sprintf("must each be one of %s", joinTypes())}
		}
		f.Types = append(f.Types, string(t))
	}
	rows, total, err := s.st.ApplicationList(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Application, 0, len(rows))
	for _, r := range rows {
		a, err := view(r)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, a)
	}
	return out, total, nil
}

// Patch is a change to an application. A nil field is kept;
// CustomClientMetadata and CustomData, when not nil, replace the old
// values whole (Logto's replace). IsAdmin, when not nil, gives or takes
// the management API role (a MachineToMachine application only).
type Patch struct {
	Name, Description                    *string
	RedirectURIs, PostLogoutRedirectURIs *[]string
	CustomClientMetadata                 *CustomClientMetadata
	CustomData                           map[string]any
	IsAdmin                              *bool
}

// Update applies a patch, checked whole before anything is written.
func (s *Service) Update(ctx context.Context, tenant, id string, p Patch) (Application, error) {
	var out store.Application
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockKey(ctx, lockKey(tenant, id)); err != nil {
			return err
		}
		row, err := tx.ApplicationGet(ctx, tenant, id)
		if err != nil {
			return err
		}
		a, err := view(row)
		if err != nil {
			return err
		}
		if p.Name != nil {
			a.Name = *p.Name
		}
		if p.Description != nil {
			a.Description = *p.Description
		}
		if p.RedirectURIs != nil {
			a.RedirectURIs = *p.RedirectURIs
		}
		if p.PostLogoutRedirectURIs != nil {
			a.PostLogoutRedirectURIs = *p.PostLogoutRedirectURIs
		}
		if p.CustomClientMetadata != nil {
			a.CustomClientMetadata = *p.CustomClientMetadata
		}
		if p.CustomData != nil {
			a.CustomData = p.CustomData
		}
		if p.IsAdmin != nil && a.Type != TypeMachineToMachine {
			return ErrNotMachineToMachine
		}
		next, err := s.row(a)
		if err != nil {
			return err
		}
		next.SecretHash = row.SecretHash
		if err := tx.ApplicationUpdate(ctx, next); err != nil {
			return err
		}
		if p.IsAdmin != nil {
			if *p.IsAdmin {
				_, err = tx.ApplicationRoleAdd(ctx, tenant, id, ManagementRoleID, s.now())
			} else if err = tx.ApplicationRoleRemove(ctx, tenant, id, ManagementRoleID); errors.Is(err, store.ErrNotFound) {
				err = nil
			}
		}
		out = next
		return err
	})
	if err != nil {
		return Application{}, appError(err, id)
	}
	return view(out)
}

// Delete removes an application and the roles it holds, so a token it was
// given stops opening the management API at once.
func (s *Service) Delete(ctx context.Context, tenant, id string) error {
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockKey(ctx, lockKey(tenant, id)); err != nil {
			return err
		}
		return tx.ApplicationDelete(ctx, tenant, id)
	})
	return appError(err, id)
}

// Authenticate checks a confidential client's secret in constant time; a
// wrong secret, an unknown ID and an application without a secret are
// all ErrInvalidClient.
func (s *Service) Authenticate(ctx context.Context, tenant, id, secret string) (Application, error) {
	presented := s.secretHash(tenant, id, secret)
	row, err := s.st.ApplicationGet(ctx, tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		return Application{}, ErrInvalidClient
	}
	if err != nil {
		return Application{}, err
	}
	if row.SecretHash == "" || !hmac.Equal([]byte(row.SecretHash), []byte(presented)) {
		return Application{}, ErrInvalidClient
	}
	return view(row)
}

// secretHash is the keyed hash a client secret is stored as, bound to its
// tenant and application.
func (s *Service) secretHash(tenant, id, secret string) string {
	return s.keys.IdentifierHash(tenant, "client secret "+id, secret)
}

// lockKey serialises the writes to one application.
func lockKey(tenant, id string) string { return "application:" + tenant + ":" + id }

// appError names the application a store error is about.
func appError(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &NotFoundError{Entity: "applications", ID: id}
	}
	return err
}

// Logto's column sizes, and authmail's bounds on lists.
const (
	maxName        = 256
	maxDescription = 4096
	maxURIs        = 100
	maxURI         = 2048
)

// row checks an application and encodes it for the store.
func (s *Service) row(a Application) (store.Application, error) {
	if strings.TrimSpace(a.Name) == "" || utf8.RuneCountInString(a.Name) > maxName {
		return store.Application{}, &FieldError{Field: "name", Reason: fmt.Sprintf("must be 1 to %d characters", maxName)}
	}
	if utf8.RuneCountInString(a.Description) > maxDescription {
		return store.Application{}, &FieldError{Field: "description", Reason: fmt.Sprintf("must be at most %d characters", maxDescription)}
	}
	if a.RedirectURIs == nil {
		a.RedirectURIs = []string{}
	}
	if a.PostLogoutRedirectURIs == nil {
		a.PostLogoutRedirectURIs = []string{}
	}
	for field, uris := range map[string][]string{"oidcClientMetadata.redirectUris": a.RedirectURIs,
		"oidcClientMetadata.postLogoutRedirectUris": a.PostLogoutRedirectURIs} {
		if err := checkRedirectURIs(field, a.Type, uris); err != nil {
			return store.Application{}, err
		}
	}
	if err := checkCustomClientMetadata(a.CustomClientMetadata); err != nil {
		return store.Application{}, err
	}
	if a.CustomData == nil {
		a.CustomData = map[string]any{}
	}
	meta, err := json.Marshal(oidcClientMetadata{RedirectURIs: a.RedirectURIs, PostLogoutRedirectURIs: a.PostLogoutRedirectURIs})
	if err != nil {
		return store.Application{}, err
	}
	custom, err := json.Marshal(a.CustomClientMetadata)
	if err != nil {
		return store.Application{}, err
	}
	data, err := json.Marshal(a.CustomData)
	if err != nil {
		return store.Application{}, &FieldError{Field: "customData", Reason: "must be a JSON object"}
	}
	return store.Application{TenantID: a.TenantID, ID: a.ID, Name: a.Name, Description: a.Description, Type: string(a.Type),
		OIDCClientMetadata: string(meta), CustomClientMetadata: string(custom), CustomData: string(data), CreatedAt: a.CreatedAt}, nil
}

func checkCustomClientMetadata(m CustomClientMetadata) error {
	for i, o := range m.CorsAllowedOrigins {
		if !isOrigin(o) {
			return &FieldError{Field: fmt.Sprintf("customClientMetadata.corsAllowedOrigins[%d]", i),
				Reason: "must be an origin: a scheme, a host and perhaps a port, such as https://app.example.com"}
		}
	}
	if m.IDTokenTTL != nil && (*m.IDTokenTTL < 1 || *m.IDTokenTTL > MaxAccessTokenTTL) {
		return &FieldError{Field: "customClientMetadata.idTokenTtl", Reason: fmt.Sprintf("must be from 1 to %d seconds", MaxAccessTokenTTL)}
	}
	if m.RefreshTokenTTLInDays != nil && (*m.RefreshTokenTTLInDays < 1 || *m.RefreshTokenTTLInDays > 180) {
		return &FieldError{Field: "customClientMetadata.refreshTokenTtlInDays", Reason: "must be from 1 to 180 days"}
	}
	return nil
}

func view(r store.Application) (Application, error) {
	var meta oidcClientMetadata
	if err := json.Unmarshal([]byte(r.OIDCClientMetadata), &meta); err != nil {
		return Application{}, fmt.Errorf("application %s: stored oidcClientMetadata: %w", r.ID, err)
	}
	var custom CustomClientMetadata
	if err := json.Unmarshal([]byte(r.CustomClientMetadata), &custom); err != nil {
		return Application{}, fmt.Errorf("application %s: stored customClientMetadata: %w", r.ID, err)
	}
	data := map[string]any{}
	if err := json.Unmarshal([]byte(r.CustomData), &data); err != nil {
		return Application{}, fmt.Errorf("application %s: stored customData: %w", r.ID, err)
	}
	if data == nil {
		data = map[string]any{}
	}
	if meta.RedirectURIs == nil {
		meta.RedirectURIs = []string{}
	}
	if meta.PostLogoutRedirectURIs == nil {
		meta.PostLogoutRedirectURIs = []string{}
	}
	return Application{TenantID: r.TenantID, ID: r.ID, Name: r.Name, Description: r.Description, Type: Type(r.Type),
		RedirectURIs: meta.RedirectURIs, PostLogoutRedirectURIs: meta.PostLogoutRedirectURIs,
		CustomClientMetadata: custom, CustomData: data, CreatedAt: r.CreatedAt}, nil
}

func joinTypes() string {
	var names []string
	for _, t := range Types() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// encodeLower writes random bytes in lower-case letters and digits.
func encodeLower(b []byte) string {
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// newID is an ID as Logto makes them: 21 lower-case letters and digits.
func newID() string {
	return encodeLower(keyring.RandomBytes(14))[:21]
}

// newSecret is a client secret: 160 random bits as 32 lower-case letters
// and digits.
func newSecret() string {
	return encodeLower(keyring.RandomBytes(20))
}
