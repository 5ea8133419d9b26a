package tenant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
)

// Setting names in the settings table.
const (
	settingAdminKeyHash = "admin_key_hash"
	settingExperience   = "experience"
)

// The refusals of the rule that email sign-in needs an email connector;
// match them with errors.Is.
var (
	// ErrNoEmailConnector refuses email codes for a tenant that has no
	// email connector.
	ErrNoEmailConnector = errors.New("email codes need an email connector")
	// ErrConnectorInUse refuses to delete the email connector while
	// the sign-in experience relies on it.
	ErrConnectorInUse = errors.New("the sign-in experience relies on the email connector")
)

// ConnectorInUseError refuses to delete the email connector: Uses lists
// what relies on it, as Experience.EmailConnectorUses. It matches
// ErrConnectorInUse.
type ConnectorInUseError struct {
	Uses []string
}

// Error names what relies on the connector.
func (e *ConnectorInUseError) Error() string {
	return ErrConnectorInUse.Error() + ": " + strings.Join(e.Uses, ", ")
}

// Unwrap returns ErrConnectorInUse.
func (e *ConnectorInUseError) Unwrap() error { return ErrConnectorInUse }

// Settings reads and changes tenants' settings. Reads are cached per
// process for at most a second; a change made through this process
// applies here at once.
type Settings struct {
	st    *store.Store
	now   func() time.Time
	cache *cache
}

// New returns the settings of the tenants in st; now is the clock.
func New(st *store.Store, now func() time.Time) *Settings {
	return &Settings{st: st, now: now, cache: newCache(st, cacheTTL, now)}
}

// Experience returns the tenant's email settings in force: the fields it
// set, and the defaults (DefaultExperience) for the others.
func (s *Settings) Experience(ctx context.Context, tenant string) (Experience, error) {
	doc, err := storedDocument(s.cache.get(ctx, tenant, settingExperience))
	if err != nil {
		return Experience{}, err
	}
	return effective(doc)
}

// storedDocument is a tenant's stored settings (or their absence): a JSON
// object holding only the fields the tenant set.
func storedDocument(raw string, err error) ([]byte, error) {
	if errors.Is(err, store.ErrNotFound) {
		return []byte("{}"), nil
	}
	if err != nil {
		return nil, err
	}
	return upgradeStored([]byte(raw))
}

// upgradeStored rewrites what earlier versions stored and that now means
// something else or has moved (upgradeDocument).
func upgradeStored(doc []byte) ([]byte, error) {
	out, err := upgradeDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("stored sign-in experience: %w", err)
	}
	return out, nil
}

// movedToSentinel are the verificationCodePolicy fields of earlier
// versions that are sentinelPolicy's now, by their new names.
var movedToSentinel = []struct{ old, new string }{
	{"addressLockoutFailures", "maxAttempts"},
	{"lockoutMinutes", "lockoutDuration"},
}

// upgradeDocument rewrites a stored settings document of an earlier
// version (the next change stores it rewritten):
//   - a negative resendCooldown turned the cooldown off, which 0 does now
//     (0 meant "the default" then, and was never stored);
//   - verificationCodePolicy.addressLockoutFailures and lockoutMinutes are
//     sentinelPolicy.maxAttempts and lockoutDuration; a value under the
//     new name wins over one under the old.
//
// A document with neither is returned as it is.
func upgradeDocument(doc []byte) ([]byte, error) {
	if !bytes.Contains(doc, []byte(`"resendCooldown"`)) && !bytes.Contains(doc, []byte(`"addressLockoutFailures"`)) &&
		!bytes.Contains(doc, []byte(`"lockoutMinutes"`)) {
		return doc, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, err
	}
	var policy map[string]json.RawMessage
	if raw, ok := top["verificationCodePolicy"]; !ok || json.Unmarshal(raw, &policy) != nil || policy == nil {
		return doc, nil // no policy object: nothing to rewrite
	}
	changed := false
	if raw, ok := policy["resendCooldown"]; ok {
		var c int
		if json.Unmarshal(raw, &c) == nil && c < 0 {
			policy["resendCooldown"], changed = json.RawMessage("0"), true
		}
	}
	var sentinel map[string]json.RawMessage
	for _, m := range movedToSentinel {
		raw, ok := policy[m.old]
		if !ok {
			continue
		}
		delete(policy, m.old)
		changed = true
		if sentinel == nil {
			if r, ok := top["sentinelPolicy"]; ok && string(r) != "null" {
				if err := json.Unmarshal(r, &sentinel); err != nil {
					return nil, fmt.Errorf("sentinelPolicy is not an object: %w", err)
				}
			}
			if sentinel == nil {
				sentinel = map[string]json.RawMessage{}
			}
		}
		if _, set := sentinel[m.new]; !set {
			sentinel[m.new] = raw
		}
	}
	if !changed {
		return doc, nil
	}
	var err error
	if top["verificationCodePolicy"], err = json.Marshal(policy); err != nil {
		return nil, err
	}
	if sentinel != nil {
		if top["sentinelPolicy"], err = json.Marshal(sentinel); err != nil {
			return nil, err
		}
	}
	return json.Marshal(top)
}

