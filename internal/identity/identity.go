// Package identity keeps a tenant's users: Logto's user object, with the
// primary email unique per tenant by its canonical form (internal/address)
// and the username unique as written (Logto's default username policy is
// case-sensitive), and passwords as argon2id digests (password.go) that
// never leave this package and the store.
package identity

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/password"
	"github.com/authmail/authmail/internal/store"
)

// Errors the service returns; callers check them with errors.Is.
var (
	// ErrUserNotFound means the tenant has no user with the ID.
	ErrUserNotFound = errors.New("no such user")
	// ErrEmailInUse means another user of the tenant has the primary
	// email (in its canonical form).
	ErrEmailInUse = errors.New("the email belongs to another user")
	// ErrUsernameInUse means another user of the tenant has the username.
	ErrUsernameInUse = errors.New("the username belongs to another user")
	// ErrInvalidCredentials is Authenticate's one answer for an address no
	// user has, a user without a password and a wrong password.
	ErrInvalidCredentials = errors.New("incorrect account or password")
)

// FieldError is an input the service refuses: the field (by its JSON
// name) and why, completing a sentence that starts with the field.
type FieldError struct {
	Field, Reason string
}

// Error returns "field reason".
func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

// Service reads and writes users.
type Service struct {
	st  *store.Store
	now func() time.Time
	// passwords checks new passwords against the tenant's policy.
	passwords *password.Checker
	// hashing holds a place per argon2id hash or check under way: each
	// takes DefaultParams.Memory, so at most one per CPU run at once and
	// the others wait their turn (or their context's end).
	hashing chan struct{}
}

