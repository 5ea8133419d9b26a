package experience

import (
	"context"
	"slices"

	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
)

// rules are a tenant's sign-in experience as the flows read it.
type rules struct {
	tenant.Experience
}

// rules reads the tenant's settings in force.
func (s *Service) rules(ctx context.Context, tenantID string) (rules, error) {
	e, err := s.d.Tenants.Experience(ctx, tenantID)
	return rules{e}, err
}

// policy is the code policy, with the sentinel's lockout fields.
func (r rules) policy() verification.Policy { return r.VerificationCodePolicy }

// allows reports whether signInMode lets an interaction be for event
// (Logto's guardInteractionEvent).
func (r rules) allows(event Event) bool {
	switch event {
	case EventSignIn:
		return r.SignInAllowed()
	case EventRegister:
		return r.RegisterAllowed()
	}
	return true
}

// registrationOff reports whether nobody may sign up.
func (r rules) registrationOff() bool { return !r.RegisterAllowed() }

// signsInWith reports whether the email sign-in method takes records of
// the type.
func (r rules) signsInWith(t RecordType) bool {
	m, ok := r.SignInMethod(tenant.IdentifierEmail)
	return ok && ((t == RecordPassword && m.Password) || (t == RecordEmailCode && m.VerificationCode))
}

// resetsByEmail reports whether a password may be reset by email code.
func (r rules) resetsByEmail() bool { return r.ForgotPasswordByEmail() }

// have is what a new or signing-in user has toward the mandatory profile.
type have struct {
	email, username, password bool
}

// missing lists the profile sign-up requires (tenant.Experience's
// MandatoryProfile) that is not there, in Logto's names
// (user.missing_profile's data.missingProfile).
func (r rules) missing(h have) []string {
	var out []string
	for _, item := range r.MandatoryProfile() {
		switch item {
		case tenant.ProfileEmail, "emailOrPhone":
			if !h.email && !slices.Contains(out, item) {
				out = append(out, item)
			}
		case tenant.ProfileUsername:
			if !h.username {
				out = append(out, item)
			}
		case tenant.ProfilePassword:
			if !h.password {
				out = append(out, item)
			}
		}
	}
	return out
}
