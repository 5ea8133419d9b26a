package console

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
	"github.com/authmail/authmail/internal/web"
)

// methodRow is one sign-in method of the form.
type methodRow struct {
	// Index names the row's inputs (method.N.*).
	Index                                         int
	Identifier                                    string
	Password, VerificationCode, IsPasswordPrimary bool
}

// policyInput is one number of the code or sentinel policy.
type policyInput struct {
	// Group is "verificationCodePolicy" or "sentinelPolicy"; Name the
	// field's JSON name.
	Group, Name, ID string
	Value           string
	Default         int
	Min, Max        int
	Error           string
}

// signInExpData is what the sign-in experience page shows.
type signInExpData struct {
	Modes                        []previewChoice
	Mode                         string
	SignUpIdentifier             string
	SignUpPassword, SignUpVerify bool
	Methods                      []methodRow
	ForgotPassword, MfaEmail     bool
	MfaPolicy                    string
	MfaPolicies                  []previewChoice
	CodePolicy, Sentinel         []policyInput
	Lockouts                     []verification.Lockout
	// Preview is the preview pane.
	Preview previewPane
}

// maxMethods bounds the sign-in methods the form takes (one per
// identifier there is, plus room to add one).
const maxMethods = 4

// policyInputs lays out a policy's numbers from its fields' tags, with
// the values in force.
func policyInputs(group string, fields []verification.PolicyField, values any) []policyInput {
	raw, _ := json.Marshal(values)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	out := make([]policyInput, 0, len(fields))
	for _, f := range fields {
		in := policyInput{Group: group, Name: f.Name, ID: "policy-" + group + "-" + f.Name, Default: f.Default, Min: f.Min, Max: f.Max}
		if v, ok := m[f.Name].(float64); ok {
			in.Value = strconv.Itoa(int(v))
		}
		out = append(out, in)
	}
	return out
}

// modeLabels and mfaPolicyLabels name the choices of the sign-in mode
// and the MFA policy; a value without one shows as it is.
var (
	modeLabels = map[tenant.SignInMode]msg{
		tenant.ModeSignIn:            msg("sign_in_exp.mode_sign_in"),
		tenant.ModeRegister:          msg("sign_in_exp.mode_register"),
		tenant.ModeSignInAndRegister: msg("sign_in_exp.mode_both"),
	}
	mfaPolicyLabels = map[tenant.MfaPolicy]msg{
		tenant.MfaUserControlled:                   msg("sign_in_exp.mfa_user_controlled"),
		tenant.MfaMandatory:                        msg("sign_in_exp.mfa_mandatory"),
		tenant.MfaPromptOnlyAtSignIn:               msg("sign_in_exp.mfa_prompt_sign_in"),
		tenant.MfaPromptAtSignInAndSignUp:          msg("sign_in_exp.mfa_prompt_both"),
		tenant.MfaNoPrompt:                         msg("sign_in_exp.mfa_no_prompt"),
		tenant.MfaPromptAtSignInAndSignUpMandatory: msg("sign_in_exp.mfa_required_both"),
		tenant.MfaPromptOnlyAtSignInMandatory:      msg("sign_in_exp.mfa_required_sign_in"),
	}
)

// choices are values with their labels in the page's language.
func choices[T ~string](p *page, values []T, labels map[T]msg, current string) []previewChoice {
	var out []previewChoice
	for _, v := range values {
		label := string(v)
		if key, ok := labels[v]; ok {
			label = p.cat.text(key)
		}
		out = append(out, previewChoice{Value: string(v), Label: label, Current: string(v) == current})
	}
	return out
}

// signInExpView lays out the experience e.
func signInExpView(p *page, e tenant.Experience) signInExpData {
	d := signInExpData{Modes: choices(p, tenant.SignInModes(), modeLabels, string(e.SignInMode)), Mode: string(e.SignInMode), SignUpPassword: e.SignUp.Password, SignUpVerify: e.SignUp.Verify,
		ForgotPassword: e.ForgotPasswordByEmail(), MfaEmail: e.MfaByEmail(), MfaPolicy: string(e.Mfa.Policy), MfaPolicies: choices(p, tenant.MfaPolicies(), mfaPolicyLabels, string(e.Mfa.Policy)),
		CodePolicy: policyInputs("verificationCodePolicy", verification.PolicyFields(), e.VerificationCodePolicy),
		Sentinel:   policyInputs("sentinelPolicy", verification.SentinelPolicyFields(), e.SentinelPolicy)}
	if len(e.SignUp.Identifiers) > 0 {
		d.SignUpIdentifier = e.SignUp.Identifiers[0]
	}
	for i, m := range e.SignIn.Methods {
		d.Methods = append(d.Methods, methodRow{Index: i, Identifier: m.Identifier, Password: m.Password,
			VerificationCode: m.VerificationCode, IsPasswordPrimary: m.IsPasswordPrimary})
	}
	if len(d.Methods) < maxMethods {
		d.Methods = append(d.Methods, methodRow{Index: len(d.Methods)}) // "add another"
	}
	return d
}

