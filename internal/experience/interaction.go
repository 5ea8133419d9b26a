package experience

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/store"
)

// state is what an interaction has gathered, sealed at rest.
type state struct {
	Event  Event  `json:"event,omitempty"`
	UserID string `json:"userId,omitempty"`
	// Records holds at most one verification record per type: a new one
	// replaces the old.
	Records map[RecordType]*record `json:"records,omitempty"`
	Profile profile                `json:"profile,omitzero"`
	// AMR lists how the identified user proved who they are.
	AMR []string `json:"amr,omitempty"`
	// Mfa is a second factor bound in the interaction (BindMfa).
	Mfa mfaState `json:"mfa,omitzero"`
}

// record is a verification record of the interaction.
type record struct {
	// ID is the verificationId the client presents.
	ID   string     `json:"id"`
	Type RecordType `json:"type"`
	// Email is the address, in canonical form.
	Email    string `json:"email"`
	Verified bool   `json:"verified"`
	// Usage is the usage type of a code record's code; Proof the
	// verification record (package verification) its verified code became,
	// consumed by the write it unlocks.
	Usage string `json:"usage,omitempty"`
	Proof string `json:"proof,omitempty"`
	// UserID is the user a password record's password is of.
	UserID string `json:"userId,omitempty"`
}

// profile is what the user gave toward the profile sign-up requires.
type profile struct {
	// Email is a verified address (canonical), with the proof and usage of
	// the code that verified it.
	Email      string `json:"email,omitempty"`
	EmailProof string `json:"emailProof,omitempty"`
	EmailUsage string `json:"emailUsage,omitempty"`
	Username   string `json:"username,omitempty"`
	// PasswordDigest is the chosen password's argon2id digest.
	PasswordDigest string `json:"passwordDigest,omitempty"`
}

// interaction is a loaded interaction.
type interaction struct {
	tenant string
	hash   string
	row    store.Interaction
	req    AuthRequest
	st     state
	// remove, set by a step, deletes the interaction instead of saving it.
	remove bool
}

func stateAAD(tenant, hash string) string { return "interaction\x00" + tenant + "\x00" + hash }

// load reads the caller's interaction through r: ErrSessionNotFound when
// there is no cookie, or no live interaction has it.
func (s *Service) load(ctx context.Context, r store.Reader, c Caller) (*interaction, error) {
	if c.Interaction == "" || len(c.Interaction) > 128 {
		return nil, ErrSessionNotFound
	}
	h := s.hash(c.Tenant, purposeInteraction, c.Interaction)
	row, err := r.InteractionGet(ctx, c.Tenant, h, s.d.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSessionNotFound
	}
	if err != nil {
		return nil, err
	}
	in := &interaction{tenant: c.Tenant, hash: h, row: row}
	if err := json.Unmarshal([]byte(row.Request), &in.req); err != nil {
		return nil, fmt.Errorf("interaction: stored request: %w", err)
	}
	if in.req.Direct != c.Bearer {
		// A browser's interaction answers only to its cookie, an app's
		// only to its interaction token.
		return nil, ErrSessionNotFound
	}
	raw, err := s.d.Keys.Open(row.State, stateAAD(c.Tenant, h))
	if err != nil {
		return nil, fmt.Errorf("interaction: opening its state: %w", err)
	}
	if err := json.Unmarshal(raw, &in.st); err != nil {
		return nil, fmt.Errorf("interaction: stored state: %w", err)
	}
	return in, nil
}

// begun loads the caller's interaction and requires an event (PUT
// /api/experience): ErrInteractionNotFound otherwise.
func (s *Service) begun(ctx context.Context, c Caller) (*interaction, error) {
	in, err := s.open(ctx, c)
	if err != nil {
		return nil, err
	}
	if in.st.Event == "" {
		return nil, ErrInteractionNotFound
	}
	return in, nil
}

// keep is a step's refusal that still saves what the step changed (a
// sign-up's verified email, saved before user.missing_profile).
type keep struct{ err error }

