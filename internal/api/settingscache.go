package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/authmail/authmail/internal/store"
)

// settingsTTL bounds how long a process uses a setting it has read: a
// change made through another process (a new admin key, a new code
// policy) applies here at most this long after it is written. A change
// made through this process applies at once.
const settingsTTL = time.Second

// settingsCache keeps the settings every request reads (the admin key
// hash, the email settings) for settingsTTL, so that a send does not read
// them from the database each time.
type settingsCache struct {
	st  *store.Store
	ttl time.Duration

	mu  sync.Mutex
	gen uint64 // raised by forget, so a read it overtook is not kept
	m   map[settingKey]cachedSetting
}

type settingKey struct{ tenant, name string }

type cachedSetting struct {
	value string
	found bool
	until time.Time
}

func newSettingsCache(st *store.Store, ttl time.Duration) *settingsCache {
	return &settingsCache{st: st, ttl: ttl, m: map[settingKey]cachedSetting{}}
}

// get returns a setting as SettingGet does (store.ErrNotFound when unset),
// from the cache while it is fresh.
func (c *settingsCache) get(ctx context.Context, tenant, name string) (string, error) {
	k := settingKey{tenant, name}
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[k]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		if !e.found {
			return "", store.ErrNotFound
		}
		return e.value, nil
	}
	v, err := c.st.SettingGet(ctx, tenant, name)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.m[k] = cachedSetting{value: v, found: found, until: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return v, err
}

// forget drops a setting this process has just written.
func (c *settingsCache) forget(tenant, name string) {
	c.mu.Lock()
	delete(c.m, settingKey{tenant, name})
	c.gen++
	c.mu.Unlock()
}
