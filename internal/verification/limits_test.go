package verification_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/verification"
)

// capsTest runs fn on a fresh database of each kind, with the clock at
// 10:10, so that the hourly caps start empty.
func capsTest(t *testing.T, name string, fn func(t *testing.T, b bundle)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		storetest.ForEach(t, func(t *testing.T, st *store.Store) {
			keys, _ := keyring.New(keyring.RandomBytes(keyring.KeySize))
			c := &clock{t: time.Date(2026, 1, 1, 10, 10, 0, 0, time.UTC)}
			fn(t, bundle{st: st, svc: verification.New(keys, c.Now), clock: c})
		})
	})
}

// send issues a Generic code in tenant to email, asked for from ip.
func send(b bundle, tenant, email, ip string, p verification.Policy) error {
	ctx := context.Background()
	return b.st.InTx(ctx, func(tx *store.Tx) error {
		_, err := b.svc.Issue(ctx, tx, tenant, addr(email), "Generic", ip, p)
		return err
	})
}

// refusal returns the rate limit err is, failing the test when it is not
// one.
func refusal(t *testing.T, err error, what string) *verification.Error {
	t.Helper()
	var e *verification.Error
	if !errors.As(err, &e) || !errors.Is(err, verification.ErrRateLimited) {
		t.Fatalf("%s = %v, want request.message_rate_limited", what, err)
	}
	if e.RetryAfter <= 0 {
		t.Fatalf("%s: retry after %v, want a wait", what, e.RetryAfter)
	}
	return e
}

// with is the default policy changed by set.
func with(set func(p *verification.Policy)) verification.Policy {
	p := verification.DefaultPolicy()
	set(&p)
	return p
}

// near reports whether d is within two seconds of want.
func near(d, want time.Duration) bool { return d > want-2*time.Second && d < want+2*time.Second }