func (k keep) Error() string { return k.err.Error() }

// update runs fn on the caller's interaction inside a transaction that
// holds it, then saves (or deletes) it. Steps of one interaction run one
// at a time: each reads the state another committed. fn returning an
// error rolls everything back, unless it is a keep, whose inner error is
// returned after the commit.
func (s *Service) update(ctx context.Context, c Caller, fn func(tx *store.Tx, in *interaction) error) error {
	var kept error
	err := s.d.Store.InTx(ctx, func(tx *store.Tx) error {
		kept = nil
		if c.Interaction == "" || len(c.Interaction) > 128 {
			return ErrSessionNotFound
		}
		if err := tx.LockKey(ctx, "interaction\x00"+c.Tenant+"\x00"+s.hash(c.Tenant, purposeInteraction, c.Interaction)); err != nil {
			return err
		}
		in, err := s.load(ctx, tx.Reader, c)
		if err != nil {
			return err
		}
		err = fn(tx, in)
		var k keep
		if errors.As(err, &k) {
			kept, err = k.err, nil
		}
		if err != nil {
			return err
		}
		if in.remove {
			return tx.InteractionDelete(ctx, in.tenant, in.hash)
		}
		return s.save(ctx, tx, in)
	})
	if err != nil {
		return err
	}
	return kept
}

// save seals and writes the interaction's state.
func (s *Service) save(ctx context.Context, w *store.Tx, in *interaction) error {
	b, err := json.Marshal(in.st)
	if err != nil {
		return fmt.Errorf("interaction: encoding its state: %w", err)
	}
	return w.InteractionSetState(ctx, in.tenant, in.hash, s.d.Keys.Seal(b, stateAAD(in.tenant, in.hash)), s.d.Now())
}

// StartResult is what Start tells the OIDC provider to do.
type StartResult struct {
	// InteractionCookie is the _interaction cookie to set
	// (SetInteractionCookie); "" when the request completed at once.
	InteractionCookie string
	// RedirectTo is where the browser goes: a hosted page (SignInPage,
	// RegisterPage or ForgotPasswordPage under the public URL), or the
	// Completer's URL when the browser's sign-in session completed the
	// request.
	RedirectTo string
}

// Start begins an interaction for an authorization request. When the
// browser has a live sign-in session (sessionCookie, its _session cookie)
// whose user may still sign in, and prompt is not "login", the request is
// completed at once with that session's login and no interaction is made.
// prompt=none without such a session is ErrLoginRequired.
func (s *Service) Start(ctx context.Context, tenant string, req AuthRequest, sessionCookie string) (StartResult, error) {
	if req.ID == "" {
		return StartResult{}, errors.New("starting an interaction: the authorization request has no ID")
	}
	if !req.prompts("login") && sessionCookie != "" {
		login, ok, err := s.sessionLogin(ctx, tenant, sessionCookie)
		if err != nil {
			return StartResult{}, err
		}
		if ok {
			if s.d.Completer == nil {
				return StartResult{}, ErrNoCompleter
			}
			to, err := s.d.Completer.Complete(ctx, tenant, req.ID, login)
			if err != nil {
				return StartResult{}, err
			}
			return StartResult{RedirectTo: to}, nil
		}
	}
	if req.prompts("none") {
		return StartResult{}, ErrLoginRequired
	}
	cookie, _, err := s.newInteraction(ctx, tenant, req)
	if err != nil {
		return StartResult{}, err
	}
	page := SignInPage
	switch req.FirstScreen {
	case "register":
		page = RegisterPage
	case "reset_password":
		page = ForgotPasswordPage
	}
	return StartResult{InteractionCookie: cookie, RedirectTo: s.page(page)}, nil
}

