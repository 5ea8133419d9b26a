// Package tenant holds what authmail knows about a tenant: its email
// settings (the email part of Logto's sign-in experience), its admin key,
// and which tenant a request acts for. The rule that email sign-in needs an
// email connector lives here too, on both of its sides: turning email codes
// on and removing the connector check and write in one transaction.
//
// The package sits below the HTTP layer and the send pipeline, beside
// verification, emailtemplate and delivery, and above the store. The rest
// of the sign-in experience (users, applications, OIDC clients) will grow
// here.
package tenant

import "context"

// Default is the tenant of a single-tenant install.
const Default = "default"

type ctxKey struct{}

// NewContext returns ctx carrying the tenant id a request acts for. The
// HTTP layer resolves the tenant once per request and calls it.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the tenant NewContext put in ctx. It panics when
// there is none: acting for no tenant, or a guessed one, would read or
// write another tenant's rows.
func FromContext(ctx context.Context) string {
	id, ok := ctx.Value(ctxKey{}).(string)
	if !ok || id == "" {
		panic("tenant: the context carries no tenant; resolve it first (tenant.NewContext)")
	}
	return id
}
