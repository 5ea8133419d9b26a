package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/password"
	"github.com/authmail/authmail/internal/ratelimit"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
)

// Error is an API error: {"code": "area.reason", "message": "...", "data": ...}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
	// RetryAfter, when set, becomes the Retry-After header (seconds).
	RetryAfter int `json:"-"`
}

// Error returns "code: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// invalidInput is a 400 guard.invalid_input naming the field.
func invalidInput(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &Error{Status: http.StatusBadRequest, Code: "guard.invalid_input", Message: msg, Data: map[string]string{"field": field}}
}

func notFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "entity.not_found", Message: what + " not found"}
}

// unknownFactory is the one answer to a connector factory ID that no
// registered factory has, whichever route it came in on: Logto's 422
// connector.not_found_with_connector_id, listing the IDs that exist.
// field names where the ID was given (a body field, path or query
// parameter).
func unknownFactory(field, id string) *Error {
	var ids []string
	for _, f := range connector.Factories() {
		ids = append(ids, f.ID)
	}
	return &Error{Status: http.StatusUnprocessableEntity, Code: "connector.not_found_with_connector_id",
		Message: fmt.Sprintf("no connector factory %q; use one of %s (GET /api/connector-factories lists them with their aliases)", id, strings.Join(ids, ", ")),
		Data:    map[string]any{"field": field, "connectorId": id, "factoryIds": ids}}
}

// unavailable is the answer while the database does not answer.
func unavailable() *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "request.unavailable", Message: "the database did not answer; try again shortly", RetryAfter: 1}
}