// newInteraction writes a fresh interaction for req and returns its
// secret (the cookie's value, or an app's interaction token), of which
// only the keyed hash is stored, and when it expires.
func (s *Service) newInteraction(ctx context.Context, tenant string, req AuthRequest) (string, time.Time, error) {
	reqJSON, err := json.Marshal(req)
	if err != nil {
		return "", time.Time{}, err
	}
	secret := newSecret()
	h := s.hash(tenant, purposeInteraction, secret)
	st, err := json.Marshal(state{})
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.d.Now()
	expires := now.Add(InteractionTTL)
	err = s.d.Store.WriteQ().InteractionInsert(ctx, store.Interaction{TenantID: tenant, IDHash: h, AuthRequestID: req.ID,
		Request: string(reqJSON), State: s.d.Keys.Seal(st, stateAAD(tenant, h)), CreatedAt: now, UpdatedAt: now, ExpiresAt: expires})
	if err != nil {
		return "", time.Time{}, err
	}
	return secret, expires, nil
}

// sessionLogin is the login of a live sign-in session whose user exists
// and is not suspended.
func (s *Service) sessionLogin(ctx context.Context, tenant, cookie string) (Login, bool, error) {
	if len(cookie) > 128 {
		return Login{}, false, nil
	}
	sess, err := s.d.Store.SessionGet(ctx, tenant, s.hash(tenant, purposeSession, cookie), s.d.Now())
	if errors.Is(err, store.ErrNotFound) {
		return Login{}, false, nil
	}
	if err != nil {
		return Login{}, false, err
	}
	u, err := s.d.Users.Get(ctx, tenant, sess.UserID)
	if errors.Is(err, identity.ErrUserNotFound) {
		return Login{}, false, nil
	}
	if err != nil {
		return Login{}, false, err
	}
	if u.IsSuspended {
		return Login{}, false, nil
	}
	login := Login{UserID: u.ID, AuthTime: sess.AuthTime}
	if err := json.Unmarshal([]byte(sess.AMR), &login.AMR); err != nil {
		return Login{}, false, fmt.Errorf("sign-in session: stored amr: %w", err)
	}
	return login, true, nil
}

// EndSession ends the sign-in session the _session cookie names (for the
// OIDC provider's end-session endpoint); no session is no error.
func (s *Service) EndSession(ctx context.Context, tenant, sessionCookie string) error {
	if sessionCookie == "" || len(sessionCookie) > 128 {
		return nil
	}
	return s.d.Store.WriteQ().SessionDelete(ctx, tenant, s.hash(tenant, purposeSession, sessionCookie))
}

// checkEvent refuses an event that is not one, or that signInMode does not
// allow.
func checkEvent(r rules, event Event) error {
	if !event.valid() {
		return invalidInput("interactionEvent", "must be SignIn, Register or ForgotPassword")
	}
	if !r.allows(event) {
		return ErrForbidden
	}
	return nil
}

// SetEvent starts the flow over for event (PUT /api/experience): the
// interaction's earlier state is dropped. SignIn is ErrForbidden when
// signInMode is Register, and Register when it is SignIn.
func (s *Service) SetEvent(ctx context.Context, c Caller, event Event) error {
	if _, err := s.open(ctx, c); err != nil {
		return err
	}
	r, err := s.rules(ctx, c.Tenant)
	if err != nil {
		return err
	}
	if err := checkEvent(r, event); err != nil {
		return err
	}
	return s.update(ctx, c, func(_ *store.Tx, in *interaction) error {
		in.st = state{Event: event}
		return nil
	})
}

// SwitchEvent changes the event between SignIn and Register (PUT
// /api/experience/interaction-event), keeping the verification records and
// dropping the profile when the event changes. ForgotPassword cannot be
// switched to or from (ErrNotForForgotPassword); signInMode applies as for
// SetEvent.
func (s *Service) SwitchEvent(ctx context.Context, c Caller, event Event) error {
	in, err := s.begun(ctx, c)
	if err != nil {
		return err
	}
	if !event.valid() {
		return invalidInput("interactionEvent", "must be SignIn, Register or ForgotPassword")
	}
	if (event == EventForgotPassword || in.st.Event == EventForgotPassword) && event != in.st.Event {
		return ErrNotForForgotPassword
	}
	r, err := s.rules(ctx, c.Tenant)
	if err != nil {
		return err
	}
	if err := checkEvent(r, event); err != nil {
		return err
	}
	return s.update(ctx, c, func(_ *store.Tx, in *interaction) error {
		if in.st.Event == "" {
			return ErrInteractionNotFound
		}
		if in.st.Event != event {
			in.st.Profile = profile{}
		}
		in.st.Event = event
		return nil
	})
}

