// Package sendcode is the send pipeline: every surface that mails a
// one-time code for a usage type (the management API today; sign-in,
// sign-up, account changes and the console next) calls it. A send issues
// the code, renders the message with the tenant's settings and templates,
// records the message and its delivery job in one transaction, then makes
// the first delivery attempt. A test send builds its message the same way
// through an unsaved connector, and Verify checks a code under the same
// tenant policy that issued it.
//
// It sits below the HTTP layer and the flows, and above tenant,
// verification, emailtemplate and delivery.
package sendcode

import (
	"context"
	"maps"
	"time"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
)

// Deps are the services a send uses.
type Deps struct {
	Store        *store.Store
	Tenants      *tenant.Settings
	Connectors   *delivery.Connectors
	Delivery     *delivery.Service
	Verification *verification.Service
}

// Service sends and checks codes.
type Service struct {
	d         Deps
	templates *templateCache
}

// New returns the pipeline over d.
func New(d Deps) *Service {
	return &Service{d: d, templates: newTemplateCache()}
}

// Request is one code to send.
type Request struct {
	// Tenant is the tenant the code is for.
	Tenant string
	// Email is the recipient, in canonical form: the code is keyed by it
	// and the message goes to it.
	Email address.Address
	// Usage is the usage type; it picks the template and scopes the code.
	Usage connector.UsageType
	// Locale is the language tag wanted, such as "fr-CA"; may be empty.
	Locale string
	// Preferred are the languages the client prefers, best first (its
	// Accept-Language); when Locale is empty the closest language there are
	// templates in is used. The payload's locale and uiLocales, when it has
	// none, say what was picked and asked for (emailtemplate.Rendered).
	Preferred []language.Tag
	// Payload holds the placeholder values the caller provides
	// (application, organization, user...). It is not modified.
	Payload map[string]any
	// IP is the client's address, when known. It reaches the connector
	// and counts toward the per-IP cap, unless FromAdmin is set.
	IP string
	// FromAdmin says the request came with the admin key (the management
	// API). Its IP is then the app's server, which asks for codes on
	// behalf of all of its users, so it is not capped by IP; every other
	// cap applies.
	FromAdmin bool
	// Suppress records the send without delivering it: the code is issued
	// and counted toward every cap and the message is rendered, as for any
	// send, but no message is written or delivered. A flow sets it for an
	// address that must not learn whether it has an account (Logto's
	// suppressed delivery), so the answer is the same either way.
	Suppress bool
	// Detach makes the first delivery attempt after SendCode returns, not
	// before. A flow that may suppress a send sets it on every send of
	// that kind, so that the provider's answer time does not tell a
	// delivered send from a suppressed one; a failure then shows only in
	// the message log.
	Detach bool
	// Notice, for Send, names a built-in notice (emailtemplate.Notices) whose
	// words the message has instead of the usage type's templates.
	Notice string
	// ExpiresAt is when a message without a code (Send) stops being worth
	// delivering; zero means a day after it is sent. A code's message
	// expires with the code.
	ExpiresAt time.Time
	// Link, when set, is called in a code send's transaction with the code
	// issued and its expiry, and returns a URL that completes the same
	// verification (a magic link), which the payload then carries as
	// link. It writes what the link needs in tx.
	Link func(ctx context.Context, tx *store.Tx, code string, expiresAt time.Time) (string, error)
}

// cappedIP is the IP the per-IP cap counts for a request: none for one
// made with the admin key.
func cappedIP(ip string, fromAdmin bool) string {
	if fromAdmin {
		return ""
	}
	return ip
}

// SendCode issues a code, renders its message and enqueues it in one
// transaction, then makes the first delivery attempt. A permanent failure
// is returned (a *delivery.SendError when the connector refused); a
// temporary one is left to the queue.
func (s *Service) SendCode(ctx context.Context, req Request) error {
	_, err := s.send(ctx, req, true, nil)
	return err
}

// Send mails a message without a code (an organization invitation's
// link): it renders the message with the caller's payload and enqueues it
// in one transaction, running within (when not nil) in that transaction
// with the new message's ID, so that what the message is about and the
// message are written together; then it makes the first delivery attempt,
// unless req.Detach defers it. It returns the message's ID, and a
// permanent failure as SendCode does (the message and what within wrote
// are kept: the message log shows the failure). It counts toward the
// recipient's send caps as a code does. req.Suppress is ignored: a
// message without a code is never suppressed.
func (s *Service) Send(ctx context.Context, req Request, within func(tx *store.Tx, messageID string) error) (string, error) {
	req.Suppress = false
	return s.send(ctx, req, false, within)
}

