package sendcode

import (
	"context"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/emailtemplate"
)

// PreviewRequest is a message to render without sending it.
type PreviewRequest struct {
	// Tenant is the tenant whose settings and templates apply.
	Tenant string
	// Usage is the usage type.
	Usage connector.UsageType
	// Language is the language tag wanted; may be empty.
	Language string
	// Payload overrides the usage type's sample values.
	Payload map[string]any
	// Details, when set, is the template to render (a saved or unsaved
	// one) instead of what the resolution chain picks.
	Details *emailtemplate.Details
}

// Preview renders a message as a send of the usage type would, with sample
// values for what the payload does not give. With Details it renders that
// template (validated first), under the tenant's branding.
func (s *Service) Preview(ctx context.Context, req PreviewRequest) (emailtemplate.Rendered, error) {
	exp, err := s.d.Tenants.Experience(ctx, req.Tenant)
	if err != nil {
		return emailtemplate.Rendered{}, err
	}
	payload := emailtemplate.SamplePayload(req.Usage)
	if req.Language != "" {
		payload["locale"], payload["uiLocales"] = req.Language, req.Language
	}
	for k, v := range req.Payload {
		payload[k] = v
	}
	withExpiry(payload, exp)
	if req.Details != nil {
		if err := emailtemplate.ValidateDetails(req.Usage, *req.Details); err != nil {
			return emailtemplate.Rendered{}, err
		}
		out := emailtemplate.RenderDetails(*req.Details, req.Usage, payload, exp.EmailBranding)
		out.Source, out.Language = "given", req.Language
		return out, nil
	}
	var connTemplates []connector.Template
	if act, err := s.d.Connectors.Active(ctx, req.Tenant); err == nil {
		connTemplates = act.Templates
		act.Release()
	}
	return emailtemplate.Render(ctx, templateStore{q: s.d.Store.Reader}, renderRequest(exp, req.Tenant, req.Usage, req.Language, payload, connTemplates))
}