func TestSendCaps(t *testing.T) {
	def := verification.DefaultPolicy()
	noCooldown := with(func(p *verification.Policy) { p.ResendCooldown = 0 })

	capsTest(t, "SubAddressesCountTowardTheirMailbox", func(t *testing.T, b bundle) {
		sent := 0
		for i := range 200 {
			err := send(b, "default", fmt.Sprintf("victim+%d@example.com", i), "", def)
			if err == nil {
				sent++
				continue
			}
			if e := refusal(t, err, fmt.Sprintf("send %d", i+1)); e.RetryAfter > 10*time.Minute {
				t.Fatalf("send %d: retry after %v, beyond the 10-minute window", i+1, e.RetryAfter)
			}
		}
		if sent != 10 {
			t.Fatalf("%d of 200 sends to victim+N@example.com went out, want the mailbox's 10", sent)
		}
		refusal(t, send(b, "default", "victim@example.com", "", def), "send to the base address")
		for _, other := range []string{"victim@example.net", "victor@example.com"} {
			if err := send(b, "default", other, "", def); err != nil {
				t.Errorf("send to %s: %v; another mailbox is not capped", other, err)
			}
		}
	})

	capsTest(t, "ConcurrentSubAddressesHoldTheCap", func(t *testing.T, b bundle) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		sent := 0
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := send(b, "default", fmt.Sprintf("crowd+%d@example.com", i), "", def)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					sent++
				} else if !errors.Is(err, verification.ErrRateLimited) {
					t.Errorf("send: %v", err)
				}
			}()
		}
		wg.Wait()
		if sent != 10 {
			t.Fatalf("%d of 30 concurrent sends to crowd+N@ went out, want exactly 10", sent)
		}
	})

	capsTest(t, "DomainCap", func(t *testing.T, b bundle) {
		p := with(func(p *verification.Policy) { p.DomainSendLimit = 3 })
		for _, to := range []string{"a@example.org", "b@example.org", "c+x@example.org"} {
			if err := send(b, "default", to, "", p); err != nil {
				t.Fatalf("send to %s: %v", to, err)
			}
		}
		e := refusal(t, send(b, "default", "d@example.org", "", p), "4th send to example.org")
		if !strings.Contains(e.Message, "domain") {
			t.Errorf("message %q does not say the domain's cap was reached", e.Message)
		}
		// Three sends at 10:10 leave the sliding hour's estimate at the cap
		// until they have all aged out: 50 minutes of this hour, and then
		// all of the next hour's weight of them.
		if !near(e.RetryAfter, 50*time.Minute) {
			t.Errorf("retry after %v, want about 50 minutes", e.RetryAfter)
		}
		if err := send(b, "default", "d@example.com", "", p); err != nil {
			t.Errorf("send to another domain: %v", err)
		}
		b.clock.Add(e.RetryAfter)
		if err := send(b, "default", "d@example.org", "", p); err != nil {
			t.Errorf("send after the wait: %v", err)
		}
	})

	capsTest(t, "ThePreviousHourWeighsLessAsTheHourGoesOn", func(t *testing.T, b bundle) {
		p := with(func(p *verification.Policy) { p.DomainSendLimit = 4 })
		b.clock.Add(40 * time.Minute) // 10:50
		for i := range 4 {
			if err := send(b, "default", fmt.Sprintf("u%d@example.org", i), "", p); err != nil {
				t.Fatal(err)
			}
		}
		refusal(t, send(b, "default", "u4@example.org", "", p), "5th send at 10:50")
		// At 11:05 the four sends of the hour before weigh 55/60 of 4:
		// room for one more.
		b.clock.Add(15 * time.Minute)
		if err := send(b, "default", "u4@example.org", "", p); err != nil {
			t.Fatalf("send at 11:05: %v", err)
		}
		e := refusal(t, send(b, "default", "u5@example.org", "", p), "second send at 11:05")
		// 4 × (1 - f) + 1 falls below 4 at f = 1/4: 11:15.
		if !near(e.RetryAfter, 10*time.Minute) {
			t.Errorf("retry after %v, want about 10 minutes", e.RetryAfter)
		}
	})

	capsTest(t, "ClientCap", func(t *testing.T, b bundle) {
		p := with(func(p *verification.Policy) { p.IPSendLimit = 2 })
		must := func(to, ip string) {
			t.Helper()
			if err := send(b, "default", to, ip, p); err != nil {
				t.Fatalf("send to %s from %q: %v", to, ip, err)
			}
		}
		must("a@example.org", "203.0.113.7")
		must("b@example.net", "203.0.113.7")
		e := refusal(t, send(b, "default", "c@example.com", "203.0.113.7", p), "3rd send from 203.0.113.7")
		if !strings.Contains(e.Message, "client") {
			t.Errorf("message %q does not say the client's cap was reached", e.Message)
		}
		refusal(t, send(b, "default", "c@example.com", "::ffff:203.0.113.7", p), "send from the IPv4-mapped spelling")
		must("c@example.com", "203.0.113.8")
		// An IPv6 client counts by its /64.
		must("d@example.com", "2001:db8::1")
		must("e@example.com", "2001:db8::ffff")
		refusal(t, send(b, "default", "f@example.com", "2001:db8::1:0:0:1", p), "3rd send from 2001:db8::/64")
		must("f@example.com", "2001:db8:0:1::1")
		// Sends whose client is unknown are not counted by IP.
		for i := range 3 {
			must(fmt.Sprintf("g%d@example.com", i), "")
		}
	})

	capsTest(t, "TenantCap", func(t *testing.T, b bundle) {
		p := with(func(p *verification.Policy) { p.TenantSendLimit = 3 })
		for i := range 3 {
			if err := send(b, "default", fmt.Sprintf("t@d%d.example", i), "", p); err != nil {
				t.Fatal(err)
			}
		}
		e := refusal(t, send(b, "default", "t@d3.example", "", p), "4th send of the tenant")
		if !strings.Contains(e.Message, "service") {
			t.Errorf("message %q does not say the tenant's cap was reached", e.Message)
		}
		if err := send(b, "acme", "t@d3.example", "", p); err != nil {
			t.Errorf("send of another tenant: %v", err)
		}
		// 0 turns the cap off.
		if err := send(b, "default", "t@d3.example", "", with(func(p *verification.Policy) { p.TenantSendLimit = 0 })); err != nil {
			t.Errorf("send with the cap off: %v", err)
		}
	})

	capsTest(t, "TheLongestWaitIsReported", func(t *testing.T, b bundle) {
		p := with(func(p *verification.Policy) { p.ResendCooldown, p.TenantSendLimit = 0, 10 })
		for range 10 {
			if err := send(b, "default", "busy@example.com", "", p); err != nil {
				t.Fatal(err)
			}
		}
		// The mailbox's cap would allow another in 10 minutes, the
		// tenant's only in 50.
		e := refusal(t, send(b, "default", "busy@example.com", "", p), "11th send")
		if !near(e.RetryAfter, 50*time.Minute) || !strings.Contains(e.Message, "service") {
			t.Errorf("refusal = %q after %v, want the tenant's, about 50 minutes", e.Message, e.RetryAfter)
		}
	})

	capsTest(t, "SendsWithoutACodeCountWithoutACooldown", func(t *testing.T, b bundle) {
		ctx := context.Background()
		count := func() error {
			return b.st.InTx(ctx, func(tx *store.Tx) error {
				return b.svc.CountSend(ctx, tx, "default", addr("tested@example.com"), "", def)
			})
		}
		for i := range 10 {
			if err := count(); err != nil {
				t.Fatalf("test send %d: %v", i+1, err)
			}
		}
		refusal(t, count(), "11th test send")
		refusal(t, send(b, "default", "tested+code@example.com", "", noCooldown), "a code after 10 test sends")
	})
}