// signInExpPage shows the sign-in experience: who may sign up and how,
// the sign-in methods, password reset, the email code as a second factor,
// the code policy and limits, and the lockouts in force.
func (s *Server) signInExpPage(p *page) error {
	exp, err := s.Tenants.Experience(p.r.Context(), p.tenant)
	if err != nil {
		return err
	}
	d := signInExpView(p, exp)
	if d.Lockouts, err = s.Verification.Lockouts(p.r.Context(), s.Store.Reader, p.tenant, nil, 100); err != nil {
		return err
	}
	d.Preview = s.previewPaneOf(p, "", "")
	v := p.view("sign-in-experience")
	v.Data, v.policy = d, web.Policy{Frames: true}
	p.render(http.StatusOK, "sign-in-experience", v)
	return nil
}

// signInExpPatch is the merge patch the form describes: the fields it
// shows, the others left as they are.
func signInExpPatch(p *page) (map[string]any, map[string]string) {
	f := p.r.PostForm
	errs := map[string]string{}
	on := func(name string) bool { return f.Get(name) != "" }
	patch := map[string]any{"signInMode": f.Get("signInMode")}
	var ids []string
	if id := f.Get("signUp.identifier"); id != "" {
		ids = []string{id}
	}
	verify := on("signUp.verify")
	if slices.Contains(ids, tenant.IdentifierEmail) {
		verify = true // locked on: Logto's rule
	}
	patch["signUp"] = map[string]any{"identifiers": nonNilStrings(ids), "password": on("signUp.password"), "verify": verify}
	methods := []map[string]any{}
	for i := range maxMethods {
		pre := "method." + strconv.Itoa(i) + "."
		id := f.Get(pre + "identifier")
		if id == "" || on(pre+"remove") {
			continue
		}
		methods = append(methods, map[string]any{"identifier": id, "password": on(pre + "password"),
			"verificationCode": on(pre + "verificationCode"), "isPasswordPrimary": on(pre + "isPasswordPrimary")})
	}
	patch["signIn"] = map[string]any{"methods": methods}
	patch["forgotPasswordMethods"] = []string{}
	if on("forgotPassword") {
		patch["forgotPasswordMethods"] = []string{tenant.ForgotPasswordByEmailCode}
	}
	factors := []string{}
	if on("mfa.email") {
		factors = []string{tenant.MfaEmailCode}
	}
	patch["mfa"] = map[string]any{"factors": factors, "policy": f.Get("mfa.policy")}
	for _, group := range []struct {
		name   string
		fields []verification.PolicyField
	}{{"verificationCodePolicy", verification.PolicyFields()}, {"sentinelPolicy", verification.SentinelPolicyFields()}} {
		g := map[string]any{}
		for _, fl := range group.fields {
			raw := strings.TrimSpace(f.Get(group.name + "." + fl.Name))
			if raw == "" {
				g[fl.Name] = nil // back to the default
				continue
			}
			n, err := strconv.Atoi(raw)
			if err != nil {
				errs["policy-"+group.name+"-"+fl.Name] = p.cat.text(msg("field.not_a_number"))
				continue
			}
			g[fl.Name] = n
		}
		patch[group.name] = g
	}
	return patch, errs
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// signInExpFieldIDs maps a setting's JSON path to the input it is about.
func signInExpFieldID(field string) string {
	for _, group := range []string{"verificationCodePolicy", "sentinelPolicy"} {
		if name, ok := strings.CutPrefix(field, group+"."); ok {
			return "policy-" + group + "-" + name
		}
	}
	switch {
	case strings.HasPrefix(field, "signUp"):
		return "signup-identifier"
	case strings.HasPrefix(field, "signIn"):
		return "method-0-identifier"
	case strings.HasPrefix(field, "mfa"):
		return "mfa-policy"
	case strings.HasPrefix(field, "forgotPassword"):
		return "forgot-password"
	}
	return "sign-in-mode"
}

// saveSignInExp saves the form through the sign-in experience's checks
// and Logto's rules; a refusal shows the form as it was sent, with the
// reason.
func (s *Server) saveSignInExp(p *page) error {
	patch, errs := signInExpPatch(p)
	exp, err := s.Tenants.Experience(p.r.Context(), p.tenant)
	if err != nil {
		return err
	}
	if len(errs) == 0 {
		raw, merr := json.Marshal(patch)
		if merr != nil {
			return merr
		}
		_, err = s.Tenants.PatchExperience(p.r.Context(), p.tenant, raw)
		if err == nil {
			return p.redirect(Prefix + "/sign-in-experience?notice=sign_in_exp_saved")
		}
	}
	v := p.view("sign-in-experience")
	if v.Error, _, err = p.signInExpRefusal(errs, err); err != nil {
		return err
	}
	d := submittedSignInExp(p, exp)
	for i := range d.CodePolicy {
		d.CodePolicy[i].Error = errs[d.CodePolicy[i].ID]
	}
	for i := range d.Sentinel {
		d.Sentinel[i].Error = errs[d.Sentinel[i].ID]
	}
	if d.Lockouts, err = s.Verification.Lockouts(p.r.Context(), s.Store.Reader, p.tenant, nil, 100); err != nil {
		return err
	}
	d.Preview = s.previewPaneOf(p, p.r.PostForm.Get("preview.screen"), p.r.PostForm.Get("preview.lang"))
	v.Fields, v.Data, v.policy = errs, d, web.Policy{Frames: true}
	for id := range errs {
		v.Focus = id
	}
	p.render(http.StatusBadRequest, "sign-in-experience", v)
	return nil
}

// submittedSignInExp is the form as it was sent, to show again.
func submittedSignInExp(p *page, cur tenant.Experience) signInExpData {
	f := p.r.PostForm
	on := func(name string) bool { return f.Get(name) != "" }
	d := signInExpView(p, cur)
	d.Mode, d.SignUpIdentifier, d.SignUpPassword, d.SignUpVerify = f.Get("signInMode"), f.Get("signUp.identifier"), on("signUp.password"), on("signUp.verify")
	d.ForgotPassword, d.MfaEmail, d.MfaPolicy = on("forgotPassword"), on("mfa.email"), f.Get("mfa.policy")
	d.Methods = nil
	for i := range maxMethods {
		pre := "method." + strconv.Itoa(i) + "."
		if _, sent := f[pre+"identifier"]; !sent {
			continue
		}
		d.Methods = append(d.Methods, methodRow{Index: i, Identifier: f.Get(pre + "identifier"), Password: on(pre + "password"),
			VerificationCode: on(pre + "verificationCode"), IsPasswordPrimary: on(pre + "isPasswordPrimary")})
	}
	for _, list := range [][]policyInput{d.CodePolicy, d.Sentinel} {
		for i := range list {
			list[i].Value = f.Get(list[i].Group + "." + list[i].Name)
		}
	}
	return d
}

// liftLockout ends a lockout and forgets the failures it counted.
func (s *Server) liftLockout(p *page) error {
	err := s.Verification.Lift(p.r.Context(), s.Store, p.tenant, p.r.PathValue("id"))
	if errors.Is(err, verification.ErrLockoutNotFound) {
		p.errorPage(http.StatusNotFound, msg("error.not_found"))
		return nil
	}
	if err != nil {
		return err
	}
	return p.redirect(Prefix + "/sign-in-experience?notice=lockout_lifted#lockouts-h")
}

// Previewer renders the hosted pages for the sign-in experience's preview
// pane (pages.Server): the screen a sign-in with the settings would show,
// in a language, inert and framed only by this origin.
type Previewer interface {
	// PreviewScreens lists the screens, the identifier page first.
	PreviewScreens() []string
	// Languages lists the pages' languages, the default first.
	Languages() []string
	// Preview writes screen as a sign-in with exp would show it, in lang.
	Preview(w http.ResponseWriter, r *http.Request, exp tenant.Experience, screen, lang string)
}

// screenLabels name the preview's screens (the pages' PreviewScreens; a
// test holds the two lists together).
var screenLabels = map[string]msg{
	"sign-in":           msg("preview.screen_sign_in"),
	"password":          msg("preview.screen_password"),
	"verification-code": msg("preview.screen_code"),
	"register":          msg("preview.screen_register"),
	"forgot-password":   msg("preview.screen_forgot"),
}

// previewChoice is one option of the preview's screen or language choice.
type previewChoice struct {
	Value, Label string
	Current      bool
}

// previewPane is what the preview pane shows: the choices and the frame's
// first address (the saved settings).
type previewPane struct {
	// On says there is a preview (the hosted pages are served).
	On             bool
	Screens, Langs []previewChoice
	Screen, Lang   string
	FrameURL       string
	// DemoURL is the demo application's page, "" when it is off.
	DemoURL string
}

// previewPaneOf lays out the preview pane with the chosen screen and
// language, the console's language by default.
func (s *Server) previewPaneOf(p *page, screen, lang string) previewPane {
	if s.Preview == nil {
		return previewPane{}
	}
	screen, lang = s.previewChosen(p, screen, lang)
	d := previewPane{On: true, Screen: screen, Lang: lang}
	for _, sc := range s.Preview.PreviewScreens() {
		d.Screens = append(d.Screens, previewChoice{Value: sc, Label: p.cat.text(screenLabels[sc]), Current: sc == screen})
	}
	for _, l := range s.Preview.Languages() {
		label := l
		if c, ok := s.cats.byLang[l]; ok {
			label = c.Text("language.name")
		}
		d.Langs = append(d.Langs, previewChoice{Value: l, Label: label, Current: l == lang})
	}
	d.FrameURL = Prefix + "/sign-in-experience/preview?" + url.Values{"screen": {screen}, "lang": {lang}}.Encode()
	if s.Apps != nil && s.Apps.DemoAppEnabled() {
		d.DemoURL = apps.DemoAppPath
	}
	return d
}

// previewChosen is the screen and language asked for, each one the pages
// have, else the first screen and the console's language (else the
// pages' default).
func (s *Server) previewChosen(p *page, screen, lang string) (string, string) {
	screens, langs := s.Preview.PreviewScreens(), s.Preview.Languages()
	if !slices.Contains(screens, screen) {
		screen = screens[0]
	}
	if !slices.Contains(langs, lang) {
		lang = langs[0]
		if slices.Contains(langs, p.cat.Lang) {
			lang = p.cat.Lang
		}
	}
	return screen, lang
}

// previewSavedSignInExp is the preview frame's first page: the screen
// with the saved settings.
func (s *Server) previewSavedSignInExp(p *page) error {
	if s.Preview == nil {
		p.errorPage(http.StatusNotFound, msg("error.not_found"))
		return nil
	}
	exp, err := s.Tenants.Experience(p.r.Context(), p.tenant)
	if err != nil {
		return err
	}
	q := p.r.URL.Query()
	screen, lang := s.previewChosen(p, q.Get("screen"), q.Get("lang"))
	s.Preview.Preview(p.w, p.r, exp, screen, lang)
	return nil
}

// previewSignInExp is the preview of the unsaved form (the form posted
// into the preview frame, by its Preview button or by the page's script
// as the form changes): the form becomes settings exactly as saving makes
// them, checked the same way but not saved, and the hosted pages render
// the chosen screen with them; settings that would be refused show why
// instead.
func (s *Server) previewSignInExp(p *page) error {
	if s.Preview == nil {
		p.errorPage(http.StatusNotFound, msg("error.not_found"))
		return nil
	}
	screen, lang := s.previewChosen(p, p.r.PostForm.Get("preview.screen"), p.r.PostForm.Get("preview.lang"))
	patch, errs := signInExpPatch(p)
	var exp tenant.Experience
	var err error
	if len(errs) == 0 {
		raw, merr := json.Marshal(patch)
		if merr != nil {
			return merr
		}
		exp, err = s.Tenants.TryExperience(p.r.Context(), p.tenant, raw)
		if err == nil {
			s.Preview.Preview(p.w, p.r, exp, screen, lang)
			return nil
		}
	}
	sentence, field, err := p.signInExpRefusal(errs, err)
	if err != nil {
		return err
	}
	v := p.view("sign-in-experience")
	v.Bare, v.Error = true, sentence
	if field != "" {
		v.Error += " " + field
	}
	v.policy = web.Policy{FramedBySelf: true}
	p.w.Header().Set("X-Frame-Options", "SAMEORIGIN")
	p.render(http.StatusUnprocessableEntity, "sign-in-experience-preview", v)
	return nil
}

// signInExpRefusal says why the form's settings are refused: errs are the
// form's own refusals by field ID, err the settings' (a *FieldError or a
// *RuleError; another error is returned as it is). The sentence is about
// the whole form; detail the field's reason, "" when there is none.
func (p *page) signInExpRefusal(errs map[string]string, err error) (sentence, detail string, _ error) {
	var fe *tenant.FieldError
	var re *tenant.RuleError
	switch {
	case len(errs) > 0:
		return p.cat.text(msg("sign_in_exp.fix")), errs[slices.Sorted(maps.Keys(errs))[0]], nil
	case errors.As(err, &fe):
		errs[signInExpFieldID(fe.Field)] = fe.Field + ": " + fe.Reason
		return p.cat.text(msg("sign_in_exp.fix")), fe.Field + ": " + fe.Reason, nil
	case errors.As(err, &re):
		return re.Message, "", nil
	}
	return "", "", err
}