// effective is the settings a stored document puts in force: the defaults,
// with the fields it sets.
func effective(doc []byte) (Experience, error) {
	e := DefaultExperience()
	if err := json.Unmarshal(doc, &e); err != nil {
		return Experience{}, fmt.Errorf("stored sign-in experience: %w", err)
	}
	e.VerificationCodePolicy.Sentinel = e.SentinelPolicy
	return e, nil
}

// lockEmailSignIn serialises, per tenant, the transactions that check or
// break the rule that email sign-in needs an email connector.
func lockEmailSignIn(ctx context.Context, tx *store.Tx, tenant string) error {
	return tx.LockKey(ctx, "email-sign-in\x00"+tenant)
}

// experienceIn reads the tenant's settings inside tx, not from the cache.
func experienceIn(ctx context.Context, tx *store.Tx, tenant string) (Experience, error) {
	doc, err := storedDocument(tx.SettingGet(ctx, tenant, settingExperience))
	if err != nil {
		return Experience{}, err
	}
	return effective(doc)
}

// PatchExperience changes the tenant's settings by a JSON merge patch
// (RFC 7396) on the fields it set: a member of the patch sets that field,
// a member set to null resets it (and everything below it) to its default,
// and a member left out keeps what was there. Only the fields set
// explicitly are stored, so a reset field follows the default from then on.
// The patch must be a JSON object of Experience's fields; the result is
// validated, and the settings in force after the change are returned.
//
// A patch that is not such an object, or a field out of range, fails with
// a *FieldError; settings that break one of Logto's rules (rules.go) with
// a *RuleError, which matches ErrNoEmailConnector when the rule is that
// email sign-up, sign-in, password reset or MFA needs an email connector
// and the tenant has none. The checks and the write are one transaction
// that DeleteConnector's excludes, so the two cannot interleave.
func (s *Settings) PatchExperience(ctx context.Context, tenant string, patch []byte) (Experience, error) {
	if err := checkPatch(patch); err != nil {
		return Experience{}, err
	}
	var out Experience
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := lockEmailSignIn(ctx, tx, tenant); err != nil {
			return err
		}
		merged, cur, err := applyPatch(ctx, tx, tenant, patch)
		if err != nil {
			return err
		}
		if err := tx.SettingPut(ctx, tenant, settingExperience, string(merged), s.now()); err != nil {
			return err
		}
		out = cur
		return nil
	})
	s.cache.forget(tenant, settingExperience)
	if err != nil {
		return Experience{}, err
	}
	return out, nil
}

// TryExperience is PatchExperience without the write: the settings the
// patch would put in force, through the same checks and with the same
// errors, while the saved settings stay as they are (the console's
// preview of unsaved settings).
func (s *Settings) TryExperience(ctx context.Context, tenant string, patch []byte) (Experience, error) {
	if err := checkPatch(patch); err != nil {
		return Experience{}, err
	}
	var out Experience
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		_, cur, err := applyPatch(ctx, tx, tenant, patch)
		out = cur
		return err
	})
	if err != nil {
		return Experience{}, err
	}
	return out, nil
}

