package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/web"
)

// brandingData is what the branding page shows: the emails' branding and
// a sign-in email rendered with it.
type brandingData struct {
	Branding emailtemplate.Branding
	Preview  previewView
}

// brandingFields maps the branding's fields to the page's inputs.
var brandingFields = map[string]string{"emailBranding.senderName": "brand-sender", "emailBranding.companyInformation": "brand-company",
	"emailBranding.logoUrl": "brand-logo", "emailBranding.primaryColor": "brand-color"}

func brandingPolicy(b emailtemplate.Branding) web.Policy {
	p := mailPolicy()
	p.ImageOrigins = web.Origins(b.LogoURL)
	return p
}

// brandingPage shows the emails' branding (sender name, company
// information, logo, colour) and the built-in sign-in email with it.
func (s *Server) brandingPage(p *page) error {
	exp, err := s.Tenants.Experience(p.r.Context(), p.tenant)
	if err != nil {
		return err
	}
	d := brandingData{Branding: exp.EmailBranding}
	if d.Preview, err = s.brandingPreview(p); err != nil {
		return err
	}
	v := p.view("branding")
	v.Data, v.policy = d, brandingPolicy(exp.EmailBranding)
	p.render(http.StatusOK, "branding", v)
	return nil
}

// brandingPreview is the sign-in email as the resolution chain picks it,
// in the page's language.
func (s *Server) brandingPreview(p *page) (previewView, error) {
	d, err := s.starterDetails(p, connector.UsageSignIn, p.cat.Lang)
	if err != nil {
		return previewView{}, err
	}
	return s.preview(p, connector.UsageSignIn, p.cat.Lang, d)
}

// saveBranding changes the emails' branding (the sign-in experience's
// emailBranding, through its checks); an empty field goes back to the
// default.
func (s *Server) saveBranding(p *page) error {
	f := p.r.PostForm
	b := emailtemplate.Branding{SenderName: strings.TrimSpace(f.Get("senderName")), CompanyInformation: strings.TrimSpace(f.Get("companyInformation")),
		LogoURL: strings.TrimSpace(f.Get("logoUrl")), PrimaryColor: strings.TrimSpace(f.Get("primaryColor"))}
	patch := map[string]any{}
	for k, val := range map[string]string{"senderName": b.SenderName, "companyInformation": b.CompanyInformation, "logoUrl": b.LogoURL, "primaryColor": b.PrimaryColor} {
		if val == "" {
			patch[k] = nil
		} else {
			patch[k] = val
		}
	}
	raw, err := json.Marshal(map[string]any{"emailBranding": patch})
	if err != nil {
		return err
	}
	_, err = s.Tenants.PatchExperience(p.r.Context(), p.tenant, raw)
	var fe *tenant.FieldError
	if errors.As(err, &fe) {
		id := brandingFields[fe.Field]
		if id == "" {
			id = "brand-sender"
		}
		v := p.view("branding")
		v.Fields, v.Focus, v.Error = map[string]string{id: fe.Reason}, id, p.cat.text(msg("branding.fix"))
		v.Data, v.policy = brandingData{Branding: b}, brandingPolicy(emailtemplate.Branding{})
		p.render(http.StatusBadRequest, "branding", v)
		return nil
	}
	if err != nil {
		return err
	}
	return p.redirect(Prefix + "/branding?notice=branding_saved")
}
