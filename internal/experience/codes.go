package experience

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"golang.org/x/text/language"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/verification"
)

// emailPattern and maxEmail are Logto's identifier guard
// (verificationCodeIdentifierGuard).
var emailPattern = regexp.MustCompile(`^\S+@\S+\.\S+$`)

const maxEmail = 256

// checkIdentifier validates an email identifier and returns its canonical
// form (package address).
func checkIdentifier(id Identifier) (address.Address, error) {
	if id.Type != "email" {
		return address.Address{}, invalidInput("identifier.type", "must be email")
	}
	if len(id.Value) > maxEmail || !emailPattern.MatchString(id.Value) {
		return address.Address{}, invalidInput("identifier.value", "must be an email address of at most 256 characters")
	}
	a, err := address.Parse(id.Value)
	var ae *address.Error
	if errors.As(err, &ae) {
		return address.Address{}, invalidInput("identifier.value", ae.Reason)
	}
	return a, err
}

// usageOf is the template (and code usage type) of a code sent for event.
func usageOf(e Event) connector.UsageType {
	switch e {
	case EventRegister:
		return connector.UsageRegister
	case EventForgotPassword:
		return connector.UsageForgotPassword
	}
	return connector.UsageSignIn
}

// CodeSent is what SendCode answers.
type CodeSent struct {
	// VerificationID names the new record; the previous code record of
	// the interaction is replaced.
	VerificationID string `json:"verificationId"`
	// ResendAfter is how many seconds until another code may be sent to
	// the address for the event (the server's resend cooldown), 0 when it
	// may be at once. Sending sooner is 429 verification_code.resend_too_soon.
	ResendAfter int `json:"resendAfter"`
}

// SendCode mails a code to the identifier for event (POST
// /api/experience/verification/verification-code): event picks the
// template (SignIn, Register or ForgotPassword) and is not checked against
// the interaction's. The email's locale follows ui_locales, then the
// caller's Accept-Language, then the fallback language; its payload has
// uiLocales, the application and the caller's IP.
//
// An address that must not learn whether it has an account gets the same
// answer either way: for ForgotPassword, and for SignIn while registration
// is off and nobody is identified yet, a code to an address no user has is
// issued, counted and rendered but not delivered (a later verify is
// verification_code.code_mismatch), and the first delivery attempt of the
// others runs after the answer, so its time says nothing either.
func (s *Service) SendCode(ctx context.Context, c Caller, id Identifier, event Event) (CodeSent, error) {
	in, err := s.begun(ctx, c)
	if err != nil {
		return CodeSent{}, err
	}
	if !event.valid() {
		return CodeSent{}, invalidInput("interactionEvent", "must be SignIn, Register or ForgotPassword")
	}
	to, err := checkIdentifier(id)
	if err != nil {
		return CodeSent{}, err
	}
	r, err := s.rules(ctx, c.Tenant)
	if err != nil {
		return CodeSent{}, err
	}
	req := sendcode.Request{Tenant: c.Tenant, Email: to, Usage: usageOf(event), Preferred: s.languages(in.req, c),
		Payload: s.payload(ctx, in.req, c), IP: c.IP}
	// Logto's shouldSkipDelivery.
	if event == EventForgotPassword || (event == EventSignIn && in.st.UserID == "" && r.registrationOff()) {
		req.Detach = true
		_, err := s.d.Users.FindByEmail(ctx, c.Tenant, to)
		switch {
		case errors.Is(err, identity.ErrUserNotFound):
			req.Suppress = true
		case err != nil:
			return CodeSent{}, err
		}
	}
	rec := &record{ID: newSecret(), Type: RecordEmailCode, Email: to.String(), Usage: string(req.Usage)}
	if r.linksFor(req.Usage) {
		req.Link = s.magicLink(c.Tenant, in.hash, rec.ID, to, req.Usage)
	}
	if err := s.d.Codes.SendCode(ctx, req); err != nil {
		return CodeSent{}, err
	}
	if err := s.update(ctx, c, func(_ *store.Tx, in *interaction) error {
		if in.st.Event == "" {
			return ErrInteractionNotFound
		}
		in.st.putRecord(rec)
		return nil
	}); err != nil {
		return CodeSent{}, err
	}
	return CodeSent{VerificationID: rec.ID, ResendAfter: r.policy().ResendCooldown}, nil
}

// languages are the languages a message to the caller is in, best first:
// ui_locales, then Accept-Language.
func (s *Service) languages(req AuthRequest, c Caller) []language.Tag {
	var out []language.Tag
	for _, l := range req.UILocales {
		if t, err := language.Parse(l); err == nil {
			out = append(out, t)
		}
	}
	return append(out, c.Languages...)
}