// applyPatch merges patch into the tenant's stored settings in tx and
// checks the result: the document to store and the settings in force.
func applyPatch(ctx context.Context, tx *store.Tx, tenant string, patch []byte) ([]byte, Experience, error) {
	doc, err := storedDocument(tx.SettingGet(ctx, tenant, settingExperience))
	if err != nil {
		return nil, Experience{}, err
	}
	merged, err := jsonpatch.MergePatch(doc, patch)
	if err != nil {
		return nil, Experience{}, invalid("", "the settings patch cannot be applied: %s", err.Error())
	}
	cur, err := effective(merged)
	if err != nil {
		return nil, Experience{}, err
	}
	if err := cur.Validate(); err != nil {
		return nil, Experience{}, err
	}
	if err := checkRules(ctx, tx, tenant, cur, touchedBy(patch)); err != nil {
		return nil, Experience{}, err
	}
	return merged, cur, nil
}

// checkPatch makes sure a patch is a JSON object of Experience's fields,
// with values of their types or null: a *FieldError names what is not.
func checkPatch(patch []byte) error {
	if t := bytes.TrimSpace(patch); len(t) == 0 || t[0] != '{' {
		return invalid("", "the settings patch must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(patch))
	dec.DisallowUnknownFields()
	var probe Experience
	err := dec.Decode(&probe)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return invalid(te.Field, "must be a JSON %s", jsonKind(te.Type.Kind()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return invalid(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field")
	}
	return invalid("", "the settings patch is not valid JSON: %s", err.Error())
}

// jsonKind names the JSON type of a Go kind.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Slice:
		return "array"
	}
	return "object"
}

// DeleteConnector deletes the tenant's connector id (store.ErrNotFound
// when there is none). Unless force is set it fails with a
// *ConnectorInUseError (matching ErrConnectorInUse) while the settings
// rely on an email connector (Experience.EmailConnectorUses). The check
// and the delete are one transaction that PatchExperience's excludes.
func (s *Settings) DeleteConnector(ctx context.Context, tenant, id string, force bool) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := lockEmailSignIn(ctx, tx, tenant); err != nil {
			return err
		}
		if _, err := tx.ConnectorGet(ctx, tenant, id); err != nil {
			return err
		}
		if !force {
			e, err := experienceIn(ctx, tx, tenant)
			if err != nil {
				return err
			}
			if uses := e.EmailConnectorUses(); len(uses) > 0 {
				return &ConnectorInUseError{Uses: uses}
			}
		}
		return tx.ConnectorDelete(ctx, tenant, id)
	})
}

// AdminKeyValid reports whether key is the tenant's admin key. The key's
// hash is read at most once a second: a key replaced through another
// process stops working here within a second. A tenant with no key
// accepts none; a database failure is an error, not a refusal.
func (s *Settings) AdminKeyValid(ctx context.Context, tenant, key string) (bool, error) {
	hash, err := s.cache.get(ctx, tenant, settingAdminKeyHash)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return keyring.AdminKeyEqual(hash, key), nil
}

// AdminKeyVersion identifies the tenant's current admin key without
// revealing it (the stored hash, read as AdminKeyValid reads it): a
// session that began with the key can record it and end when the key is
// replaced. "" when the tenant has no key.
func (s *Settings) AdminKeyVersion(ctx context.Context, tenant string) (string, error) {
	hash, err := s.cache.get(ctx, tenant, settingAdminKeyHash)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return hash, err
}

// EnsureAdminKey makes sure the tenant has an admin key. When key is given
// (AUTHMAIL_ADMIN_KEY) its hash is stored; otherwise, on first start, a new
// key is generated and handed to keep (which writes it down once) before
// its hash is committed: if keep fails nothing is stored, so a later start
// generates a key again instead of holding a hash nobody has the key of.
// It returns the generated key, or "" when a key already existed.
func (s *Settings) EnsureAdminKey(ctx context.Context, tenant, key string, keep func(fresh string) error) (string, error) {
	defer s.cache.forget(tenant, settingAdminKeyHash)
	if key != "" {
		return "", s.st.WriteQ().SettingPut(ctx, tenant, settingAdminKeyHash, keyring.HashAdminKey(key), s.now())
	}
	fresh := "am_" + strings.TrimRight(strings.ToLower(keyring.NewKey()), "=")
	wrote := false
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if wrote, err = tx.SettingInsert(ctx, tenant, settingAdminKeyHash, keyring.HashAdminKey(fresh), s.now()); err != nil || !wrote {
			return err
		}
		return keep(fresh)
	})
	if err != nil || !wrote {
		return "", err
	}
	return fresh, nil
}
