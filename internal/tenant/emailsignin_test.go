package tenant_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/tenant"
)

// TestEmailSignInNeverLosesItsConnector races admins many times: some turn
// email sign-in codes on while others delete the email connector, all
// released at once. Whichever goes first, the others are refused, and the
// tenant never ends up using email codes with no connector.
func TestEmailSignInNeverLosesItsConnector(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		const rounds, admins = 100, 4
		// One Settings per admin, as separate processes: none sees
		// another's cache.
		var patchers, deleters [admins]*tenant.Settings
		for i := range admins {
			patchers[i], deleters[i] = tenant.New(st, time.Now), tenant.New(st, time.Now)
		}
		first := map[string]int{}
		for round := range rounds {
			id := fmt.Sprintf("conn_%d", round)
			putConnector(t, st, id)
			if _, err := patchers[0].PatchExperience(ctx, tenant.Default, emailCodesOff); err != nil {
				t.Fatal(err)
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			var patchErrs, deleteErrs [admins]error
			for i := range admins {
				wg.Add(2)
				go func() {
					defer wg.Done()
					<-start
					_, patchErrs[i] = patchers[i].PatchExperience(ctx, tenant.Default, emailCodesOn)
				}()
				go func() {
					defer wg.Done()
					<-start
					deleteErrs[i] = deleters[i].DeleteConnector(ctx, tenant.Default, id, false)
				}()
			}
			close(start)
			wg.Wait()

			e, err := tenant.New(st, time.Now).Experience(ctx, tenant.Default)
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.ConnectorActive(ctx, tenant.Default)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if e.UsesEmailCodes() && errors.Is(err, store.ErrNotFound) {
				t.Fatalf("round %d: sign-in uses email codes and the tenant has no email connector (patches: %v, deletes: %v)", round, patchErrs, deleteErrs)
			}
			// Either every patch went first and every delete was refused,
			// or one delete went first and every patch was refused.
			patched, refusedPatches := count(patchErrs[:], nil), count(patchErrs[:], tenant.ErrNoEmailConnector)
			deleted, inUse, gone := count(deleteErrs[:], nil), count(deleteErrs[:], tenant.ErrConnectorInUse), count(deleteErrs[:], store.ErrNotFound)
			switch {
			case patched == admins && inUse == admins:
				first["patch"]++
			case deleted == 1 && gone == admins-1 && refusedPatches == admins:
				first["delete"]++
			default:
				t.Fatalf("round %d: patches: %v, deletes: %v; want the patches through and the deletes refused, or one delete through and the rest refused", round, patchErrs, deleteErrs)
			}
		}
		t.Logf("first to act, over %d rounds: %v", rounds, first)
	})
}

// count is how many of errs are target (errors.Is), or nil for a nil target.
func count(errs []error, target error) int {
	n := 0
	for _, err := range errs {
		if (target == nil && err == nil) || (target != nil && errors.Is(err, target)) {
			n++
		}
	}
	return n
}
