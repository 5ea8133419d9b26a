package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
)

// lockoutJSON is a lockout in force. Times are milliseconds, as in the
// message log.
type lockoutJSON struct {
	ID        string `json:"id"`
	Scope     string `json:"scope"`
	Email     string `json:"email,omitempty"`
	IP        string `json:"ip,omitempty"`
	LockedAt  int64  `json:"lockedAt,omitempty"`
	ExpiresAt int64  `json:"expiresAt"`
}

func lockoutView(l verification.Lockout) lockoutJSON {
	v := lockoutJSON{ID: l.ID, Scope: l.Scope, Email: l.Email, IP: l.IP, ExpiresAt: l.Until.UnixMilli()}
	if !l.LockedAt.IsZero() {
		v.LockedAt = l.LockedAt.UnixMilli()
	}
	return v
}

// lockoutQuery is the lockout list's query parameters.
func lockoutQuery() []param {
	return []param{
		stringParam("email", "Only the lockouts of this address (matched in its canonical form)"),
		{name: "limit", description: "At most this many lockouts", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": 500, "default": 100}},
	}
}

// listLockouts lists the lockouts in force (Logto's sentinel blocks),
// those of one address with ?email=.
func (s *Server) listLockouts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var email *address.Address
	if v := q.Get("email"); v != "" {
		a, err := checkEmail("email", v)
		if err != nil {
			return err
		}
		email = &a
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return invalidInput("limit", "must be a number from 1 to 500")
		}
		limit = n
	}
	ls, err := s.Verification.Lockouts(r.Context(), s.Store.Reader, tenant.FromContext(r.Context()), email, limit)
	if err != nil {
		return err
	}
	out := make([]lockoutJSON, 0, len(ls))
	for _, l := range ls {
		out = append(out, lockoutView(l))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// liftLockout ends a lockout and forgets the failures it counted.
func (s *Server) liftLockout(w http.ResponseWriter, r *http.Request) error {
	err := s.Verification.Lift(r.Context(), s.Store, tenant.FromContext(r.Context()), r.PathValue("id"))
	if errors.Is(err, verification.ErrLockoutNotFound) {
		return notFound("lockout")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