// toAPIError maps every error the services return to an API error. Errors
// it does not know are internal: logged with an ID that the response shows.
func (s *Server) toAPIError(ctx context.Context, err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var ee *experience.Error
	if errors.As(err, &ee) {
		return &Error{Status: ee.Status, Code: ee.Code, Message: ee.Message, Data: ee.Data, RetryAfter: int(ee.RetryAfter.Seconds())}
	}
	var le *ratelimit.LimitedError
	if errors.As(err, &le) {
		ra := max(int(le.RetryAfter.Seconds()), 1)
		return &Error{Status: http.StatusTooManyRequests, Code: "request.too_many_requests",
			Message: fmt.Sprintf("too many requests from %s (the cap is %d per %d s); try again after %d s", limitedWho(le), le.Limit.N, int(le.Limit.Window.Seconds()), ra),
			Data:    map[string]int{"retryAfter": ra}, RetryAfter: ra}
	}
	var ve *verification.Error
	if errors.As(err, &ve) {
		status := http.StatusBadRequest
		if ve.Code == verification.ErrRateLimited.Code || ve.Code == verification.ErrResendTooSoon.Code || ve.Code == verification.ErrIdentifierLock.Code {
			status = http.StatusTooManyRequests
		}
		out := &Error{Status: status, Code: ve.Code, Message: ve.Message}
		if ve.RetryAfter > 0 {
			out.RetryAfter = int(ve.RetryAfter.Seconds())
			out.Data = map[string]int{"retryAfter": out.RetryAfter}
		}
		return out
	}
	if ae := appsError(err); ae != nil {
		return ae
	}
	if ae := orgsError(err); ae != nil {
		return ae
	}
	var ife *identity.FieldError
	if errors.As(err, &ife) {
		return invalidInput(ife.Field, "%s", ife.Reason)
	}
	if errors.Is(err, identity.ErrEmailInUse) {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "user.email_already_in_use", Message: "This email is associated with an existing account."}
	}
	if errors.Is(err, identity.ErrUsernameInUse) {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "user.username_already_in_use", Message: "This username is already in use."}
	}
	var pe *password.Error
	if errors.As(err, &pe) {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "password.rejected", Message: "Password rejected: " + pe.Error() + ".",
			Data: map[string]any{"issues": pe.Issues}}
	}
	if errors.Is(err, password.ErrPwnedUnavailable) {
		s.logger.WarnContext(ctx, "breached-password check failed", "err", err)
		return &Error{Status: http.StatusServiceUnavailable, Code: "password.pwned_check_unavailable", RetryAfter: 5,
			Message: "the password policy checks passwords against breaches (passwordPolicy.rejects.pwned) and the breach service did not answer; try again shortly, or turn the check off"}
	}
	var fe *tenant.FieldError
	if errors.As(err, &fe) {
		return invalidInput(fe.Field, "%s", fe.Reason)
	}
	// A broken sign-in experience rule, ErrNoEmailConnector's included.
	var rule *tenant.RuleError
	if errors.As(err, &rule) {
		out := &Error{Status: rule.Status, Code: rule.Code, Message: rule.Message}
		if rule.Data != nil {
			out.Data = rule.Data
		}
		return out
	}
	if errors.Is(err, tenant.ErrConnectorInUse) {
		out := &Error{Status: http.StatusConflict, Code: "connector.in_use",
			Message: "the sign-in experience relies on this email connector and would stop working; change the sign-in settings first, switch connectors with POST /api/connectors, or delete with ?force=true"}
		var ue *tenant.ConnectorInUseError
		if errors.As(err, &ue) {
			out.Message = "the sign-in experience relies on this email connector (" + strings.Join(ue.Uses, ", ") + ") and would stop working; change those settings first, switch connectors with POST /api/connectors, or delete with ?force=true"
			out.Data = map[string]any{"usedBy": ue.Uses}
		}
		return out
	}
	if errors.Is(err, delivery.ErrNoConnector) {
		return &Error{Status: http.StatusNotImplemented, Code: "connector.not_found", Message: "Cannot find any available connector for type: Email. Create one with POST /api/connectors."}
	}
	var ufe *connector.UnknownFactoryError
	if errors.As(err, &ufe) {
		return unknownFactory("connectorId", ufe.ID)
	}
	var re *connector.SecretReuseError
	if errors.As(err, &re) {
		return &Error{Status: http.StatusBadRequest, Code: "connector.invalid_config", Message: re.Error(),
			Data: map[string]any{"field": re.Secrets[0], "fields": re.Secrets, "changed": re.Changed}}
	}
	var ce *connector.ConfigError
	if errors.As(err, &ce) {
		return &Error{Status: http.StatusBadRequest, Code: "connector.invalid_config", Message: ce.Error(), Data: map[string]string{"field": ce.Field}}
	}
	var se *delivery.SendError
	if errors.As(err, &se) {
		return sendError(se.Err)
	}
	if errors.Is(err, connector.ErrAuth) || errors.Is(err, connector.ErrRejected) || errors.Is(err, connector.ErrRateLimited) || errors.Is(err, connector.ErrTemporary) {
		return sendError(err)
	}
	if errors.Is(err, emailtemplate.ErrInvalidTemplate) {
		return &Error{Status: http.StatusBadRequest, Code: "email_template.invalid", Message: err.Error(), Data: templateErrorData(err)}
	}
	if errors.Is(err, store.ErrNotFound) {
		return notFound("entity")
	}
	if errors.Is(err, store.ErrUnavailable) {
		s.logger.WarnContext(ctx, "database unavailable", "err", err)
		return unavailable()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "request.timeout", Message: "the request took too long; try again"}
	}
	if errors.Is(err, store.ErrConflict) {
		return &Error{Status: http.StatusConflict, Code: "entity.conflict", Message: "a concurrent change got there first; read the current state and try again"}
	}
	id := strings.ToUpper(fmt.Sprintf("%x", keyring.RandomBytes(4)))
	s.logger.ErrorContext(ctx, "internal error", "errorId", id, "err", err)
	return &Error{Status: http.StatusInternalServerError, Code: "unexpected_error", Message: "internal error " + id + "; the server log has the details"}
}

