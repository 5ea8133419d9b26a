package experience

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
)

// Email as a second factor (reference §5). Where the sign-in experience
// lists the email code in mfa.factors, a SignIn's Submit asks the
// identified user for a code sent to their primary email
// (session.mfa.require_mfa_verification) when the user has the factor:
// every user with a primary email, as Logto's implicit factor, except
// under the UserControlled policy, where only users who bound it (BindMfa)
// have it. SendMfaCode mails the code (MfaVerification, or BindMfa to a
// user binding it), VerifyMfaCode checks it, and BindMfa binds the factor;
// the code's proof is consumed by the Submit it unlocks.

// RecordMfaEmailCode is a second-factor code sent to the identified
// user's email (Logto's MfaEmailVerificationCode).
const RecordMfaEmailCode RecordType = "MfaEmailVerificationCode"

// AMRMFA is the amr (RFC 8176) of a sign-in with a second factor.
const AMRMFA = "mfa"

// The MFA refusals, Logto's session.mfa.* codes.
var (
	ErrMfaFactorNotEnabled = newError(http.StatusBadRequest, "session.mfa.mfa_factor_not_enabled",
		"MFA factor is not enabled.")
	ErrBindMfaExisted = newError(http.StatusBadRequest, "session.mfa.bind_mfa_existed", "MFA already exists.")
	// ErrMfaRequired is made per use, with the factors and the masked
	// address in its data (mfaRequired).
	ErrMfaRequired = newError(http.StatusForbidden, "session.mfa.require_mfa_verification",
		"MFA verification is required to sign in.")
	// errMfaNotIdentified is session.identifier_not_found for an MFA code
	// asked for before identification: 400, as Logto's.
	errMfaNotIdentified = &Error{Status: http.StatusBadRequest, Code: ErrIdentifierNotFound.Code, Message: ErrIdentifierNotFound.Message}
)

// mfaState is a second factor bound in the interaction, written at
// Submit: the verified address and the proof of the code that bound it.
type mfaState struct {
	BindEmail string `json:"bindEmail,omitempty"`
	BindProof string `json:"bindProof,omitempty"`
	BindUsage string `json:"bindUsage,omitempty"`
}

// MaskEmail masks an address as Logto's maskEmail: the first four
// characters of the local part are kept when it is longer than four,
// none otherwise ("abcd****@example.com").
func MaskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok {
		return email
	}
	kept := ""
	if r := []rune(local); len(r) > 4 {
		kept = string(r[:4])
	}
	return kept + "****@" + domain
}

// mfaRequired is ErrMfaRequired with Logto's data: the factors on offer
// and the masked address the code goes to.
func mfaRequired(email string) *Error {
	return ErrMfaRequired.with(map[string]any{"availableFactors": []string{tenant.MfaEmailCode},
		"maskedIdentifiers": map[string]string{tenant.MfaEmailCode: MaskEmail(email)}})
}

// hasMfa reports whether the user has the email factor: it is enabled,
// the user has a primary email, and either the policy is not
// UserControlled (Logto's implicit factor) or the user bound it.
func (r rules) hasMfa(u identity.User, factors []identity.MFAFactor) bool {
	if !r.MfaByEmail() || u.PrimaryEmail == "" {
		return false
	}
	return r.Mfa.Policy != tenant.MfaUserControlled || identity.HasMFAFactor(factors, identity.MFAEmailCode)
}

// mfaUser is the interaction's identified user with their factors.
func (s *Service) mfaUser(ctx context.Context, tenantID string, in *interaction) (identity.User, []identity.MFAFactor, error) {
	u, err := s.d.Users.Get(ctx, tenantID, in.st.UserID)
	if errors.Is(err, identity.ErrUserNotFound) {
		return identity.User{}, nil, ErrIdentifierNotFound
	}
	if err != nil {
		return identity.User{}, nil, err
	}
	factors, err := s.d.Users.MFAFactors(ctx, tenantID, u.ID)
	if errors.Is(err, identity.ErrUserNotFound) {
		return identity.User{}, nil, ErrIdentifierNotFound
	}
	return u, factors, err
}

// MfaCodeSent is what SendMfaCode answers.
type MfaCodeSent struct {
	CodeSent
	// Binding says the code is to bind the factor (BindMfa), the user not
	// having it yet; otherwise it verifies it.
	Binding bool `json:"-"`
}

