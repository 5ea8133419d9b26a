package api

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"net/http"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/store"
)

type sendCodeBody struct {
	Email string `json:"email"`
}

type verifyCodeBody struct {
	Email            string `json:"email"`
	VerificationCode string `json:"verificationCode"`
}

// templateStore adapts store queries to the template package's lookup.
type templateStore struct{ q store.Reader }

// templateStore looks templates up through the read handle.
func (s *Server) templateStore() emailtemplate.Store { return templateStore{q: s.Store.Reader} }

func (t templateStore) FindTemplate(ctx context.Context, tenant, lang string, usage connector.UsageType) (emailtemplate.Details, bool, error) {
	row, err := t.q.TemplateFind(ctx, tenant, lang, string(usage))
	if errors.Is(err, store.ErrNotFound) {
		return emailtemplate.Details{}, false, nil
	}
	if err != nil {
		return emailtemplate.Details{}, false, err
	}
	var d emailtemplate.Details
	if err := json.Unmarshal([]byte(row.Details), &d); err != nil {
		return emailtemplate.Details{}, false, err
	}
	return d, true, nil
}

// FindTemplates fetches every candidate of a resolution in one query.
func (t templateStore) FindTemplates(ctx context.Context, tenant string, langs []string, usages []connector.UsageType) (map[emailtemplate.Key]emailtemplate.Details, error) {
	types := make([]string, len(usages))
	for i, u := range usages {
		types[i] = string(u)
	}
	rows, err := t.q.TemplateFindAny(ctx, tenant, langs, types)
	if err != nil {
		return nil, err
	}
	out := make(map[emailtemplate.Key]emailtemplate.Details, len(rows))
	for _, row := range rows {
		var d emailtemplate.Details
		if err := json.Unmarshal([]byte(row.Details), &d); err != nil {
			return nil, err
		}
		out[emailtemplate.Key{Language: row.LanguageTag, Usage: connector.UsageType(row.TemplateType)}] = d
	}
	return out, nil
}

// withExpiry adds expiresInMinutes, which the built-in templates show.
func withExpiry(payload map[string]any, e Experience) map[string]any {
	payload["expiresInMinutes"] = int(e.VerificationCodePolicy.TTL() / time.Minute)
	return payload
}

// clientIP is the caller's address (no proxy headers are trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// CodeRequest is one code to send.
type CodeRequest struct {
	Tenant  string
	Email   string
	Usage   connector.UsageType
	Locale  string
	Payload map[string]any
	IP      string
}

// SendCode issues a code, renders its message and enqueues it in one
// transaction, then makes the first delivery attempt. A permanent failure
// is returned; a temporary one is left to the queue.
func (s *Server) SendCode(ctx context.Context, req CodeRequest) error {
	act, templatesVersion, err := s.Connectors.ActiveVersioned(ctx, req.Tenant)
	if err != nil {
		return err
	}
	defer act.Release()
	exp, err := s.experience(ctx, req.Tenant)
	if err != nil {
		return err
	}
	// The payload gains the code: work on a copy, never the caller's map.
	req.Payload = maps.Clone(req.Payload)
	if req.Payload == nil {
		req.Payload = map[string]any{}
	}
	var pending delivery.Pending
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		issued, err := s.Verification.Issue(ctx, tx, req.Tenant, req.Email, string(req.Usage), exp.VerificationCodePolicy)
		if err != nil {
			return err
		}
		payload := withExpiry(req.Payload, exp)
		payload["code"] = issued.Code
		// Templates are read through the transaction (when the cache is not
		// at the version read with the connector): on PostgreSQL a read
		// through the pool while every connection holds a send transaction
		// would wait forever.
		templates, err := s.templates.store(ctx, tx.Reader, req.Tenant, templatesVersion)
		if err != nil {
			return err
		}
		rendered, err := emailtemplate.Render(ctx, templates, exp.renderRequest(req.Tenant, req.Usage, req.Locale, payload, act.Templates))
		if err != nil {
			return err
		}
		pending, err = s.Delivery.Enqueue(ctx, tx, delivery.Outgoing{Tenant: req.Tenant, To: req.Email, Usage: req.Usage,
			Locale: rendered.Language, ExpiresAt: issued.ExpiresAt, Content: delivery.Content{From: rendered.From,
				ReplyTo: rendered.ReplyTo, Subject: rendered.Subject, HTML: rendered.HTML, Text: rendered.Text,
				Payload: payload, IP: req.IP}, Connector: act})
		return err
	})
	if err != nil {
		return err
	}
	return s.Delivery.Deliver(ctx, pending)
}

func (s *Server) sendCode(w http.ResponseWriter, r *http.Request) error {
	var body sendCodeBody
	if err := decode(r, &body); err != nil {
		return err
	}
	email, err := checkEmail("email", body.Email)
	if err != nil {
		return err
	}
	if err := s.SendCode(r.Context(), CodeRequest{Tenant: DefaultTenant, Email: email, Usage: connector.UsageGeneric, IP: clientIP(r)}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) verifyCode(w http.ResponseWriter, r *http.Request) error {
	var body verifyCodeBody
	if err := decode(r, &body); err != nil {
		return err
	}
	email, err := checkEmail("email", body.Email)
	if err != nil {
		return err
	}
	if body.VerificationCode == "" {
		return invalidInput("verificationCode", "is required (the code from the email)")
	}
	if len(body.VerificationCode) > 32 {
		return invalidInput("verificationCode", "is over 32 characters; send the code from the email")
	}
	exp, err := s.experience(r.Context(), DefaultTenant)
	if err != nil {
		return err
	}
	err = s.Verification.Verify(r.Context(), s.Store, DefaultTenant, email, string(connector.UsageGeneric), body.VerificationCode, exp.VerificationCodePolicy)
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
