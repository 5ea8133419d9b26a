package pages

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/password"
	"github.com/authmail/authmail/internal/ratelimit"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/verification"
)

// errorText is the sentence a page shows for an error code, and the
// status of the page that shows it. A fatal error ends what the page can
// do (the sign-in is gone, or may not go on): it shows the error page
// rather than the form.
type errorText struct {
	key    msg
	status int
	fatal  bool
}

// errorTexts maps the experience's error codes (Logto's, which the JSON
// API answers) to sentences. A code not listed shows error.generic.
var errorTexts = map[string]errorText{
	"session.not_found":                              {msg("error.session_not_found"), http.StatusBadRequest, true},
	"session.interaction_not_found":                  {msg("error.session_not_found"), http.StatusNotFound, true},
	"session.identifier_not_found":                   {msg("error.session_not_found"), http.StatusNotFound, true},
	"session.invalid_interaction_type":               {msg("error.session_not_found"), http.StatusBadRequest, true},
	"oidc.login_required":                            {msg("error.session_not_found"), http.StatusBadRequest, true},
	"session.identity_conflict":                      {msg("error.identity_conflict"), http.StatusConflict, true},
	"auth.forbidden":                                 {msg("error.forbidden"), http.StatusForbidden, true},
	"session.not_supported_for_forgot_password":      {msg("error.forgot_password_off"), http.StatusUnprocessableEntity, true},
	"user.suspended":                                 {msg("error.suspended"), http.StatusUnauthorized, true},
	"user.sign_in_method_not_enabled":                {msg("error.method_not_enabled"), http.StatusUnprocessableEntity, false},
	"session.verification_session_not_found":         {msg("error.verification_not_found"), http.StatusNotFound, false},
	"verification_record.not_found":                  {msg("error.verification_not_found"), http.StatusBadRequest, false},
	"session.verification_failed":                    {msg("error.verification_failed"), http.StatusBadRequest, false},
	"session.invalid_credentials":                    {msg("error.invalid_credentials"), http.StatusUnprocessableEntity, false},
	"session.verification_blocked_too_many_attempts": {msg("error.locked"), http.StatusTooManyRequests, false},
	"user.user_not_exist":                            {msg("error.user_not_exist"), http.StatusNotFound, false},
	"user.email_already_in_use":                      {msg("error.email_in_use"), http.StatusUnprocessableEntity, false},
	"user.email_exists_in_profile":                   {msg("error.email_in_use"), http.StatusUnprocessableEntity, false},
	"user.username_already_in_use":                   {msg("error.username_in_use"), http.StatusUnprocessableEntity, false},
	"user.username_exists_in_profile":                {msg("error.profile_has_it"), http.StatusUnprocessableEntity, false},
	"user.password_exists_in_profile":                {msg("error.profile_has_it"), http.StatusUnprocessableEntity, false},
	"user.missing_profile":                           {msg("error.missing_profile"), http.StatusUnprocessableEntity, true},
	"user.same_password":                             {msg("error.same_password"), http.StatusUnprocessableEntity, false},
	"user.new_password_required_in_profile":          {msg("error.new_password_required"), http.StatusUnprocessableEntity, false},
	"password.rejected":                              {msg("error.password_rejected"), http.StatusUnprocessableEntity, false},
	"verification_code.not_found":                    {msg("error.code_not_found"), http.StatusBadRequest, false},
	"verification_code.email_mismatch":               {msg("error.code_mismatch"), http.StatusBadRequest, false},
	"verification_code.code_mismatch":                {msg("error.code_mismatch"), http.StatusBadRequest, false},
	"verification_code.expired":                      {msg("error.code_expired"), http.StatusBadRequest, false},
	"verification_code.exceed_max_try":               {msg("error.code_exceed_max_try"), http.StatusBadRequest, false},
	"verification_code.resend_too_soon":              {msg("error.resend_too_soon"), http.StatusTooManyRequests, false},
	"request.message_rate_limited":                   {msg("error.rate_limited"), http.StatusTooManyRequests, false},
	"request.too_many_requests":                      {msg("error.too_many_requests"), http.StatusTooManyRequests, true},
	"connector.not_found":                            {msg("error.cannot_send"), http.StatusServiceUnavailable, false},
	"connector.general":                              {msg("error.cannot_send"), http.StatusBadGateway, false},
	"connector.rate_limit_exceeded":                  {msg("error.cannot_send"), http.StatusServiceUnavailable, false},
	"guard.invalid_input":                            {msg("error.invalid_input"), http.StatusBadRequest, false},
	"auth.unauthorized":                              {msg("error.signed_out"), http.StatusUnauthorized, true},
	"account_center.not_enabled":                     {msg("error.account_off"), http.StatusNotFound, true},
	"account_center.field_not_editable":              {msg("error.not_editable"), http.StatusBadRequest, false},
	"verification_record.permission_denied":          {msg("error.reverify"), http.StatusUnauthorized, false},
	"session.mfa.require_mfa_verification":           {msg("error.mfa_required"), http.StatusForbidden, false},
	"session.mfa.mfa_factor_not_enabled":             {msg("error.mfa_not_enabled"), http.StatusBadRequest, true},
	"session.mfa.bind_mfa_existed":                   {msg("error.mfa_existed"), http.StatusBadRequest, false},
	"one_time_token.token_not_found":                 {msg("error.link_not_valid"), http.StatusNotFound, true},
	"one_time_token.token_expired":                   {msg("error.link_expired"), http.StatusBadRequest, true},
	"one_time_token.token_consumed":                  {msg("error.link_used"), http.StatusBadRequest, true},
	"request.unavailable":                            {msg("error.unavailable"), http.StatusServiceUnavailable, true},
	"request.timeout":                                {msg("error.unavailable"), http.StatusServiceUnavailable, true},
}

