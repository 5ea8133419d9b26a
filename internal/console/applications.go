package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/authmail/authmail/internal/apps"
)

// applicationsData is what the applications page shows.
type applicationsData struct {
	Applications []apps.Application
	Types        []string
	// New holds what the create form was given, after a refusal.
	New newAppForm
}

// newAppForm is the create form's values.
type newAppForm struct {
	Name, Type, RedirectURIs string
}

// lines splits a text area into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func appTypes() []string {
	var out []string
	for _, t := range apps.Types() {
		out = append(out, string(t))
	}
	return out
}

// applicationsPage lists the tenant's applications, newest first, with
// the form to create one.
func (s *Server) applicationsPage(p *page) error {
	return s.renderApplications(p, p.view("applications"), http.StatusOK, newAppForm{Type: string(apps.TypeTraditional)})
}

func (s *Server) renderApplications(p *page, v view, status int, form newAppForm) error {
	list, _, err := s.Apps.List(p.r.Context(), p.tenant, apps.ListQuery{})
	if err != nil {
		return err
	}
	v.Data = applicationsData{Applications: list, Types: appTypes(), New: form}
	p.render(status, "applications", v)
	return nil
}

// appError is the input an application error is about and its sentence.
func appError(err error, ids map[string]string) (id, sentence string, ok bool) {
	var fe *apps.FieldError
	if !errors.As(err, &fe) {
		return "", "", false
	}
	for field, id := range ids {
		if field != "" && (fe.Field == field || strings.HasPrefix(fe.Field, field+"[") || strings.HasPrefix(fe.Field, field+".")) {
			return id, fe.Field + " " + fe.Reason, true
		}
	}
	return ids[""], fe.Field + " " + fe.Reason, true
}

// createdData is what the page after a creation shows: the application
// and its secret, this once.
type createdData struct {
	Application apps.Application
	Secret      string
}

// createApplication creates an application and shows its client secret,
// the only time it is shown (authmail keeps only a keyed hash).
func (s *Server) createApplication(p *page) error {
	f := p.r.PostForm
	form := newAppForm{Name: strings.TrimSpace(f.Get("name")), Type: f.Get("type"), RedirectURIs: f.Get("redirectUris")}
	res, err := s.Apps.Create(p.r.Context(), p.tenant, apps.NewApplication{Name: form.Name, Type: apps.Type(form.Type),
		RedirectURIs: lines(form.RedirectURIs)})
	if err != nil {
		id, sentence, ok := appError(err, map[string]string{"name": "app-name", "type": "app-type", "oidcClientMetadata.redirectUris": "app-redirects",
			"redirectUris": "app-redirects", "": "app-name"})
		if !ok {
			return err
		}
		v := p.view("applications")
		v.Fields, v.Focus, v.Error = map[string]string{id: sentence}, id, p.cat.text(msg("applications.fix"))
		return s.renderApplications(p, v, http.StatusBadRequest, form)
	}
	s.logger.InfoContext(p.r.Context(), "application created in the console", "application", res)
	v := p.view("applications")
	v.Data = createdData{Application: res.Application, Secret: res.Secret}
	p.render(http.StatusOK, "application-created", v)
	return nil
}

// applicationData is what one application's page shows.
type applicationData struct {
	Application apps.Application
	IsAdmin     bool
	// M2M says the application is machine-to-machine, so it may hold the
	// management API role.
	M2M bool
	// RedirectURIs and PostLogoutRedirectURIs are the text areas' values.
	RedirectURIs, PostLogoutRedirectURIs string
}

func (s *Server) applicationData(d apps.Detail) applicationData {
	return applicationData{Application: d.Application, IsAdmin: d.IsAdmin, M2M: d.Application.Type == apps.TypeMachineToMachine,
		RedirectURIs: strings.Join(d.Application.RedirectURIs, "\n"), PostLogoutRedirectURIs: strings.Join(d.Application.PostLogoutRedirectURIs, "\n")}
}

// applicationPage shows one application: its redirect URIs and, for a
// machine-to-machine one, whether it holds the management API role.
func (s *Server) applicationPage(p *page) error {
	d, err := s.Apps.GetDetail(p.r.Context(), p.tenant, p.r.PathValue("id"))
	if errors.Is(err, apps.ErrNotFound) {
		p.errorPage(http.StatusNotFound, msg("error.not_found"))
		return nil
	}
	if err != nil {
		return err
	}
	v := p.view("applications")
	v.Data = s.applicationData(d)
	p.render(http.StatusOK, "application", v)
	return nil
}

// saveApplication changes an application's name, redirect URIs and, for
// a machine-to-machine one, the management API role, all checked before
// anything is written.
func (s *Server) saveApplication(p *page) error {
	id := p.r.PathValue("id")
	cur, err := s.Apps.GetDetail(p.r.Context(), p.tenant, id)
	if errors.Is(err, apps.ErrNotFound) {
		p.errorPage(http.StatusNotFound, msg("error.not_found"))
		return nil
	}
	if err != nil {
		return err
	}
	f := p.r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	redirects, logouts := lines(f.Get("redirectUris")), lines(f.Get("postLogoutRedirectUris"))
	patch := apps.Patch{Name: &name, RedirectURIs: &redirects, PostLogoutRedirectURIs: &logouts}
	if cur.Application.Type == apps.TypeMachineToMachine {
		admin := f.Get("isAdmin") != ""
		patch.IsAdmin = &admin
	}
	if _, err := s.Apps.Update(p.r.Context(), p.tenant, id, patch); err != nil {
		field, sentence, ok := appError(err, map[string]string{"name": "app-name", "oidcClientMetadata.redirectUris": "app-redirects",
			"redirectUris": "app-redirects", "oidcClientMetadata.postLogoutRedirectUris": "app-logouts", "postLogoutRedirectUris": "app-logouts", "": "app-name"})
		if !ok {
			return err
		}
		d := s.applicationData(cur)
		d.Application.Name, d.RedirectURIs, d.PostLogoutRedirectURIs = name, f.Get("redirectUris"), f.Get("postLogoutRedirectUris")
		v := p.view("applications")
		v.Fields, v.Focus, v.Error, v.Data = map[string]string{field: sentence}, field, p.cat.text(msg("applications.fix")), d
		p.render(http.StatusBadRequest, "application", v)
		return nil
	}
	return p.redirect(Prefix + "/applications/" + url.PathEscape(id) + "?notice=application_saved")
}
