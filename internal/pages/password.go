package pages

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/password"
)

// newPasswordData is what a page that sets a password shows: the
// policy's rules, as a hint under the field.
type newPasswordData struct {
	Action string
	// Email is the account's address, for password managers.
	Email string
	// Hint says what the password policy asks.
	Hint string
}

// passwordHint says the tenant's password policy in the page's language.
func (p *page) passwordHint() string {
	pol := p.exp.PasswordPolicy
	hint := p.cat.text(msg("password.hint_length"), "min", strconv.Itoa(pol.Length.Min), "max", strconv.Itoa(pol.Length.Max))
	if pol.CharacterTypes.Min > 1 {
		hint += " " + p.cat.text(msg("password.hint_types"), "min", strconv.Itoa(pol.CharacterTypes.Min))
	}
	return hint
}

// issueTexts are the sentences of Logto's password_rejected issue codes.
var issueTexts = map[string]msg{
	password.IssueTooShort:              msg("password.too_short"),
	password.IssueTooLong:               msg("password.too_long"),
	password.IssueCharacterTypes:        msg("password.character_types"),
	password.IssueUnsupportedCharacters: msg("password.unsupported_characters"),
	password.IssuePwned:                 msg("password.pwned"),
	password.IssueRestrictedRepetition:  msg("password.repetition"),
	password.IssueRestrictedSequence:    msg("password.sequence"),
	password.IssueRestrictedUserInfo:    msg("password.user_info"),
	password.IssueRestrictedWords:       msg("password.words"),
}

// passwordIssue is one rule a refused password breaks.
type passwordIssue struct {
	code   string
	values map[string]int
}

// passwordIssues are the issues of a password.rejected error, however the
// service reports them.
func passwordIssues(err error) []passwordIssue {
	var out []passwordIssue
	var pe *password.Error
	var ee *experience.Error
	switch {
	case errors.As(err, &pe):
		for _, is := range pe.Issues {
			out = append(out, passwordIssue{is.Code, is.Interpolation})
		}
	case errors.As(err, &ee):
		if d, ok := ee.Data.(map[string]any); ok {
			if list, ok := d["issues"].([]password.Issue); ok {
				for _, is := range list {
					out = append(out, passwordIssue{is.Code, is.Interpolation})
				}
			}
		}
	}
	return out
}

// refusePassword refuses a new password: a policy refusal says each rule
// the password breaks.
func (p *page) refusePassword(err error, v view, show func(int, view)) error {
	issues := passwordIssues(err)
	if len(issues) == 0 {
		return p.refuse(err, "password", v, show)
	}
	parts := []string{p.cat.text(msg("error.password_rejected"))}
	for _, is := range issues {
		key, ok := issueTexts[is.code]
		if !ok {
			continue
		}
		var args []string
		for name, n := range is.values {
			args = append(args, name, strconv.Itoa(n))
		}
		parts = append(parts, p.cat.text(key, args...))
	}
	p.setField(&v, "password", strings.Join(parts, " "))
	show(http.StatusUnprocessableEntity, v)
	return nil
}

// newPassword reads a form's new password and its confirmation; a missing
// or unconfirmed one is refused on its field.
func (p *page) newPassword(v *view) (string, bool) {
	pw, confirm := p.r.PostForm.Get("password"), p.r.PostForm.Get("confirm")
	switch {
	case pw == "":
		p.setField(v, "password", p.cat.text(msg("error.password_required")))
	case pw != confirm:
		p.setField(v, "confirm", p.cat.text(msg("error.password_mismatch")))
	default:
		return pw, true
	}
	return "", false
}

// resetPage asks for the new password of a password reset whose code
// identified the user.
func (s *Server) resetPage(p *page) error {
	if !p.state.Identified || p.state.Event != string(experience.EventForgotPassword) {
		return p.noCode(forgotFlow)
	}
	v := p.view()
	v.Focus = "password"
	s.showNewPassword(p, "reset-password", resetPath, http.StatusOK, v)
	return nil
}

func (s *Server) showNewPassword(p *page, name, action string, status int, v view) {
	v.Data = newPasswordData{Action: action, Email: p.state.Email, Hint: p.passwordHint()}
	p.render(status, name, v)
}

// resetSubmit sets the new password; the browser then signs in with it.
func (s *Server) resetSubmit(p *page) error {
	if !p.state.Identified || p.state.Event != string(experience.EventForgotPassword) {
		return p.noCode(forgotFlow)
	}
	v := p.view()
	show := func(status int, v view) { s.showNewPassword(p, "reset-password", resetPath, status, v) }
	pw, ok := p.newPassword(&v)
	if !ok {
		show(http.StatusBadRequest, v)
		return nil
	}
	if err := s.Experience.ResetPassword(p.r.Context(), p.caller, pw); err != nil {
		return p.refusePassword(err, v, show)
	}
	return p.finish()
}

