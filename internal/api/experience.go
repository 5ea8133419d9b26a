package api

import (
	"bytes"
	"io"
	"net/http"

	"github.com/authmail/authmail/internal/tenant"
)

// getExperience answers the settings in force, defaults filled in.
func (s *Server) getExperience(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Tenants.Experience(r.Context(), tenant.FromContext(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// patchExperience applies the body as a JSON merge patch: a field given
// is set, a field given as null is reset to its default. The body is
// checked (JSON, known fields, types) before the settings are read; the
// merge into the stored settings, their check and the write are one
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
	e, err := s.Tenants.PatchExperience(r.Context(), tenant.FromContext(r.Context()), raw.Bytes())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}
