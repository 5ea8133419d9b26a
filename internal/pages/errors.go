package pages

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/password"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/verification"
)

// errorText is the sentence a page shows for an error code, and the
// status of an error page that shows it.
type errorText struct {
	key    msg
	status int
}

// errorTexts maps the experience's error codes (Logto's, which the JSON
// API answers) to sentences. A code not listed shows error.generic.
var errorTexts = map[string]errorText{
	"session.not_found":                              {msg("error.session_not_found"), http.StatusBadRequest},
	"session.interaction_not_found":                  {msg("error.session_not_found"), http.StatusNotFound},
	"session.verification_session_not_found":         {msg("error.verification_not_found"), http.StatusNotFound},
	"session.verification_failed":                    {msg("error.verification_failed"), http.StatusBadRequest},
	"session.identifier_not_found":                   {msg("error.session_not_found"), http.StatusNotFound},
	"session.invalid_interaction_type":               {msg("error.session_not_found"), http.StatusBadRequest},
	"session.not_supported_for_forgot_password":      {msg("error.forgot_password_off"), http.StatusUnprocessableEntity},
	"session.identity_conflict":                      {msg("error.identity_conflict"), http.StatusConflict},
	"session.invalid_credentials":                    {msg("error.invalid_credentials"), http.StatusUnprocessableEntity},
	"session.verification_blocked_too_many_attempts": {msg("error.locked"), http.StatusTooManyRequests},
	"auth.forbidden":                                 {msg("error.forbidden"), http.StatusForbidden},
	"user.user_not_exist":                            {msg("error.user_not_exist"), http.StatusNotFound},
	"user.email_already_in_use":                      {msg("error.email_in_use"), http.StatusUnprocessableEntity},
	"user.sign_in_method_not_enabled":                {msg("error.method_not_enabled"), http.StatusUnprocessableEntity},
	"user.suspended":                                 {msg("error.suspended"), http.StatusUnauthorized},
	"user.same_password":                             {msg("error.same_password"), http.StatusUnprocessableEntity},
	"user.new_password_required_in_profile":          {msg("error.new_password_required"), http.StatusUnprocessableEntity},
	"password.rejected":                              {msg("error.password_rejected"), http.StatusUnprocessableEntity},
	"verification_code.not_found":                    {msg("error.code_not_found"), http.StatusBadRequest},
	"verification_code.email_mismatch":               {msg("error.code_mismatch"), http.StatusBadRequest},
	"verification_code.code_mismatch":                {msg("error.code_mismatch"), http.StatusBadRequest},
	"verification_code.expired":                      {msg("error.code_expired"), http.StatusBadRequest},
	"verification_code.exceed_max_try":               {msg("error.code_exceed_max_try"), http.StatusBadRequest},
	"verification_code.resend_too_soon":              {msg("error.resend_too_soon"), http.StatusTooManyRequests},
	"request.message_rate_limited":                   {msg("error.rate_limited"), http.StatusTooManyRequests},
	"request.too_many_requests":                      {msg("error.rate_limited"), http.StatusTooManyRequests},
	"connector.not_found":                            {msg("error.cannot_send"), http.StatusServiceUnavailable},
	"connector.general":                              {msg("error.cannot_send"), http.StatusBadGateway},
	"connector.rate_limit_exceeded":                  {msg("error.cannot_send"), http.StatusServiceUnavailable},
	"guard.invalid_input":                            {msg("error.invalid_input"), http.StatusBadRequest},
	"request.unavailable":                            {msg("error.unavailable"), http.StatusServiceUnavailable},
	"request.timeout":                                {msg("error.unavailable"), http.StatusServiceUnavailable},
}

// genericError is what a page shows for a code errorTexts lacks.
var genericError = errorText{msg("error.generic"), http.StatusBadRequest}

// coded is an error with a stable code, as the services' errors are.
type coded interface {
	error
	ErrorCode() string
}

// errorCode is the stable code of err, and how long until trying again
// may succeed; "" for an error that has none (a fault of the server).
func errorCode(err error) (string, time.Duration) {
	var ve *verification.Error
	var ce coded
	switch {
	case errors.As(err, &ve):
		return ve.Code, ve.RetryAfter
	case errors.As(err, &ce):
		return ce.ErrorCode(), 0
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

// errorMessage is the sentence and error page status for err; the key is
// "" for an error without a code, which the page reports as unexpected.
func errorMessage(err error) (msg, int) {
	code, _ := errorCode(err)
	if code == "" {
		return "", http.StatusInternalServerError
	}
	t, ok := errorTexts[code]
	if !ok {
		t = genericError
	}
	return t.key, t.status
}

// sentence is the sentence for err in the page's language, with the wait
// filled in where the error has one.
func (p *page) sentence(err error) string {
	key, _ := errorMessage(err)
	if key == "" {
		ref := p.logUnexpected(err)
		return p.cat.text(msg("error.unexpected"), "reference", ref)
	}
	_, wait := errorCode(err)
	return p.cat.text(key, "wait", p.duration(wait))
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