// SendMfaCode mails a second-factor code to the identified user's primary
// email (POST /api/experience/verification/mfa-verification-code): the
// client never names the address. The template is MfaVerification for a
// user who has the factor, BindMfa for one who may bind it (the
// UserControlled policy). Nobody identified is 400
// session.identifier_not_found; the factor off, or a user without an
// email, ErrMfaFactorNotEnabled.
func (s *Service) SendMfaCode(ctx context.Context, c Caller, identifierType string) (MfaCodeSent, error) {
	in, err := s.begun(ctx, c)
	if err != nil {
		return MfaCodeSent{}, err
	}
	if identifierType != "email" {
		return MfaCodeSent{}, invalidInput("identifierType", "must be email")
	}
	if in.st.Event == EventForgotPassword {
		return MfaCodeSent{}, ErrNotForForgotPassword
	}
	if in.st.UserID == "" {
		return MfaCodeSent{}, errMfaNotIdentified
	}
	r, err := s.rules(ctx, c.Tenant)
	if err != nil {
		return MfaCodeSent{}, err
	}
	u, factors, err := s.mfaUser(ctx, c.Tenant, in)
	if err != nil {
		return MfaCodeSent{}, err
	}
	if !r.MfaByEmail() || u.PrimaryEmail == "" {
		return MfaCodeSent{}, ErrMfaFactorNotEnabled
	}
	to, err := address.Parse(u.PrimaryEmail)
	if err != nil {
		return MfaCodeSent{}, err
	}
	binding := !r.hasMfa(u, factors)
	usage := connector.UsageMfaVerification
	if binding {
		usage = connector.UsageBindMfa
	}
	payload := s.payload(ctx, in.req, c)
	payload["user"] = map[string]any{"id": u.ID, "name": u.Name, "username": u.Username, "primaryEmail": u.PrimaryEmail}
	req := sendcode.Request{Tenant: c.Tenant, Email: to, Usage: usage, Preferred: s.languages(in.req, c), Payload: payload, IP: c.IP}
	if err := s.d.Codes.SendCode(ctx, req); err != nil {
		return MfaCodeSent{}, err
	}
	rec := &record{ID: newSecret(), Type: RecordMfaEmailCode, Email: to.String(), Usage: string(usage), UserID: u.ID}
	if err := s.update(ctx, c, func(_ *store.Tx, in *interaction) error {
		if in.st.UserID != u.ID {
			return ErrIdentityConflict
		}
		in.st.putRecord(rec)
		return nil
	}); err != nil {
		return MfaCodeSent{}, err
	}
	return MfaCodeSent{CodeSent: CodeSent{VerificationID: rec.ID, ResendAfter: r.policy().ResendCooldown}, Binding: binding}, nil
}

// VerifyMfaCode checks the code of the interaction's second-factor code
// record (POST .../mfa-verification-code/verify) and returns its
// verificationId, now verified; errors as VerifyCode's.
func (s *Service) VerifyMfaCode(ctx context.Context, c Caller, verificationID, code, identifierType string) (string, error) {
	in, err := s.begun(ctx, c)
	if err != nil {
		return "", err
	}
	if identifierType != "" && identifierType != "email" {
		return "", invalidInput("identifierType", "must be email")
	}
	if code == "" || len(code) > 32 {
		return "", invalidInput("code", "must be the code from the email")
	}
	rec := in.st.Records[RecordMfaEmailCode]
	if rec == nil || !sameSecret(rec.ID, verificationID) {
		return "", ErrVerificationNotFound
	}
	return s.verifyRecord(ctx, c, in, rec, code)
}

// MfaInput is POST /api/experience/profile/mfa: the factor's type (only
// EmailVerificationCode) and the verified code record that proves the
// address.
type MfaInput struct {
	Type           string
	VerificationID string
}

// BindMfa binds the email factor to the identified user (POST
// /api/experience/profile/mfa), written at Submit, which then asks for no
// other code: the record is a verified second-factor code
// (SendMfaCode) or email code record for the user's primary email, or,
// for a user without one, an address no user has, which becomes it (as
// Logto's binding adds the primary email). Nobody identified is
// ErrIdentifierNotFound; the factor off ErrMfaFactorNotEnabled; a user who
// bound it already ErrBindMfaExisted.
func (s *Service) BindMfa(ctx context.Context, c Caller, m MfaInput) error {
	in, err := s.begun(ctx, c)
	if err != nil {
		return err
	}
	if in.st.Event == EventForgotPassword {
		return ErrNotForForgotPassword
	}
	if m.Type != tenant.MfaEmailCode {
		return ErrMfaFactorNotEnabled
	}
	if in.st.UserID == "" {
		return ErrIdentifierNotFound
	}
	r, err := s.rules(ctx, c.Tenant)
	if err != nil {
		return err
	}
	if !r.MfaByEmail() {
		return ErrMfaFactorNotEnabled
	}
	rec := in.st.recordByID(m.VerificationID)
	if rec == nil {
		return ErrVerificationNotFound
	}
	if (rec.Type != RecordMfaEmailCode && rec.Type != RecordEmailCode) || !rec.Verified {
		return ErrVerificationFailed
	}
	u, factors, err := s.mfaUser(ctx, c.Tenant, in)
	if err != nil {
		return err
	}
	if identity.HasMFAFactor(factors, identity.MFAEmailCode) {
		return ErrBindMfaExisted
	}
	switch {
	case u.PrimaryEmail == "":
		if err := s.unused(ctx, c.Tenant, rec.Email); err != nil {
			return err
		}
	case rec.Email != u.PrimaryEmail:
		return ErrEmailMismatch
	}
	return s.update(ctx, c, func(_ *store.Tx, in *interaction) error {
		cur := in.st.recordByID(m.VerificationID)
		if cur == nil || cur.ID != rec.ID || in.st.UserID != u.ID {
			return ErrVerificationNotFound // replaced or used meanwhile
		}
		in.st.Mfa = mfaState{BindEmail: cur.Email, BindProof: cur.Proof, BindUsage: cur.Usage}
		delete(in.st.Records, cur.Type)
		return nil
	})
}