// genericError is what a page shows for a code errorTexts lacks.
var genericError = errorText{msg("error.generic"), http.StatusBadRequest, false}

// errorCode is the stable code of err, and how long until trying again
// may succeed; "" for an error that has none (a fault of the server).
func errorCode(err error) (string, time.Duration) {
	var ee *experience.Error
	var ve *verification.Error
	var pwe *password.Error
	var le *ratelimit.LimitedError
	switch {
	case errors.As(err, &ee):
		return ee.Code, ee.RetryAfter
	case errors.As(err, &le):
		return "request.too_many_requests", le.RetryAfter
	case errors.As(err, &pwe):
		return "password.rejected", 0
	case errors.As(err, &ve):
		return ve.Code, ve.RetryAfter
	case errors.Is(err, identity.ErrEmailInUse):
		return "user.email_already_in_use", 0
	case errors.Is(err, delivery.ErrNoConnector):
		return "connector.not_found", 0
	case errors.Is(err, store.ErrUnavailable):
		return "request.unavailable", 0
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "request.timeout", 0
	}
	var pe *password.Error
	if errors.As(err, &pe) {
		return "password.rejected", 0
	}
	var se *delivery.SendError
	if errors.As(err, &se) {
		return "connector.general", 0
	}
	return "", 0
}

// errorMessage is the sentence, status and fatality of err; the key is ""
// for an error without a code, which the page reports as unexpected.
func errorMessage(err error) errorText {
	code, _ := errorCode(err)
	if code == "" {
		return errorText{status: http.StatusInternalServerError, fatal: true}
	}
	t, ok := errorTexts[code]
	if !ok {
		t = genericError
	}
	return t
}

// duration says d in the page's language, rounded up to a minute beyond
// two minutes ("42 min", "50 s").
func (p *page) duration(d time.Duration) string {
	if d <= 0 {
		d = time.Second
	}
	if d > 2*time.Minute {
		return p.cat.text(msg("duration.minutes"), "n", strconv.Itoa(int((d+time.Minute-1)/time.Minute)))
	}
	return p.cat.text(msg("duration.seconds"), "n", strconv.Itoa(int((d+time.Second-1)/time.Second)))
}
