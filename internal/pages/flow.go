package pages

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/tenant"
)

// flow is one of the page flows, Logto's user flows: its path and the
// interaction event it runs.
type flow struct {
	// path is the flow's first page, and the base of its code page.
	path  string
	event experience.Event
}

// The flows with a code page.
var (
	signInFlow   = flow{path: "/sign-in", event: experience.EventSignIn}
	registerFlow = flow{path: "/register", event: experience.EventRegister}
	forgotFlow   = flow{path: "/forgot-password", event: experience.EventForgotPassword}
)

// codePath is the flow's code page, Logto's /{flow}/verification-code.
func (f flow) codePath() string { return f.path + "/verification-code" }

// The paths of the pages outside the code flows.
const (
	passwordPath        = "/sign-in/password"
	createAccountPath   = "/sign-in/create-account"
	existingAccountPath = "/register/existing-account"
	resetPath           = "/forgot-password/reset"
	continuePassword    = "/continue/password"
	continueUsername    = "/continue/username"
)

// What the tenant's settings allow on the pages.

// emailMethod is the email sign-in method, if the tenant has one.
func emailMethod(exp tenant.Experience) (tenant.SignInMethod, bool) {
	if !exp.SignInAllowed() {
		return tenant.SignInMethod{}, false
	}
	return exp.SignInMethod(tenant.IdentifierEmail)
}

// signInByCode says an email code signs a user in.
func signInByCode(exp tenant.Experience) bool {
	m, ok := emailMethod(exp)
	return ok && m.VerificationCode
}

// signInByPassword says an email and password sign a user in.
func signInByPassword(exp tenant.Experience) bool {
	m, ok := emailMethod(exp)
	return ok && m.Password
}

// passwordFirst says the identifier page leads to the password page
// rather than sending a code: the method takes a password, and either
// puts it first or takes no code.
func passwordFirst(exp tenant.Experience) bool {
	m, ok := emailMethod(exp)
	return ok && m.Password && (m.IsPasswordPrimary || !m.VerificationCode)
}

// registerByEmail says people may create an account with an email
// address verified by a code.
func registerByEmail(exp tenant.Experience) bool {
	return exp.RegisterAllowed() && slices.Contains(exp.SignUp.Identifiers, tenant.IdentifierEmail) && exp.SignUpVerifiesEmail()
}

// formField is what a form field holds, its spaces trimmed.
func (p *page) formField(name string) string { return strings.TrimSpace(p.r.PostForm.Get(name)) }

// refuse shows a refused form again: err's sentence on field (on the page
// when field is ""), focused, with its status. An error that ends what the
// page can do shows the error page instead.
func (p *page) refuse(err error, field string, v view, show func(int, view)) error {
	et := errorMessage(err)
	if et.fatal {
		p.fail(err)
		return nil
	}
	p.retryAfter(err)
	p.setField(&v, field, p.cat.text(et.key, "wait", p.waitOf(err)))
	show(et.status, v)
	return nil
}

// setField puts a sentence on field (or on the page) and focuses it.
func (p *page) setField(v *view, field, sentence string) {
	if field == "" {
		v.Error = sentence
		return
	}
	v.Fields[field] = sentence
	if v.Focus == "" || v.Fields[v.Focus] == "" {
		v.Focus = field
	}
}

// retryAfter sets Retry-After for an error that says when to try again.
func (p *page) retryAfter(err error) {
	if _, wait := errorCode(err); wait > 0 {
		p.w.Header().Set("Retry-After", strconv.Itoa(int((wait+999_999_999)/1_000_000_000)))
	}
}

// waitOf says how long until err no longer stands, in the page's language.
func (p *page) waitOf(err error) string {
	_, wait := errorCode(err)
	return p.duration(wait)
}

// isCode reports whether err has the code.
func isCode(err error, code string) bool {
	c, _ := errorCode(err)
	return c == code
}

// missingProfile is what user.missing_profile says the user lacks, nil for
// another error.
func missingProfile(err error) []string {
	var ee *experience.Error
	if !errors.As(err, &ee) || ee.Code != "user.missing_profile" {
		return nil
	}
	switch d := ee.Data.(type) {
	case map[string]any:
		if list, ok := d["missingProfile"].([]string); ok {
			return list
		}
		if list, ok := d["missingProfile"].([]any); ok {
			var out []string
			for _, x := range list {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
	case map[string][]string:
		return d["missingProfile"]
	}
	return []string{}
}

// toProfile sends the browser to the page that asks for what the user
// lacks (Logto's /continue/...), when err is user.missing_profile; it
// reports whether it did.
func (p *page) toProfile(err error) (bool, error) {
	missing := missingProfile(err)
	switch {
	case missing == nil:
		return false, nil
	case slices.Contains(missing, experience.ProfileUsername):
		return true, p.redirect(continueUsername)
	case slices.Contains(missing, experience.ProfilePassword):
		return true, p.redirect(continuePassword)
	}
	return true, &pageError{status: http.StatusUnprocessableEntity, key: msg("error.missing_profile")}
}

// finish submits the interaction and sends the browser where the service
// says: the app (through the OIDC provider's callback) after a sign-in or
// a registration, with the sign-in session's cookie set and the
// interaction's dropped; or, after a password reset, back to the sign-in
// page with "Password changed". A profile still missing sends the browser
// to the page that asks for it, and a second factor to the code page that
// asks for it.
func (p *page) finish() error {
	out, err := p.s.Experience.Submit(p.r.Context(), p.caller)
	if done, perr := p.toProfile(err); done {
		return perr
	}
	if isCode(err, "session.mfa.require_mfa_verification") {
		return p.startMfa()
	}
	if err != nil {
		return err
	}
	if out.RedirectTo == "" { // a password reset: sign in with it now
		email := p.state.Email
		p.state = pageState{Email: email, Notice: msg("notice.password_changed")}
		return p.redirect(signInFlow.path)
	}
	if out.Session != "" {
		p.s.Experience.SetSessionCookie(p.w, out.Session)
	}
	p.s.Experience.ClearInteractionCookie(p.w)
	p.s.clearState(p.w)
	http.Redirect(p.w, p.r, out.RedirectTo, http.StatusSeeOther)
	return nil
}
