package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
)

// TestConcurrentConnectorCreationNeverFails: admins creating email
// connectors at the same moment each get an answer they can act on (the
// replace succeeds, or a 409 says someone else's got there first), never
// a 500, and the tenant ends with exactly one connector, one of theirs.
func TestConcurrentConnectorCreationNeverFails(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		const n = 16
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		created := map[string]bool{}
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := map[string]any{"connectorId": "dev-inbox", "id": fmt.Sprintf("racer-%d", i), "config": map[string]any{}}
				<-start
				status, b, err := a.TryDo("POST", "/api/connectors", body)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("POST /api/connectors: %v", err)
					return
				}
				statuses[status]++
				switch status {
				case http.StatusOK:
					created[fmt.Sprintf("racer-%d", i)] = true
				case http.StatusConflict:
					var e apptest.Error
					if json.Unmarshal(b, &e) != nil || e.Code == "" || e.Message == "" {
						t.Errorf("409 without an error body: %s", b)
					}
				default:
					t.Errorf("POST /api/connectors: %d %s", status, b)
				}
			}()
		}
		close(start)
		wg.Wait()
		if statuses[http.StatusOK] == 0 {
			t.Fatalf("no creation succeeded: %v", statuses)
		}
		list := connectors(t, a)
		if len(list) != 1 || !created[list[0].ID] {
			t.Errorf("connectors after the race: %+v, want one of the created %v", list, created)
		}
	})
}