// New returns the service over st; passwords checks new passwords (its
// breach check connects through the client it was made with).
func New(st *store.Store, now func() time.Time, passwords *password.Checker) *Service {
	return &Service{st: st, now: now, passwords: passwords, hashing: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// hash is Hash, one per CPU at a time.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.hashing }()
	return Hash(password), nil
}

// Profile is the OpenID Connect standard claims Logto keeps beside a
// user's name (Logto's userProfileGuard).
type Profile struct {
	FamilyName        string         `json:"familyName,omitempty"`
	GivenName         string         `json:"givenName,omitempty"`
	MiddleName        string         `json:"middleName,omitempty"`
	Nickname          string         `json:"nickname,omitempty"`
	PreferredUsername string         `json:"preferredUsername,omitempty"`
	Profile           string         `json:"profile,omitempty"`
	Website           string         `json:"website,omitempty"`
	Gender            string         `json:"gender,omitempty"`
	Birthdate         string         `json:"birthdate,omitempty"`
	Zoneinfo          string         `json:"zoneinfo,omitempty"`
	Locale            string         `json:"locale,omitempty"`
	Address           ProfileAddress `json:"address,omitzero"`
}

// ProfileAddress is the postal address claim.
type ProfileAddress struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"streetAddress,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postalCode,omitempty"`
	Country       string `json:"country,omitempty"`
}

// User is a user as an admin may see it: everything but the password,
// of which only whether there is one.
type User struct {
	ID string
	// PrimaryEmail is canonical; it, Username, Name and Avatar are "" when
	// unset.
	PrimaryEmail, Username, Name, Avatar string
	CustomData                           map[string]any
	Profile                              Profile
	HasPassword, IsSuspended             bool
	// LastSignInAt is zero before the first sign-in.
	CreatedAt, UpdatedAt, LastSignInAt time.Time
	// EmailVerified says the user proved PrimaryEmail by a code (the ID
	// token's email_verified); an address an admin set is not proved.
	EmailVerified bool
}

// NewUser is what Create is given; every field may be empty.
// EmailVerified says the primary email was proved by a code (a sign-up by
// email code); it is refused without a primary email.
type NewUser struct {
	PrimaryEmail, Username, Password, Name, Avatar string
	// PasswordDigest, instead of Password, is a digest HashPassword made
	// earlier (a password chosen in one step of a flow and stored in the
	// next).
	PasswordDigest string
	CustomData     map[string]any
	Profile        Profile
	EmailVerified  bool
}

// Create checks and stores a new user with a generated ID. A password is
// checked against policy, the tenant's passwordPolicy, with the new
// user's name, username and email as the user information: a refusal is
// a *password.Error, a breach check that could not be made an error
// matching password.ErrPwnedUnavailable.
func (s *Service) Create(ctx context.Context, tenant string, n NewUser, policy password.Policy) (User, error) {
	p, err := s.Prepare(ctx, tenant, n, policy)
	if err != nil {
		return User{}, err
	}
	if err := s.st.WriteQ().UserInsert(ctx, p.row); err != nil {
		return User{}, writeError(err)
	}
	return view(p.row)
}

// Prepared is a new user checked and its password hashed, ready to be
// inserted inside a transaction with the step that creates it.
type Prepared struct {
	row store.User
}

// Prepare checks a new user (a password against policy, as Create does)
// and hashes its password, the slow part, so that Insert's transaction
// does not wait on it.
func (s *Service) Prepare(ctx context.Context, tenant string, n NewUser, policy password.Policy) (Prepared, error) {
	now := s.now()
	u := store.User{TenantID: tenant, ID: newID(), Name: n.Name, Avatar: n.Avatar, CreatedAt: now, UpdatedAt: now}
	var err error
	if u.PrimaryEmail, err = canonicalEmail(n.PrimaryEmail); err != nil {
		return Prepared{}, err
	}
	if n.EmailVerified && u.PrimaryEmail == "" {
		return Prepared{}, &FieldError{Field: "primaryEmail", Reason: "is needed to be verified"}
	}
	u.EmailVerified = n.EmailVerified
	u.Username = n.Username
	if err := checkProfile(u.Username, u.Name, u.Avatar); err != nil {
		return Prepared{}, err
	}
	if u.CustomData, u.Profile, err = encodeData(n.CustomData, n.Profile); err != nil {
		return Prepared{}, err
	}
	switch {
	case n.Password != "":
		info := password.UserInfo{Name: u.Name, Username: u.Username, Email: u.PrimaryEmail}
		if u.PasswordDigest, err = s.HashPassword(ctx, policy, n.Password, info); err != nil {
			return Prepared{}, err
		}
	case n.PasswordDigest != "":
		if _, err := DigestParams(n.PasswordDigest); err != nil {
			return Prepared{}, err
		}
		u.PasswordDigest = n.PasswordDigest
	}
	return Prepared{row: u}, nil
}

// Insert stores a prepared user inside tx: ErrEmailInUse or
// ErrUsernameInUse when another user has the email or the username.
func (s *Service) Insert(ctx context.Context, tx *store.Tx, p Prepared) (User, error) {
	if err := tx.UserInsert(ctx, p.row); err != nil {
		return User{}, writeError(err)
	}
	return view(p.row)
}

// HashPassword checks a password against policy, the tenant's
// passwordPolicy, with info as the user information (errors as Create's),
// and returns its digest, for a step that stores it later
// (SetPasswordDigest, or a new user's PasswordDigest).
func (s *Service) HashPassword(ctx context.Context, policy password.Policy, pw string, info password.UserInfo) (string, error) {
	if err := s.passwords.Check(ctx, policy, pw, info); err != nil {
		return "", err
	}
	return s.hash(ctx, pw)
}

// FindByEmail returns the user whose primary email is the address (in its
// canonical form), or ErrUserNotFound.
func (s *Service) FindByEmail(ctx context.Context, tenant string, email address.Address) (User, error) {
	u, err := s.st.UserByEmail(ctx, tenant, email.String())
	if err != nil {
		return User{}, writeError(err)
	}
	return view(u)
}

// Authenticate returns the user whose primary email is the address if
// password is theirs. An address no user has, a user without a password
// and a wrong password are all ErrInvalidCredentials, and all take one
// argon2id check at DefaultParams (the first two against a digest no
// password matches), so neither the answer nor its time says whether the
// account exists.
func (s *Service) Authenticate(ctx context.Context, tenant string, email address.Address, password string) (User, error) {
	u, err := s.st.UserByEmail(ctx, tenant, email.String())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return User{}, err
	}
	digest := u.PasswordDigest
	if digest == "" { // no such user, or no password
		digest = dummyDigest()
	}
	ok, err := s.verify(ctx, digest, password)
	if errors.Is(err, ErrMalformedDigest) {
		ok, err = false, nil
	}
	if err != nil {
		return User{}, err
	}
	if !ok || u.PasswordDigest == "" {
		return User{}, ErrInvalidCredentials
	}
	return view(u)
}

// verify is Verify, one per CPU at a time.
func (s *Service) verify(ctx context.Context, digest, password string) (bool, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.hashing }()
	return Verify(digest, password)
}

// SetPasswordDigest stores a digest HashPassword made as the user's
// password, inside tx. ErrUserNotFound when there is no such user.
func (s *Service) SetPasswordDigest(ctx context.Context, tx *store.Tx, tenant, id, digest string) error {
	if _, err := DigestParams(digest); err != nil {
		return err
	}
	return writeError(tx.UserSetPassword(ctx, tenant, id, digest, s.now()))
}

// SignedIn records that the user signed in at at, inside tx.
// ErrUserNotFound when there is no such user.
func (s *Service) SignedIn(ctx context.Context, tx *store.Tx, tenant, id string, at time.Time) error {
	return writeError(tx.UserSignedIn(ctx, tenant, id, at))
}

// Get reads a user.
func (s *Service) Get(ctx context.Context, tenant, id string) (User, error) {
	u, err := s.st.UserGet(ctx, tenant, id)
	if err != nil {
		return User{}, writeError(err)
	}
	return view(u)
}

// Paging limits, as Logto's: pages of 20 by default, at most 100.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// ListQuery is one page of a tenant's users: Page counts from 1,
// PageSize from 1 to MaxPageSize, and Search
// keeps the users whose primary email, username or name contains it.
type ListQuery struct {
	Page, PageSize int
	Search         string
	// Organization, when not empty, keeps the members of that
	// organization; OrganizationRole, the members who hold that
	// organization role there.
	Organization, OrganizationRole string
}

// List returns a page of users, newest first, and how many users match
// in all.
func (s *Service) List(ctx context.Context, tenant string, q ListQuery) ([]User, int, error) {
	if q.Page < 1 || q.PageSize < 1 || q.PageSize > MaxPageSize {
		return nil, 0, &FieldError{Field: "page", Reason: fmt.Sprintf("must be 1 or more, and page_size from 1 to %d", MaxPageSize)}
	}
	rows, total, err := s.st.UserList(ctx, store.UserFilter{Tenant: tenant, Search: q.Search, Organization: q.Organization, OrganizationRole: q.OrganizationRole, Limit: q.PageSize, Offset: (q.Page - 1) * q.PageSize})
	if err != nil {
		return nil, 0, err
	}
	out := make([]User, 0, len(rows))
	for _, r := range rows {
		u, err := view(r)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, u)
	}
	return out, total, nil
}

// Patch is a change to a user's profile fields. A nil field is kept; a
// pointer to "" clears the field (as null and "" do in Logto's PATCH).
// CustomData and Profile, when not nil, replace the old values whole.
// A primary email that changes is no longer verified unless
// EmailVerified says it is (the new address was proved by a code).
type Patch struct {
	PrimaryEmail, Username, Name, Avatar *string
	CustomData                           map[string]any
	Profile                              *Profile
	EmailVerified                        *bool
}

// Update applies a patch.
func (s *Service) Update(ctx context.Context, tenant, id string, p Patch) (User, error) {
	var out User
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.UpdateIn(ctx, tx, tenant, id, p)
		return err
	})
	return out, err
}

// UpdateIn applies a patch inside tx, for a step that changes a user with
// other writes.
func (s *Service) UpdateIn(ctx context.Context, tx *store.Tx, tenant, id string, p Patch) (User, error) {
	var out store.User
	err := func() error {
		if err := tx.LockKey(ctx, "user:"+tenant+":"+id); err != nil {
			return err
		}
		u, err := tx.UserGet(ctx, tenant, id)
		if err != nil {
			return err
		}
		if p.PrimaryEmail != nil {
			old := u.PrimaryEmail
			if u.PrimaryEmail, err = canonicalEmail(*p.PrimaryEmail); err != nil {
				return err
			}
			if u.PrimaryEmail != old {
				u.EmailVerified = false
			}
		}
		if p.EmailVerified != nil {
			u.EmailVerified = *p.EmailVerified
		}
		if u.EmailVerified && u.PrimaryEmail == "" {
			return &FieldError{Field: "primaryEmail", Reason: "is needed to be verified"}
		}
		set := func(dst *string, src *string) {
			if src != nil {
				*dst = *src
			}
		}
		set(&u.Username, p.Username)
		set(&u.Name, p.Name)
		set(&u.Avatar, p.Avatar)
		if err := checkProfile(u.Username, u.Name, u.Avatar); err != nil {
			return err
		}
		if p.CustomData != nil || p.Profile != nil {
			data, prof := decodeData(u)
			if p.CustomData != nil {
				data = p.CustomData
			}
			if p.Profile != nil {
				prof = *p.Profile
			}
			if u.CustomData, u.Profile, err = encodeData(data, prof); err != nil {
				return err
			}
		}
		u.UpdatedAt = s.now()
		out = u
		return tx.UserUpdate(ctx, u)
	}()
	if err != nil {
		return User{}, writeError(err)
	}
	return view(out)
}

// SetPassword checks a new password against policy, the tenant's
// passwordPolicy, with the user's name, username and email as the user
// information, and stores its digest; the errors are Create's. The hash is
// made before the write, so no transaction waits on it.
func (s *Service) SetPassword(ctx context.Context, tenant, id, pw string, policy password.Policy) (User, error) {
	cur, err := s.st.UserGet(ctx, tenant, id)
	if err != nil {
		return User{}, writeError(err)
	}
	info := password.UserInfo{Name: cur.Name, Username: cur.Username, Email: cur.PrimaryEmail}
	if err := s.passwords.Check(ctx, policy, pw, info); err != nil {
		return User{}, err
	}
	digest, err := s.hash(ctx, pw)
	if err != nil {
		return User{}, err
	}
	w := s.st.WriteQ()
	if err := w.UserSetPassword(ctx, tenant, id, digest, s.now()); err != nil {
		return User{}, writeError(err)
	}
	return s.read(ctx, w, tenant, id)
}

// SetSuspended suspends or reinstates a user.
func (s *Service) SetSuspended(ctx context.Context, tenant, id string, suspended bool) (User, error) {
	w := s.st.WriteQ()
	if err := w.UserSetSuspended(ctx, tenant, id, suspended, s.now()); err != nil {
		return User{}, writeError(err)
	}
	return s.read(ctx, w, tenant, id)
}

// Delete removes a user, with the roles it holds.
func (s *Service) Delete(ctx context.Context, tenant, id string) error {
	return writeError(s.st.InTx(ctx, func(tx *store.Tx) error { return tx.UserDelete(ctx, tenant, id) }))
}

// DeleteIn removes a user inside tx, for a step that removes what else the
// user had in the same transaction.
func (s *Service) DeleteIn(ctx context.Context, tx *store.Tx, tenant, id string) error {
	return writeError(tx.UserDelete(ctx, tenant, id))
}

// CheckPasswordOf reports whether password is the user's password; a user
// without one has no password that matches.
func (s *Service) CheckPasswordOf(ctx context.Context, tenant, id, password string) (bool, error) {
	u, err := s.st.UserGet(ctx, tenant, id)
	if err != nil {
		return false, writeError(err)
	}
	if u.PasswordDigest == "" {
		return false, nil
	}
	return s.verify(ctx, u.PasswordDigest, password)
}

// read reads a user back through the handle that wrote it.
func (s *Service) read(ctx context.Context, w store.Writer, tenant, id string) (User, error) {
	u, err := w.UserGet(ctx, tenant, id)
	if err != nil {
		return User{}, writeError(err)
	}
	return view(u)
}

// writeError turns the store's answers into the service's.
func writeError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrUserNotFound
	case errors.Is(err, store.ErrEmailTaken):
		return ErrEmailInUse
	case errors.Is(err, store.ErrUsernameTaken):
		return ErrUsernameInUse
	}
	return err
}

// canonicalEmail is the canonical form of a primary email, "" for none.
func canonicalEmail(email string) (string, error) {
	if email == "" {
		return "", nil
	}
	a, err := address.Parse(email)
	if err != nil {
		return "", &FieldError{Field: "primaryEmail", Reason: err.Error()}
	}
	return a.String(), nil
}

// usernamePattern is Logto's username rule: a letter or underscore, then
// letters, digits and underscores.
var usernamePattern = regexp.MustCompile(`^[A-Z_a-z]\w*$`)

// Logto's column sizes.
const (
	maxUsername = 128
	maxName     = 128
	maxAvatar   = 2048
)

// CheckUsername applies Logto's username rule, returning a *FieldError.
func CheckUsername(username string) error {
	if !usernamePattern.MatchString(username) || len(username) > maxUsername {
		return &FieldError{Field: "username", Reason: fmt.Sprintf("must start with a letter or _ and hold only letters, digits and _ (at most %d)", maxUsername)}
	}
	return nil
}

func checkProfile(username, name, avatar string) error {
	if username != "" {
		if err := CheckUsername(username); err != nil {
			return err
		}
	}
	if utf8.RuneCountInString(name) > maxName {
		return &FieldError{Field: "name", Reason: fmt.Sprintf("must be at most %d characters", maxName)}
	}
	if avatar != "" {
		u, err := url.Parse(avatar)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(avatar) > maxAvatar {
			return &FieldError{Field: "avatar", Reason: fmt.Sprintf("must be an http or https URL of at most %d bytes", maxAvatar)}
		}
	}
	return nil
}

func encodeData(data map[string]any, prof Profile) (string, string, error) {
	if data == nil {
		data = map[string]any{}
	}
	d, err := json.Marshal(data)
	if err != nil {
		return "", "", &FieldError{Field: "customData", Reason: "must be a JSON object"}
	}
	p, err := json.Marshal(prof)
	if err != nil {
		return "", "", err
	}
	return string(d), string(p), nil
}

func decodeData(u store.User) (map[string]any, Profile) {
	data := map[string]any{}
	var prof Profile
	_ = json.Unmarshal([]byte(u.CustomData), &data)
	_ = json.Unmarshal([]byte(u.Profile), &prof)
	return data, prof
}

func view(u store.User) (User, error) {
	data := map[string]any{}
	if err := json.Unmarshal([]byte(u.CustomData), &data); err != nil {
		return User{}, fmt.Errorf("user %s: stored customData: %w", u.ID, err)
	}
	var prof Profile
	if err := json.Unmarshal([]byte(u.Profile), &prof); err != nil {
		return User{}, fmt.Errorf("user %s: stored profile: %w", u.ID, err)
	}
	if data == nil {
		data = map[string]any{}
	}
	return User{ID: u.ID, PrimaryEmail: u.PrimaryEmail, EmailVerified: u.EmailVerified, Username: u.Username, Name: u.Name, Avatar: u.Avatar,
		CustomData: data, Profile: prof, HasPassword: u.PasswordDigest != "", IsSuspended: u.IsSuspended,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastSignInAt: u.LastSignInAt}, nil
}

// newID is a user ID as Logto makes them: 12 lower-case letters and digits.
func newID() string {
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(keyring.RandomBytes(8)))[:12]
}
