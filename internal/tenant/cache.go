package tenant

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/authmail/authmail/internal/store"
)

// cacheTTL bounds how long a process uses a setting it has read: a change
// made through another process (a new admin key, a new code policy)
// applies here at most this long after it is written. A change made
// through this process applies at once.
const cacheTTL = time.Second

// cache keeps the settings every request reads (the admin key hash, the
// email settings) for a while, so that a send does not read them from the
// database each time.
type cache struct {
	st  *store.Store
	ttl time.Duration
	now func() time.Time

	mu  sync.Mutex
	gen uint64 // raised by forget, so a read it overtook is not kept
	m   map[cacheKey]cached
}

type cacheKey struct{ tenant, name string }

type cached struct {
	value string
	found bool
	until time.Time
}

func newCache(st *store.Store, ttl time.Duration, now func() time.Time) *cache {
	return &cache{st: st, ttl: ttl, now: now, m: map[cacheKey]cached{}}
}

// get returns a setting as SettingGet does (store.ErrNotFound when unset),
// from the cache while it is fresh.
func (c *cache) get(ctx context.Context, tenant, name string) (string, error) {
	k := cacheKey{tenant, name}
	now := c.now()
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
		c.m[k] = cached{value: v, found: found, until: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return v, err
}

// forget drops a setting this process has just written.
func (c *cache) forget(tenant, name string) {
	c.mu.Lock()
	delete(c.m, cacheKey{tenant, name})
	c.gen++
	c.mu.Unlock()
}
