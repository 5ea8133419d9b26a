package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/authmail/authmail/internal/tenant"
)

func (s *Server) getExperience(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Tenants.Experience(r.Context(), tenant.FromContext(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// patchExperience merges the given fields into the settings. The body is
// checked (JSON, known fields, types) before the settings are read; the
// merge into the current settings, their check and the write are one
// transaction in the tenant package.
func (s *Server) patchExperience(w http.ResponseWriter, r *http.Request) error {
	var raw bytes.Buffer
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(r.Body, &raw), r.Body}
	var probe tenant.Experience
	if err := decode(r, &probe); err != nil {
		return err
	}
	e, err := s.Tenants.PatchExperience(r.Context(), tenant.FromContext(r.Context()), func(cur *tenant.Experience) error {
		return json.Unmarshal(raw.Bytes(), cur)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}