// send is SendCode's and Send's one pipeline: read the connector and the
// settings; in one transaction issue the code (withCode), render, record
// the message and its job and run within; then the first attempt.
func (s *Service) send(ctx context.Context, req Request, withCode bool, within func(tx *store.Tx, messageID string) error) (string, error) {
	act, templatesVersion, err := s.d.Connectors.ActiveVersioned(ctx, req.Tenant)
	if err != nil {
		return "", err
	}
	defer act.Release()
	exp, err := s.d.Tenants.Experience(ctx, req.Tenant)
	if err != nil {
		return "", err
	}
	var pending delivery.Pending
	err = s.d.Store.InTx(ctx, func(tx *store.Tx) error {
		var issued verification.Issued
		if withCode {
			issued, err = s.d.Verification.Issue(ctx, tx, req.Tenant, req.Email, string(req.Usage), cappedIP(req.IP, req.FromAdmin), exp.VerificationCodePolicy)
		} else {
			// A message without a code counts toward the recipient's send
			// caps as a code's does (Logto's MessageSend guard).
			err = s.d.Verification.CountSend(ctx, tx, req.Tenant, req.Email, cappedIP(req.IP, req.FromAdmin), exp.VerificationCodePolicy)
		}
		if err != nil {
			return err
		}
		// Templates are read through the transaction (when the cache is not
		// at the version read with the connector): on PostgreSQL a read
		// through the pool while every connection holds a send transaction
		// would wait forever.
		templates, err := s.templates.store(ctx, tx.Reader, req.Tenant, templatesVersion)
		if err != nil {
			return err
		}
		composed := req
		if withCode && req.Link != nil {
			link, err := req.Link(ctx, tx, issued.Code, issued.ExpiresAt)
			if err != nil {
				return err
			}
			composed.Payload = maps.Clone(req.Payload)
			if composed.Payload == nil {
				composed.Payload = map[string]any{}
			}
			composed.Payload["link"] = link
		}
		out, err := compose(ctx, templates, exp, composed, withCode, issued.Code, act)
		if err != nil {
			return err
		}
		out.ExpiresAt = issued.ExpiresAt
		if !withCode {
			out.ExpiresAt = req.ExpiresAt
		}
		if req.Suppress {
			return nil
		}
		if pending, err = s.d.Delivery.Enqueue(ctx, tx, out); err != nil {
			return err
		}
		if within != nil {
			return within(tx, pending.ID)
		}
		return nil
	})
	switch {
	case err != nil:
		return "", err
	case req.Suppress:
		return "", nil
	case req.Detach:
		s.d.Delivery.DeliverDetached(ctx, pending)
		return pending.ID, nil
	}
	return pending.ID, s.d.Delivery.Deliver(ctx, pending)
}

// Verify checks a code sent for a recipient and usage type, presented by
// the client at ip (empty when unknown), under the tenant's code policy.
// It returns nil for a right code (which is then used up) and a
// *verification.Error otherwise. Wrong codes count toward the lockout of
// that client for the address and, with a far higher threshold, of the
// address.
func (s *Service) Verify(ctx context.Context, tenantID string, email address.Address, usage connector.UsageType, code, ip string) error {
	exp, err := s.d.Tenants.Experience(ctx, tenantID)
	if err != nil {
		return err
	}
	return s.d.Verification.Verify(ctx, s.d.Store, tenantID, email, string(usage), code, ip, exp.VerificationCodePolicy)
}

// compose builds the message of a send: the caller's payload with the
// locale and, withCode, the code's lifetime and the code, rendered under the tenant's
// settings with the connector's own templates in the resolution chain. A
// real send and a test send both go through it.
func compose(ctx context.Context, templates emailtemplate.Store, exp tenant.Experience, req Request, withCode bool, code string, act *delivery.Active) (delivery.Outgoing, error) {
	// The payload gains the code: work on a copy, never the caller's map.
	payload := maps.Clone(req.Payload)
	if payload == nil {
		payload = map[string]any{}
	}
	if withCode {
		withExpiry(payload, exp)
		payload["code"] = code
	}
	rr := renderRequest(exp, req.Tenant, req.Usage, req.Locale, payload, act.Templates)
	rr.Preferred = req.Preferred
	rr.Notice = req.Notice
	rendered, err := emailtemplate.Render(ctx, templates, rr)
	if err != nil {
		return delivery.Outgoing{}, err
	}
	// Connectors that render on the provider's side see the same values.
	if _, ok := payload["locale"]; !ok {
		payload["locale"] = rendered.Locale
	}
	if _, ok := payload["uiLocales"]; !ok {
		payload["uiLocales"] = rendered.UILocales
	}
	return delivery.Outgoing{Tenant: req.Tenant, To: req.Email.String(), Usage: req.Usage, Locale: rendered.Language,
		Content: delivery.Content{From: rendered.From, ReplyTo: rendered.ReplyTo, Subject: rendered.Subject,
			HTML: rendered.HTML, Text: rendered.Text, Payload: payload, IP: req.IP},
		Connector: act}, nil
}

// withExpiry adds expiresInMinutes, which the built-in templates show.
func withExpiry(payload map[string]any, e tenant.Experience) map[string]any {
	payload["expiresInMinutes"] = int(e.VerificationCodePolicy.TTL() / time.Minute)
	return payload
}

// renderRequest is the template request for a message under the tenant's
// settings: their fallback language and branding.
func renderRequest(e tenant.Experience, tenantID string, usage connector.UsageType, locale string, payload map[string]any, connTemplates []connector.Template) emailtemplate.Request {
	return emailtemplate.Request{Tenant: tenantID, Usage: usage, Locale: locale, FallbackLanguage: e.LanguageInfo.FallbackLanguage,
		Payload: payload, Branding: e.EmailBranding, ConnectorTemplates: connTemplates}
}