// payload is what a code's email says about the request, as Logto's
// experience sends: uiLocales, the application and the client's IP.
func (s *Service) payload(ctx context.Context, req AuthRequest, c Caller) map[string]any {
	p := map[string]any{}
	if len(req.UILocales) > 0 {
		p["uiLocales"] = strings.Join(req.UILocales, " ")
	}
	if c.IP != "" {
		p["ip"] = c.IP
	}
	// Only a named application: the templates fall back to a line without
	// {{application.name}} when there is none.
	if s.d.AppName != nil && req.ClientID != "" {
		name, err := s.d.AppName(ctx, c.Tenant, req.ClientID)
		if err != nil {
			s.d.Logger.WarnContext(ctx, "no application name for the email", "clientId", req.ClientID, "err", err)
		} else if name != "" {
			p["application"] = map[string]any{"id": req.ClientID, "name": name}
		}
	}
	return p
}

// VerifyCode checks the code of the interaction's code record (POST
// /api/experience/verification/verification-code/verify) and returns its
// verificationId, now verified. A record that is not the interaction's
// latest code record is ErrVerificationNotFound; a wrong, expired or used
// up code is package verification's error, and a locked-out address or
// client is ErrBlocked with the time left.
func (s *Service) VerifyCode(ctx context.Context, c Caller, id Identifier, verificationID, code string) (string, error) {
	in, err := s.begun(ctx, c)
	if err != nil {
		return "", err
	}
	to, err := checkIdentifier(id)
	if err != nil {
		return "", err
	}
	if code == "" || len(code) > 32 {
		return "", invalidInput("code", "must be the code from the email")
	}
	rec := in.st.Records[RecordEmailCode]
	if rec == nil || !sameSecret(rec.ID, verificationID) {
		return "", ErrVerificationNotFound
	}
	if rec.Email != to.String() {
		return "", ErrEmailMismatch
	}
	return s.verifyRecord(ctx, c, in, rec, code)
}

// verifyRecord checks the code of a code record (of any type) and marks
// the record verified, with the verification record the code became as
// its proof.
func (s *Service) verifyRecord(ctx context.Context, c Caller, in *interaction, rec *record, code string) (string, error) {
	to, err := address.Parse(rec.Email)
	if err != nil {
		return "", err
	}
	r, err := s.rules(ctx, c.Tenant)
	if err != nil {
		return "", err
	}
	proof, err := s.d.Verification.VerifyRecord(ctx, s.d.Store, c.Tenant, to, rec.Usage, code, c.IP, r.policy())
	if err != nil {
		return "", s.blocked(err, in.req, c)
	}
	err = s.update(ctx, c, func(tx *store.Tx, in *interaction) error {
		cur := in.st.Records[rec.Type]
		if cur == nil || cur.ID != rec.ID {
			return ErrVerificationNotFound // replaced meanwhile
		}
		cur.Verified, cur.Proof = true, proof.ID
		// The code is used: its magic link goes with it.
		return tx.MagicLinkRetire(ctx, c.Tenant, in.hash, s.d.Now())
	})
	if err != nil {
		return "", err
	}
	return rec.ID, nil
}

// blocked turns a lockout into Logto's answer, ErrBlocked with the time
// left (data.relativeTime in the caller's language, as Logto formats it
// with the request's languages); other errors pass.
func (s *Service) blocked(err error, req AuthRequest, c Caller) error {
	return Blocked(err, s.languages(req, c))
}

// ParseIdentifier validates an email identifier as the experience's steps
// do (guard.invalid_input naming identifier.type or identifier.value) and
// returns its canonical form, for the account API's steps.
func ParseIdentifier(id Identifier) (address.Address, error) { return checkIdentifier(id) }

// Blocked turns a lockout of package verification into Logto's answer,
// ErrBlocked with the time left in the languages given; other errors pass.
func Blocked(err error, languages []language.Tag) error {
	var ve *verification.Error
	if !errors.As(err, &ve) || !errors.Is(err, verification.ErrIdentifierLock) {
		return err
	}
	out := *ErrBlocked
	out.Message = "Too many attempts in a short time. Please try again " + relativeTime(ve.RetryAfter, nil) + "."
	out.Data = map[string]any{"relativeTime": relativeTime(ve.RetryAfter, languages), "retryAfter": int(ve.RetryAfter.Seconds())}
	out.RetryAfter = ve.RetryAfter
	return &out
}
