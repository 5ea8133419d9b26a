package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

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
	// sign-up or sign-in uses email codes.
	ErrConnectorInUse = errors.New("sign-up or sign-in uses email codes")
)

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

// Experience returns the tenant's email settings (the defaults when it
// never changed them).
func (s *Settings) Experience(ctx context.Context, tenant string) (Experience, error) {
	raw, err := s.cache.get(ctx, tenant, settingExperience)
	return decodeExperience(raw, err)
}

// decodeExperience turns a stored setting (or its absence) into settings.
func decodeExperience(raw string, err error) (Experience, error) {
	e := DefaultExperience()
	if errors.Is(err, store.ErrNotFound) {
		return e, nil
	}
	if err != nil {
		return Experience{}, err
	}
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		return Experience{}, fmt.Errorf("stored sign-in experience: %w", err)
	}
	return e, nil
}

// lockEmailSignIn serialises, per tenant, the transactions that check or
// break the rule that email sign-in needs an email connector.
func lockEmailSignIn(ctx context.Context, tx *store.Tx, tenant string) error {
	return tx.LockKey(ctx, "email-sign-in\x00"+tenant)
}

// experienceIn reads the tenant's settings inside tx, not from the cache.
func experienceIn(ctx context.Context, tx *store.Tx, tenant string) (Experience, error) {
	return decodeExperience(tx.SettingGet(ctx, tenant, settingExperience))
}

// PatchExperience changes the tenant's settings: apply changes the current
// ones (a JSON merge, say), then they are validated and written. Turning
// email codes on while the tenant has no email connector fails with
// ErrNoEmailConnector; an invalid field, with a *FieldError; an error from
// apply is returned as is. The check and the write are one transaction
// that DeleteConnector's excludes, so the two cannot interleave.
func (s *Settings) PatchExperience(ctx context.Context, tenant string, apply func(*Experience) error) (Experience, error) {
	var out Experience
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := lockEmailSignIn(ctx, tx, tenant); err != nil {
			return err
		}
		cur, err := experienceIn(ctx, tx, tenant)
		if err != nil {
			return err
		}
		if err := apply(&cur); err != nil {
			return err
		}
		if err := cur.Validate(); err != nil {
			return err
		}
		if cur.UsesEmailCodes() {
			if _, err := tx.ConnectorActive(ctx, tenant); errors.Is(err, store.ErrNotFound) {
				return ErrNoEmailConnector
			} else if err != nil {
				return err
			}
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		if err := tx.SettingPut(ctx, tenant, settingExperience, string(b), s.now()); err != nil {
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

// DeleteConnector deletes the tenant's connector id (store.ErrNotFound
// when there is none). Unless force is set it fails with
// ErrConnectorInUse while sign-up or sign-in uses email codes. The check
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
			if e.UsesEmailCodes() {
				return ErrConnectorInUse
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

// EnsureAdminKey makes sure the tenant has an admin key. When key is given
// (AUTHMAIL_ADMIN_KEY) its hash is stored; otherwise, on first start, a new
// key is generated, stored hashed and returned so the caller can write it
// down once. It returns "" when a key already existed.
func (s *Settings) EnsureAdminKey(ctx context.Context, tenant, key string) (string, error) {
	defer s.cache.forget(tenant, settingAdminKeyHash)
	if key != "" {
		return "", s.st.WriteQ().SettingPut(ctx, tenant, settingAdminKeyHash, keyring.HashAdminKey(key), s.now())
	}
	fresh := "am_" + strings.TrimRight(strings.ToLower(keyring.NewKey()), "=")
	wrote, err := s.st.WriteQ().SettingInsert(ctx, tenant, settingAdminKeyHash, keyring.HashAdminKey(fresh), s.now())
	if err != nil || !wrote {
		return "", err
	}
	return fresh, nil
}
