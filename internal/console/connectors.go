package console

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/connconfig"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
	"github.com/authmail/authmail/internal/web"
)

// factoryCard is a connector kind as the catalog shows it.
type factoryCard struct {
	ID, Name, Description string
	// Logo is the logo's URL: a data: URL of the embedded SVG, or the
	// factory's https URL.
	Logo template.URL
	// Current says the tenant's email connector is of this kind.
	Current bool
}

func card(f connector.Factory) factoryCard {
	c := factoryCard{ID: f.ID, Name: f.Name, Description: f.Description}
	switch {
	case strings.HasPrefix(f.Logo, "https://"):
		c.Logo = template.URL(f.Logo)
	case strings.Contains(f.Logo, "<svg"):
		c.Logo = template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(f.Logo)))
	}
	return c
}

// logoPolicy is what the catalog's logos need of the page's policy.
func logoPolicy() web.Policy {
	p := web.Policy{DataImages: true}
	for _, f := range connector.Factories() {
		if strings.HasPrefix(f.Logo, "https://") {
			p.ImageOrigins = append(p.ImageOrigins, web.Origins(f.Logo)...)
		}
	}
	return p
}

// catalogGroup is one group of the catalog.
type catalogGroup struct {
	Title, Description string
	Items              []factoryCard
}

// groupTitles are the catalog's groups, in order, as the product authmail
// follows groups them: what works with no account, email providers'
// APIs, protocols that reach a server of your choosing.
var groupTitles = []struct {
	group       string
	title, desc msg
}{
	{connector.GroupBuiltIn, msg("catalog.builtin"), msg("catalog.builtin_desc")},
	{connector.GroupProvider, msg("catalog.provider"), msg("catalog.provider_desc")},
	{connector.GroupCustom, msg("catalog.custom"), msg("catalog.custom_desc")},
}