// forgotData is what the forgot password page shows.
type forgotData struct {
	Email string
}

// forgotPage asks for the address whose password to reset.
func (s *Server) forgotPage(p *page) error {
	if !p.exp.ForgotPasswordByEmail() {
		return &pageError{status: http.StatusForbidden, key: msg("error.forgot_password_off")}
	}
	v := p.view()
	v.Focus = "email"
	s.showForgot(p, http.StatusOK, v, p.state.Email)
	return nil
}

func (s *Server) showForgot(p *page, status int, v view, email string) {
	v.Data = forgotData{Email: email}
	p.render(status, "forgot-password", v)
}

// forgotSubmit sends a reset code to the address. The answer is the same
// whether the address has an account: only an account's address gets the
// mail.
func (s *Server) forgotSubmit(p *page) error {
	if !p.exp.ForgotPasswordByEmail() {
		return &pageError{status: http.StatusForbidden, key: msg("error.forgot_password_off")}
	}
	email := p.formField("email")
	v := p.view()
	show := func(status int, v view) { s.showForgot(p, status, v, email) }
	if email == "" {
		p.setField(&v, "email", p.cat.text(msg("error.email_required")))
		show(http.StatusBadRequest, v)
		return nil
	}
	if err := s.Experience.SetEvent(p.r.Context(), p.caller, experience.EventForgotPassword); err != nil {
		return p.refuse(err, "email", v, show)
	}
	p.state = pageState{Email: email, Event: string(experience.EventForgotPassword)}
	if err := p.sendCode(forgotFlow, email); err != nil {
		return p.refuseEmail(err, v, show)
	}
	return p.redirect(forgotFlow.codePath())
}

// continuePasswordPage asks for the password sign-up requires and the
// account lacks (Logto's /continue/password).
func (s *Server) continuePasswordPage(p *page) error {
	v := p.view()
	v.Focus = "password"
	s.showNewPassword(p, "continue-password", continuePassword, http.StatusOK, v)
	return nil
}

// continuePasswordSubmit adds the password to the profile and goes on:
// a registration creates the account with it, then the flow finishes.
func (s *Server) continuePasswordSubmit(p *page) error {
	v := p.view()
	show := func(status int, v view) { s.showNewPassword(p, "continue-password", continuePassword, status, v) }
	pw, ok := p.newPassword(&v)
	if !ok {
		show(http.StatusBadRequest, v)
		return nil
	}
	if err := s.Experience.AddProfile(p.r.Context(), p.caller, experience.ProfileInput{Type: experience.ProfilePassword, Value: pw}); err != nil {
		return p.refusePassword(err, v, show)
	}
	return p.afterProfile()
}

// afterProfile goes on once the profile has one more item: a
// registration that has no user yet creates it, then the flow finishes
// (or asks for the next missing item).
func (p *page) afterProfile() error {
	ctx := p.r.Context()
	in, err := p.s.Experience.Interaction(ctx, p.caller)
	if err != nil {
		return err
	}
	if in.InteractionEvent == experience.EventRegister && in.UserID == "" {
		_, err := p.s.Experience.Identify(ctx, p.caller, "")
		if done, perr := p.toProfile(err); done {
			return perr
		}
		if err != nil {
			return err
		}
	}
	return p.finish()
}

// usernameData is what the username page shows.
type usernameData struct {
	Username string
}

// continueUsernamePage asks for the username sign-up requires and the
// account lacks (Logto's /continue/username).
func (s *Server) continueUsernamePage(p *page) error {
	v := p.view()
	v.Focus = "username"
	s.showUsername(p, http.StatusOK, v, "")
	return nil
}

func (s *Server) showUsername(p *page, status int, v view, username string) {
	v.Data = usernameData{Username: username}
	p.render(status, "continue-username", v)
}

// continueUsernameSubmit adds the username to the profile and goes on.
func (s *Server) continueUsernameSubmit(p *page) error {
	name := p.formField("username")
	v := p.view()
	show := func(status int, v view) { s.showUsername(p, status, v, name) }
	if name == "" {
		p.setField(&v, "username", p.cat.text(msg("error.username_required")))
		show(http.StatusBadRequest, v)
		return nil
	}
	err := s.Experience.AddProfile(p.r.Context(), p.caller, experience.ProfileInput{Type: experience.ProfileUsername, Value: name})
	if isCode(err, "guard.invalid_input") {
		p.setField(&v, "username", p.cat.text(msg("error.username_invalid")))
		show(http.StatusBadRequest, v)
		return nil
	}
	if err != nil {
		return p.refuse(err, "username", v, show)
	}
	return p.afterProfile()
}