// sendError reports a connector failure as Logto does: 400
// connector.general with the provider's message, 429 when rate limited.
func sendError(err error) *Error {
	out := &Error{Status: http.StatusBadRequest, Code: "connector.general", Message: err.Error()}
	var ce *connector.Error
	if errors.As(err, &ce) {
		out.Data = map[string]any{"status": ce.Status, "providerCode": ce.Code, "errorDescription": ce.Message, "class": ce.Kind.Error()}
	}
	if errors.Is(err, connector.ErrRateLimited) {
		out.Status, out.Code = http.StatusTooManyRequests, "connector.rate_limit_exceeded"
	}
	return out
}

func templateErrorData(err error) any {
	var pe *emailtemplate.PlaceholderError
	if errors.As(err, &pe) {
		return map[string]any{"usageType": pe.Usage, "unknown": pe.Unknown, "provided": pe.Provided}
	}
	var ve *emailtemplate.ValidationError
	if errors.As(err, &ve) {
		return map[string]string{"field": ve.Field}
	}
	return nil
}

// writeError writes err as JSON.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := s.toAPIError(r.Context(), err)
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	writeJSON(w, ae.Status, ae)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// maxBody bounds request bodies.
const maxBody = 1 << 20

// decode reads a JSON body into v: at most 1 MiB, no unknown fields, one
// value only. Every refusal is an *Error (guard.invalid_input, 413 or
// 415); a syntax error gives the byte offset where the body stops being
// JSON.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "guard.invalid_content_type", Message: "send the body as application/json"}
	}
	return decodeJSON(http.MaxBytesReader(nil, r.Body, maxBody), v)
}

// decodeOptional is decode for a body that may be left out (or empty):
// then v is left as it is.
func decodeOptional(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "guard.invalid_content_type", Message: "send the body as application/json"}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return bodyError(err, int64(len(raw)))
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	return decodeJSON(bytes.NewReader(raw), v)
}

// isJSON reports whether a Content-Type is JSON's.
func isJSON(contentType string) bool { return strings.HasPrefix(contentType, "application/json") }

// decodeJSON is decode without the request: the body is body.
func decodeJSON(body io.Reader, v any) error {
	read := &countingReader{r: body}
	dec := json.NewDecoder(read)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err, read.n)
	}
	if dec.More() {
		return invalidInput("", "the body must hold one JSON value; a second one starts after byte %d", dec.InputOffset())
	}
	if _, err := io.Copy(io.Discard, read); err != nil {
		return bodyError(err, read.n)
	}
	return nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// bodyError turns a decoding error into the API's answer; size is how
// many bytes the body had when it ended early.
func bodyError(err error, size int64) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "guard.request_too_large", Message: "the body is over 1 MiB"}
	case errors.Is(err, io.EOF):
		return invalidInput("", "the body is empty; send a JSON object")
	case errors.As(err, &se):
		return syntaxError(se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return syntaxError(size, "the body ends in the middle of a value")
	case errors.As(err, &te):
		if te.Field == "" {
			return invalidInput("", "the body must be %s", jsonType(te.Type.Kind().String()))
		}
		return invalidInput(te.Field, "must be %s", jsonType(te.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalidInput(field, "unknown field")
	}
	return invalidInput("", "%s", err.Error())
}

// syntaxError is a body that is not JSON, with where it stops being JSON.
func syntaxError(offset int64, reason string) *Error {
	e := invalidInput("", "the body is not valid JSON at byte %d: %s", offset, reason)
	e.Data = map[string]any{"field": "", "offset": offset}
	return e
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "a number"
}

// logRequestError logs client errors at debug level without bodies.
func logRequestError(logger *slog.Logger, r *http.Request, ae *Error) {
	logger.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "status", ae.Status, "code", ae.Code)
}

// limitedWho names what a cap counts: the client, or the application
// whose sign-ins without redirects it caps.
func limitedWho(le *ratelimit.LimitedError) string {
	if le.App {
		return "this application"
	}
	return "this client"
}