// catalog groups the registered factories; a factory with a group the
// console does not know is listed with the providers.
func (p *page) catalog(current string) []catalogGroup {
	byGroup := map[string][]factoryCard{}
	for _, f := range connector.Factories() {
		g := f.CatalogGroup()
		if !slices.ContainsFunc(groupTitles, func(t struct {
			group       string
			title, desc msg
		}) bool {
			return t.group == g
		}) {
			g = connector.GroupProvider
		}
		c := card(f)
		c.Current = f.ID == current
		byGroup[g] = append(byGroup[g], c)
	}
	var out []catalogGroup
	for _, t := range groupTitles {
		items := byGroup[t.group]
		if len(items) == 0 {
			continue
		}
		slices.SortFunc(items, func(a, b factoryCard) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
		out = append(out, catalogGroup{Title: p.cat.text(t.title), Description: p.cat.text(t.desc), Items: items})
	}
	return out
}

// installedView is the tenant's email connector as the console shows it.
type installedView struct {
	ID      string
	Factory factoryCard
	// DevInbox says mail is kept in the database, not sent.
	DevInbox  bool
	UpdatedAt time.Time
	Health    healthView
}

// healthView is a connector's recent delivery health.
type healthView struct {
	// State is "unused" (no attempt yet), "healthy" (no failure since the
	// last success) or "failing".
	State                        string
	LastSuccessAt, LastFailureAt time.Time
	LastError                    string
	ConsecutiveFailures          int
}

func installed(c connconfig.Installed) *installedView {
	h := healthView{LastSuccessAt: c.Health.LastSuccessAt, LastFailureAt: c.Health.LastFailureAt,
		LastError: c.Health.LastError, ConsecutiveFailures: c.Health.ConsecutiveFailures}
	switch {
	case h.ConsecutiveFailures > 0:
		h.State = "failing"
	case h.LastSuccessAt.IsZero():
		h.State = "unused"
	default:
		h.State = "healthy"
	}
	return &installedView{ID: c.ID, Factory: card(c.Factory), DevInbox: c.Factory.ID == devInboxID, UpdatedAt: c.UpdatedAt, Health: h}
}

// current is the tenant's email connector, or nil when there is none.
func (s *Server) current(p *page) (*connconfig.Installed, error) {
	list, err := s.Configs.List(p.r.Context(), p.tenant)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// connectorsData is what the connectors page shows.
type connectorsData struct {
	Current *installedView
	Groups  []catalogGroup
}

// connectorsPage shows the tenant's email connector with its health and
// the catalog to set one up or change it.
func (s *Server) connectorsPage(p *page) error {
	cur, err := s.current(p)
	if err != nil {
		return err
	}
	d := connectorsData{}
	id := ""
	if cur != nil {
		d.Current, id = installed(*cur), cur.Factory.ID
	}
	d.Groups = p.catalog(id)
	v := p.view("connectors")
	v.Data, v.policy = d, logoPolicy()
	p.render(http.StatusOK, "connectors", v)
	return nil
}

// setupData is what the guide shows: the README beside the form.
type setupData struct {
	Factory factoryCard
	README  template.HTML
	Form    *configForm
	// Editing says the tenant's connector is of this kind: saving changes
	// its config.
	Editing bool
	// Replacing names the connector saving replaces ("" when none).
	Replacing string
	// TestEmail is where "Send test email" sends.
	TestEmail string
	// Result is what a check or a test found.
	Result *resultView
}

// resultView is what a check or a test send found.
type resultView struct {
	// OK says it passed.
	OK bool
	// Title says what happened; Answer is the provider's (masked) answer.
	Title, Answer string
}

// setupBase is the config the guide starts from: the tenant's connector's
// (redacted) when it is of this kind, else the factory's default config.
func (s *Server) setupBase(p *page, f connector.Factory) (*connconfig.Installed, map[string]any, error) {
	cur, err := s.current(p)
	if err != nil {
		return nil, nil, err
	}
	if cur != nil && cur.Factory.ID == f.ID {
		return cur, decodeObject(cur.Config), nil
	}
	return cur, decodeObject(f.DefaultConfig), nil
}

// factoryOf is the factory the path names (404 when none).
func (p *page) factoryOf() (connector.Factory, error) {
	f, ok := connector.Lookup(p.r.PathValue("factoryId"))
	if !ok {
		return f, store.ErrNotFound
	}
	return f, nil
}

func (s *Server) setupData(p *page, f connector.Factory, cur *connconfig.Installed, cf *configForm) setupData {
	d := setupData{Factory: card(f), README: s.readme.of(f.ID), Form: cf}
	if cur != nil {
		d.Editing = cur.Factory.ID == f.ID
		if !d.Editing {
			d.Replacing = cur.Factory.Name
		}
	}
	return d
}

// setupPage is the guide: the connector's README beside its form, with
// "Check connection", "Send test email" and "Save and done".
func (s *Server) setupPage(p *page) error {
	f, err := p.factoryOf()
	if err != nil {
		return err
	}
	cur, base, err := s.setupBase(p, f)
	if err != nil {
		return err
	}
	cf, err := newConfigForm(f, base)
	if err != nil {
		return err
	}
	v := p.view("connectors")
	v.Data, v.policy = s.setupData(p, f, cur, cf), logoPolicy()
	p.render(http.StatusOK, "setup", v)
	return nil
}

// setup answers the guide's form: check the connection, send a test email
// (both with the unsaved config) or save it, which makes it the tenant's
// email connector at once (replacing another kind).
func (s *Server) setup(p *page) error {
	f, err := p.factoryOf()
	if err != nil {
		return err
	}
	cur, base, err := s.setupBase(p, f)
	if err != nil {
		return err
	}
	cf, err := newConfigForm(f, base)
	if err != nil {
		return err
	}
	d := s.setupData(p, f, cur, cf)
	d.TestEmail = strings.TrimSpace(p.r.PostForm.Get("testEmail"))
	v := p.view("connectors")
	v.policy = logoPolicy()
	raw, errs := cf.configFromForm(base, p.r.PostForm)
	if errs != nil {
		for k, reason := range errs {
			errs[k] = p.cat.Text(reason)
		}
		cf.setErrors(errs)
		v.Error, v.Focus, v.Data = p.cat.text(msg("setup.fix_fields")), cf.firstError(), d
		v.Fields = errs
		p.render(http.StatusBadRequest, "setup", v)
		return nil
	}
	ctx := p.r.Context()
	switch p.r.PostForm.Get("action") {
	case "check":
		err = s.Codes.Check(ctx, sendcode.CheckRequest{Tenant: p.tenant, FactoryID: f.ID, Config: raw})
		if err == nil {
			d.Result = &resultView{OK: true, Title: p.cat.text(msg("setup.check_passed"))}
		}
	case "test":
		to, perr := address.Parse(d.TestEmail)
		if perr != nil {
			v.Fields, v.Focus = map[string]string{"testEmail": p.cat.text(msg("setup.test_email_invalid"))}, "test-email"
			v.Data = d
			p.render(http.StatusBadRequest, "setup", v)
			return nil
		}
		err = s.Codes.TestSend(ctx, sendcode.TestRequest{Tenant: p.tenant, Email: to, FactoryID: f.ID, Config: raw,
			Preferred: nil, Locale: p.cat.Lang, FromAdmin: true})
		if err == nil {
			d.Result = &resultView{OK: true, Title: p.cat.text(msg("setup.test_sent"), "email", to.String())}
		}
	case "save":
		save := connconfig.Save{Tenant: p.tenant, FactoryID: f.ID, Config: raw}
		if d.Editing {
			save.ID = cur.ID
			_, err = s.Configs.Update(ctx, save)
		} else {
			_, err = s.Configs.Create(ctx, save)
		}
		if err == nil {
			return p.redirect(Prefix + "/connectors?notice=connector_saved")
		}
	default:
		p.errorPage(http.StatusBadRequest, msg("error.bad_form"))
		return nil
	}
	status := http.StatusOK
	if err != nil {
		status = http.StatusBadRequest
		if !s.explainConnectorError(p, &v, &d, cf, err) {
			return err
		}
	}
	v.Data = d
	p.render(status, "setup", v)
	return nil
}

// explainConnectorError shows err on the guide: a config error next to
// its field, secrets to type again next to theirs, the provider's answer
// in the result box. It returns false for an error the page cannot
// explain (a fault of the server).
func (s *Server) explainConnectorError(p *page, v *view, d *setupData, cf *configForm, err error) bool {
	var reuse *connector.SecretReuseError
	var ce *connector.ConfigError
	var se *delivery.SendError
	var ve *verification.Error
	errs := map[string]string{}
	switch {
	case errors.As(err, &reuse):
		for _, f := range reuse.Secrets {
			if ff := cf.fieldFor(f); ff != "" {
				errs[ff] = p.cat.text(msg("setup.secret_again"), "fields", strings.Join(reuse.Changed, ", "))
			}
		}
		v.Error = p.cat.text(msg("setup.secret_again"), "fields", strings.Join(reuse.Changed, ", "))
	case errors.As(err, &ce):
		if ff := cf.fieldFor(ce.Field); ff != "" {
			errs[ff] = ce.Reason
			v.Error = p.cat.text(msg("setup.fix_fields"))
		} else {
			v.Error = ce.Error()
		}
	case errors.As(err, &se):
		d.Result = &resultView{Title: p.cat.text(msg("setup.provider_refused")), Answer: se.Err.Error()}
	case errors.Is(err, delivery.ErrNoCheck):
		d.Result = &resultView{Title: p.cat.text(msg("setup.no_check"))}
	case errors.As(err, &ve):
		d.Result = &resultView{Title: ve.Message}
	case errors.Is(err, connector.ErrInvalidConfig):
		v.Error = err.Error()
	case errors.Is(err, store.ErrConflict):
		v.Error = p.cat.text(msg("setup.conflict"))
	default:
		return false
	}
	if len(errs) > 0 {
		cf.setErrors(errs)
		v.Fields, v.Focus = errs, cf.firstError()
	}
	return true
}

// useTexts are the sentences for what relies on the email connector
// (tenant.Experience.EmailConnectorUses).
var useTexts = map[string]msg{
	"signUp.identifiers":          msg("use.sign_up"),
	"signUp.secondaryIdentifiers": msg("use.secondary_email"),
	"signIn.methods":              msg("use.sign_in"),
	"forgotPasswordMethods":       msg("use.forgot_password"),
	"mfa.factors":                 msg("use.mfa"),
}

// deleteData is what the delete confirmation shows.
type deleteData struct {
	Connector *installedView
	// Uses are what relies on the connector, as sentences.
	Uses []string
}

func (p *page) uses(list []string) []string {
	var out []string
	for _, u := range list {
		if k, ok := useTexts[u]; ok {
			out = append(out, p.cat.text(k))
		} else {
			out = append(out, u)
		}
	}
	return out
}

// installedByID is the tenant's connector the path names.
func (s *Server) installedByID(p *page) (connconfig.Installed, error) {
	return s.Configs.Get(p.r.Context(), p.tenant, p.r.PathValue("id"))
}

// deletePage asks again before deleting, saying what relies on the
// connector.
func (s *Server) deletePage(p *page) error {
	c, err := s.installedByID(p)
	if err != nil {
		return err
	}
	exp, err := s.Tenants.Experience(p.r.Context(), p.tenant)
	if err != nil {
		return err
	}
	v := p.view("connectors")
	v.Data, v.policy = deleteData{Connector: installed(c), Uses: p.uses(exp.EmailConnectorUses())}, logoPolicy()
	p.render(http.StatusOK, "delete", v)
	return nil
}

// deleteConnector deletes the connector. Without force it is refused
// while the sign-in experience relies on it (something changed since the
// page asked): the page asks again, listing what does.
func (s *Server) deleteConnector(p *page) error {
	c, err := s.installedByID(p)
	if err != nil {
		return err
	}
	force, _ := strconv.ParseBool(p.r.PostForm.Get("force"))
	err = s.Tenants.DeleteConnector(p.r.Context(), p.tenant, c.ID, force)
	var inUse *tenant.ConnectorInUseError
	if errors.As(err, &inUse) {
		v := p.view("connectors")
		v.Error = p.cat.text(msg("delete.now_in_use"))
		v.Data, v.policy = deleteData{Connector: installed(c), Uses: p.uses(inUse.Uses)}, logoPolicy()
		p.render(http.StatusConflict, "delete", v)
		return nil
	}
	if err != nil {
		return err
	}
	s.logger.InfoContext(p.r.Context(), "email connector deleted from the console", "connector", c.Factory.ID, "id", c.ID, "forced", force)
	return p.redirect(Prefix + "/connectors?notice=connector_deleted")
}