// View is an interaction as GET /api/experience/interaction shows it:
// Logto's sanitized state, with no proof or password digest.
type View struct {
	InteractionEvent    Event        `json:"interactionEvent"`
	UserID              string       `json:"userId,omitempty"`
	Profile             ProfileView  `json:"profile"`
	VerificationRecords []RecordView `json:"verificationRecords"`
	// Request is the authorization request the interaction is for (for
	// the hosted pages: the login hint, the languages, the first screen).
	Request AuthRequest `json:"-"`
	// ExpiresAt is when the interaction ends.
	ExpiresAt time.Time `json:"-"`
}

// ProfileView is the profile gathered so far.
type ProfileView struct {
	PrimaryEmail string `json:"primaryEmail,omitempty"`
	Username     string `json:"username,omitempty"`
	// HasPassword says a password was chosen (never which).
	HasPassword bool `json:"hasPassword,omitempty"`
}

// RecordView is a verification record.
type RecordView struct {
	ID         string     `json:"id"`
	Type       RecordType `json:"type"`
	Identifier Identifier `json:"identifier"`
	Verified   bool       `json:"verified"`
}

// Identifier is Logto's {type, value} identifier; type is "email".
type Identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Interaction returns the caller's interaction (GET
// /api/experience/interaction); ErrInteractionNotFound before SetEvent.
func (s *Service) Interaction(ctx context.Context, c Caller) (View, error) {
	in, err := s.begun(ctx, c)
	if err != nil {
		return View{}, err
	}
	v := View{InteractionEvent: in.st.Event, UserID: in.st.UserID, Request: in.req, ExpiresAt: in.row.ExpiresAt,
		Profile:             ProfileView{PrimaryEmail: in.st.Profile.Email, Username: in.st.Profile.Username, HasPassword: in.st.Profile.PasswordDigest != ""},
		VerificationRecords: []RecordView{}}
	for _, t := range []RecordType{RecordEmailCode, RecordPassword, RecordMfaEmailCode} {
		if r := in.st.Records[t]; r != nil {
			v.VerificationRecords = append(v.VerificationRecords, RecordView{ID: r.ID, Type: r.Type,
				Identifier: Identifier{Type: "email", Value: r.Email}, Verified: r.Verified})
		}
	}
	return v, nil
}

// Request returns the authorization request the caller's interaction is
// for, whatever step it is at (for a hosted page: the login hint, the
// languages, the first screen); ErrSessionNotFound without one.
func (s *Service) Request(ctx context.Context, c Caller) (AuthRequest, error) {
	in, err := s.open(ctx, c)
	if err != nil {
		return AuthRequest{}, err
	}
	return in.req, nil
}

// recordByID finds the interaction's record with the ID, of any type.
func (st *state) recordByID(id string) *record {
	for _, r := range st.Records {
		if sameSecret(r.ID, id) {
			return r
		}
	}
	return nil
}

// putRecord stores r, replacing the record of its type.
func (st *state) putRecord(r *record) {
	if st.Records == nil {
		st.Records = map[RecordType]*record{}
	}
	st.Records[r.Type] = r
}

// SessionUser returns the user of a live sign-in session (the _session
// cookie's value) whose user exists and is not suspended; ok is false when
// there is none.
func (s *Service) SessionUser(ctx context.Context, tenant, sessionCookie string) (userID string, ok bool, err error) {
	if sessionCookie == "" {
		return "", false, nil
	}
	login, ok, err := s.sessionLogin(ctx, tenant, sessionCookie)
	return login.UserID, ok, err
}