// mfaPlan is what Submit does about the second factor: consume the proof
// of the code that verified or bound it, bind it, or nothing.
type mfaPlan struct {
	proof, usage string
	// recordID is the verifying record's ID (bind: "").
	recordID string
	// bind is the address of a factor bound in the interaction, setEmail
	// whether it becomes the user's primary email.
	bind     string
	setEmail bool
	// verifyEmail says the code proved the user's primary email, which was
	// not proved yet.
	verifyEmail bool
}

// planMfa decides what Submit does about the second factor for user u:
// a bound factor is written; a SignIn of a user who has the factor needs
// a verified second-factor code for the user's address (mfaRequired
// otherwise).
func (s *Service) planMfa(ctx context.Context, tenantID string, in *interaction, r rules, u identity.User) (mfaPlan, error) {
	if b := in.st.Mfa; b.BindEmail != "" {
		return mfaPlan{proof: b.BindProof, usage: b.BindUsage, bind: b.BindEmail, setEmail: u.PrimaryEmail == "", verifyEmail: !u.EmailVerified}, nil
	}
	if in.st.Event != EventSignIn || !r.MfaByEmail() {
		return mfaPlan{}, nil
	}
	factors, err := s.d.Users.MFAFactors(ctx, tenantID, u.ID)
	if err != nil {
		return mfaPlan{}, err
	}
	if !r.hasMfa(u, factors) {
		return mfaPlan{}, nil
	}
	rec := in.st.Records[RecordMfaEmailCode]
	if rec == nil || !rec.Verified || rec.Email != u.PrimaryEmail || rec.UserID != u.ID {
		return mfaPlan{}, mfaRequired(u.PrimaryEmail)
	}
	return mfaPlan{proof: rec.Proof, usage: rec.Usage, recordID: rec.ID, verifyEmail: !u.EmailVerified}, nil
}

// applyMfa carries out the plan inside Submit's transaction: the proof is
// consumed, the primary email marked proved (or set, by a binding for a
// user without one), a bound factor written, and the sign-in's methods
// gain otp and mfa.
func (s *Service) applyMfa(ctx context.Context, tx *store.Tx, tenantID, userID string, in *interaction, p mfaPlan) error {
	if p.proof == "" && p.bind == "" {
		return nil
	}
	if p.recordID != "" {
		if cur := in.st.Records[RecordMfaEmailCode]; cur == nil || cur.ID != p.recordID {
			return store.ErrConflict // replaced meanwhile
		}
	} else if in.st.Mfa.BindProof != p.proof {
		return store.ErrConflict
	}
	if err := s.consume(ctx, tx, tenantID, p.proof, p.usage); err != nil {
		return err
	}
	if p.setEmail || p.verifyEmail {
		// The code proved the address (and, for a user without one, makes
		// it theirs).
		verified := true
		patch := identity.Patch{EmailVerified: &verified}
		if p.setEmail {
			patch.PrimaryEmail = &p.bind
		}
		if _, err := s.d.Users.UpdateIn(ctx, tx, tenantID, userID, patch); err != nil {
			return userConflict(err)
		}
	}
	if p.bind != "" {
		if _, _, err := s.d.Users.AddMFAFactor(ctx, tx, tenantID, userID, identity.MFAEmailCode); err != nil {
			return err
		}
	}
	in.st.addAMR(RecordEmailCode)
	if !slices.Contains(in.st.AMR, AMRMFA) {
		in.st.AMR = append(in.st.AMR, AMRMFA)
	}
	return nil
}
