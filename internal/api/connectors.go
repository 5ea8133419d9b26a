package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/connconfig"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
)

// factoryJSON is a catalog entry, in the shape of Logto's factory response.
type factoryJSON struct {
	ID                string               `json:"id"`
	Aliases           []string             `json:"aliases,omitempty"`
	Type              string               `json:"type"`
	Name              map[string]string    `json:"name"`
	Description       map[string]string    `json:"description"`
	Logo              string               `json:"logo"`
	ReadMe            string               `json:"readme"`
	ConfigSchema      json.RawMessage      `json:"configSchema,omitempty"`
	ConfigTemplate    json.RawMessage      `json:"configTemplate,omitempty"`
	FormItems         []connector.FormItem `json:"formItems"`
	SecretFields      []string             `json:"secretFields"`
	RendersOnProvider bool                 `json:"rendersOnProvider"`
	IsDemo            bool                 `json:"isDemo"`
}

func factoryView(f connector.Factory) factoryJSON {
	return factoryJSON{ID: f.ID, Aliases: f.Aliases, Type: "Email", Name: map[string]string{"en": f.Name},
		Description: map[string]string{"en": f.Description}, Logo: f.Logo, ReadMe: f.ReadMe,
		ConfigSchema: f.ConfigSchema, ConfigTemplate: f.DefaultConfig, FormItems: nonNil(f.Form),
		SecretFields: nonNil(f.SecretFields), RendersOnProvider: f.RendersOnProvider}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) listFactories(w http.ResponseWriter, r *http.Request) error {
	out := []factoryJSON{}
	for _, f := range connector.Factories() {
		out = append(out, factoryView(f))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getFactory(w http.ResponseWriter, r *http.Request) error {
	f, ok := connector.Lookup(r.PathValue("id"))
	if !ok {
		return unknownFactory("id", r.PathValue("id"))
	}
	writeJSON(w, http.StatusOK, factoryView(f))
	return nil
}

// connectorJSON is an installed connector with its config redacted.
type connectorJSON struct {
	factoryJSON
	ID          string          `json:"id"`
	ConnectorID string          `json:"connectorId"`
	Config      json.RawMessage `json:"config"`
	CreatedAt   int64           `json:"createdAt"`
	UpdatedAt   int64           `json:"updatedAt"`
	// Health is the connector's recent delivery record.
	Health healthJSON `json:"health"`
	// Check is what the check asked for with ?check=true found, on the
	// answer to a save only.
	Check *checkJSON `json:"check,omitempty"`
}

// healthJSON is a connector's recent delivery health, read from the
// attempts it made: times in Unix milliseconds, null when there was none.
type healthJSON struct {
	LastSuccessAt *int64 `json:"lastSuccessAt"`
	LastFailureAt *int64 `json:"lastFailureAt"`
	// LastError is the last failed attempt's error, masked as the message
	// log keeps it.
	LastError string `json:"lastError"`
	// ConsecutiveFailures counts the failed attempts since the last
	// success, up to store.MaxCountedFailures.
	ConsecutiveFailures int `json:"consecutiveFailures"`
}

func healthView(h store.ConnectorHealth) healthJSON {
	millis := func(t time.Time) *int64 {
		if t.IsZero() {
			return nil
		}
		ms := t.UnixMilli()
		return &ms
	}
	return healthJSON{LastSuccessAt: millis(h.LastSuccessAt), LastFailureAt: millis(h.LastFailureAt),
		LastError: h.LastError, ConsecutiveFailures: h.ConsecutiveFailures}
}

// checkJSON is the outcome of a check made before a save that still
// saved: it passed, failed temporarily, or the connector cannot check.
type checkJSON struct {
	// Result is passed, temporary_failure or not_supported.
	Result string `json:"result"`
	// Message is the provider's (masked) answer or why there was no check.
	Message string `json:"message,omitempty"`
}

func connectorView(c connconfig.Installed) connectorJSON {
	v := connectorJSON{factoryJSON: factoryView(c.Factory), ID: c.ID, ConnectorID: c.Factory.ID, Config: c.Config,
		CreatedAt: c.CreatedAt.UnixMilli(), UpdatedAt: c.UpdatedAt.UnixMilli(), Health: healthView(c.Health)}
	if c.Check != nil {
		v.Check = &checkJSON{Result: c.Check.Result, Message: c.Check.Message}
	}
	return v
}

func (s *Server) listConnectors(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Configs.List(r.Context(), tenant.FromContext(r.Context()))
	if err != nil {
		return err
	}
	out := make([]connectorJSON, 0, len(list))
	for _, c := range list {
		out = append(out, connectorView(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getConnector(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Configs.Get(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("connector")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, connectorView(c))
	return nil
}

type createConnectorBody struct {
	ConnectorID string          `json:"connectorId"`
	Config      json.RawMessage `json:"config,omitempty"` // {} when left out
	ID          string          `json:"id,omitempty"`
}

func configOrEmpty(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return json.RawMessage("{}")
	}
	return raw
}

func (s *Server) createConnector(w http.ResponseWriter, r *http.Request) error {
	var body createConnectorBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.ConnectorID == "" {
		return invalidInput("connectorId", "is required: a factory ID from GET /api/connector-factories")
	}
	f, ok := connector.Lookup(body.ConnectorID)
	if !ok {
		return unknownFactory("connectorId", body.ConnectorID)
	}
	if body.ID != "" {
		if err := checkConnectorID(body.ID); err != nil {
			return err
		}
	}
	c, err := s.Configs.Create(r.Context(), connconfig.Save{Tenant: tenant.FromContext(r.Context()), FactoryID: f.ID, ID: body.ID,
		Config: configOrEmpty(body.Config), Check: r.URL.Query().Get("check") == "true"})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, connectorView(c))
	return nil
}

// checkConnectorID accepts a caller-chosen connector ID that a URL path
// segment can carry as is: 1-128 letters, digits, hyphens and underscores.
func checkConnectorID(id string) error {
	if len(id) > 128 {
		return invalidInput("id", "is over 128 characters")
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return invalidInput("id", "may hold only letters, digits, hyphens and underscores")
		}
	}
	return nil
}

type patchConnectorBody struct {
	Config json.RawMessage `json:"config"`
}

func (s *Server) patchConnector(w http.ResponseWriter, r *http.Request) error {
	var body patchConnectorBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if len(body.Config) == 0 {
		return invalidInput("config", "is required")
	}
	c, err := s.Configs.Update(r.Context(), connconfig.Save{Tenant: tenant.FromContext(r.Context()), ID: r.PathValue("id"),
		Config: body.Config, Check: r.URL.Query().Get("check") == "true"})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("connector")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, connectorView(c))
	return nil
}

type checkConnectorBody struct {
	Config json.RawMessage `json:"config"`
}

// checkConnector proves an unsaved config's connection and credentials
// without sending mail, and reports the provider's answer as the test
// route does.
func (s *Server) checkConnector(w http.ResponseWriter, r *http.Request) error {
	var body checkConnectorBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if len(body.Config) == 0 {
		return invalidInput("config", "is required: the config to check")
	}
	f, ok := connector.Lookup(r.PathValue("factoryId"))
	if !ok {
		return unknownFactory("factoryId", r.PathValue("factoryId"))
	}
	err := s.Codes.Check(r.Context(), sendcode.CheckRequest{Tenant: tenant.FromContext(r.Context()), FactoryID: f.ID, Config: body.Config})
	if errors.Is(err, delivery.ErrNoCheck) {
		return &Error{Status: http.StatusNotImplemented, Code: "connector.not_implemented", Message: connconfig.NoCheckMessage(f.ID)}
	}
	var se *delivery.SendError
	if errors.As(err, &se) {
		return sendError(se.Err)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteConnector(w http.ResponseWriter, r *http.Request) error {
	err := s.Tenants.DeleteConnector(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"), r.URL.Query().Get("force") == "true")
	if errors.Is(err, store.ErrNotFound) {
		return notFound("connector")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type testConnectorBody struct {
	Email  string          `json:"email"`
	Config json.RawMessage `json:"config"`
	Locale string          `json:"locale,omitempty"`
}

// testConnector sends a Generic message with code 000000 through an
// unsaved config, as Logto does, and reports the provider's answer.
func (s *Server) testConnector(w http.ResponseWriter, r *http.Request) error {
	var body testConnectorBody
	if err := decode(r, &body); err != nil {
		return err
	}
	email, err := checkEmail("email", body.Email)
	if err != nil {
		return err
	}
	if len(body.Config) == 0 {
		return invalidInput("config", "is required: the config to test")
	}
	locale, err := checkLocale("locale", body.Locale)
	if err != nil {
		return err
	}
	f, ok := connector.Lookup(r.PathValue("factoryId"))
	if !ok {
		return unknownFactory("factoryId", r.PathValue("factoryId"))
	}
	err = s.Codes.TestSend(r.Context(), sendcode.TestRequest{Tenant: tenant.FromContext(r.Context()), Email: email,
		FactoryID: f.ID, Config: body.Config, Locale: locale, Preferred: preferredLanguages(r), IP: clientIP(r), FromAdmin: true})
	// Whatever the provider answered, config errors included, is the
	// answer to a test: connector.general.
	var se *delivery.SendError
	if errors.As(err, &se) {
		return sendError(se.Err)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
