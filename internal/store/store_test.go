package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().Truncate(time.Microsecond).UTC()

		t.Run("MigrateTwiceIsANoOp", func(t *testing.T) {
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("Settings", func(t *testing.T) {
			if _, err := s.SettingGet(ctx, "default", "x"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("missing setting: err = %v, want ErrNotFound", err)
			}
			ok, err := s.WriteQ().SettingInsert(ctx, "default", "x", "1", now)
			if err != nil || !ok {
				t.Fatalf("first insert = %v, %v", ok, err)
			}
			ok, err = s.WriteQ().SettingInsert(ctx, "default", "x", "2", now)
			if err != nil || ok {
				t.Fatalf("second insert = %v, %v; want no write", ok, err)
			}
			if err := s.WriteQ().SettingPut(ctx, "default", "x", "3", now); err != nil {
				t.Fatal(err)
			}
			if v, _ := s.SettingGet(ctx, "default", "x"); v != "3" {
				t.Fatalf("setting = %q, want 3", v)
			}
			if _, err := s.SettingGet(ctx, "other", "x"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("settings leak across tenants: %v", err)
			}
		})

		t.Run("OneConnectorPerTenant", func(t *testing.T) {
			for i, id := range []string{"c1", "c2"} {
				err := s.InTx(ctx, func(tx *store.Tx) error {
					return tx.ConnectorReplace(ctx, store.Connector{TenantID: "default", ID: id, ConnectorID: "smtp", Config: "sealed", CreatedAt: now.Add(time.Duration(i) * time.Second), UpdatedAt: now})
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			list, err := s.ConnectorList(ctx, "default")
			if err != nil || len(list) != 1 || list[0].ID != "c2" {
				t.Fatalf("connectors = %+v, %v; want only c2", list, err)
			}
			if !list[0].CreatedAt.Equal(now.Add(time.Second)) {
				t.Errorf("created_at = %v, want %v", list[0].CreatedAt, now.Add(time.Second))
			}
			err = s.WriteQ().ConnectorReplace(ctx, store.Connector{TenantID: "default", ID: "c3", ConnectorID: "smtp"})
			if err != nil {
				t.Fatal(err)
			}
			// A plain insert of a second connector is refused by the index.
			err = s.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.TemplateList(ctx, "default", "", "")
				if err != nil {
					return err
				}
				return tx.ConnectorReplace(ctx, store.Connector{TenantID: "t2", ID: "a", ConnectorID: "smtp"})
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.WriteQ().ConnectorDelete(ctx, "default", "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("deleting a missing connector: %v", err)
			}
		})

		t.Run("TemplatesUpsertByLanguageAndType", func(t *testing.T) {
			w := s.WriteQ()
			a, err := w.TemplateUpsert(ctx, store.Template{TenantID: "default", ID: "t1", LanguageTag: "fr", TemplateType: "SignIn", Details: `{"subject":"a"}`, CreatedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			b, err := w.TemplateUpsert(ctx, store.Template{TenantID: "default", ID: "t2", LanguageTag: "fr", TemplateType: "SignIn", Details: `{"subject":"b"}`, CreatedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			if a.ID != "t1" || b.ID != "t1" || b.Details != `{"subject":"b"}` {
				t.Fatalf("upsert kept id %q/%q details %q; want t1 with new details", a.ID, b.ID, b.Details)
			}
			if _, err := w.TemplateUpsert(ctx, store.Template{TenantID: "default", ID: "t3", LanguageTag: "en", TemplateType: "SignIn", Details: `{}`, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			list, err := s.TemplateList(ctx, "default", "", "SignIn")
			if err != nil || len(list) != 2 || list[0].LanguageTag != "en" {
				t.Fatalf("list = %+v, %v", list, err)
			}
			for _, tpl := range []store.Template{
				{TenantID: "default", ID: "t4", LanguageTag: "de", TemplateType: "Generic", Details: `{}`, CreatedAt: now},
				{TenantID: "default", ID: "t5", LanguageTag: "en", TemplateType: "Generic", Details: `{}`, CreatedAt: now},
				{TenantID: "other", ID: "t6", LanguageTag: "fr", TemplateType: "Generic", Details: `{}`, CreatedAt: now},
			} {
				if _, err := w.TemplateUpsert(ctx, tpl); err != nil {
					t.Fatal(err)
				}
			}
			any, err := s.TemplateFindAny(ctx, "default", []string{"fr", "en"}, []string{"SignIn", "Generic"})
			got := map[string]bool{}
			for _, tpl := range any {
				got[tpl.ID] = true
			}
			if err != nil || len(any) != 3 || !got["t1"] || !got["t3"] || !got["t5"] {
				t.Fatalf("find any of fr, en and SignIn, Generic = %+v, %v; want t1, t3, t5", any, err)
			}
			n, err := w.TemplateDeleteWhere(ctx, "default", "fr", "")
			if err != nil || n != 1 {
				t.Fatalf("delete where = %d, %v", n, err)
			}
			if _, err := s.TemplateFind(ctx, "default", "fr", "SignIn"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("find deleted: %v", err)
			}
		})

		t.Run("CodesReplaceCountAndConsume", func(t *testing.T) {
			w := s.WriteQ()
			c := store.Code{TenantID: "default", Email: "a@example.com", UsageType: "Generic", Hash: "h1", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
			if err := w.CodePut(ctx, c); err != nil {
				t.Fatal(err)
			}
			if n, err := w.CodeAddTry(ctx, "default", "a@example.com", "Generic", "h1"); err != nil || n != 1 {
				t.Fatalf("tries = %d, %v", n, err)
			}
			c.Hash = "h2"
			if err := w.CodePut(ctx, c); err != nil {
				t.Fatal(err)
			}
			got, err := s.CodeGet(ctx, "default", "a@example.com", "Generic")
			if err != nil || got.Hash != "h2" || got.Tries != 0 || !got.ExpiresAt.Equal(c.ExpiresAt) {
				t.Fatalf("code = %+v, %v; want h2 with tries reset", got, err)
			}
			if _, err := w.CodeAddTry(ctx, "default", "a@example.com", "Generic", "h1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("try on a replaced code: %v", err)
			}
			ok, err := w.CodeConsume(ctx, "default", "a@example.com", "Generic", "h2")
			if err != nil || !ok {
				t.Fatalf("consume = %v, %v", ok, err)
			}
			ok, _ = w.CodeConsume(ctx, "default", "a@example.com", "Generic", "h2")
			if ok {
				t.Fatal("a code was consumed twice")
			}
		})

		t.Run("RateEventsAndPurge", func(t *testing.T) {
			w := s.WriteQ()
			for i := 0; i < 3; i++ {
				if err := w.RateAdd(ctx, "default", "send", "k", now.Add(-time.Duration(i)*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			if n, _ := s.RateCount(ctx, "default", "send", "k", now.Add(-90*time.Minute)); n != 2 {
				t.Fatalf("count = %d, want 2", n)
			}
			if err := w.LockoutSet(ctx, "default", "k", now.Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
			if err := w.CodePut(ctx, store.Code{TenantID: "default", Email: "old@example.com", UsageType: "Generic", Hash: "x", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}); err != nil {
				t.Fatal(err)
			}
			r, err := w.Purge(ctx, now, 90*time.Minute, 24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if r.Codes != 1 || r.RateEvents != 1 || r.Lockouts != 1 {
				t.Fatalf("purge = %+v, want 1 code, 1 event, 1 lockout", r)
			}
		})

		t.Run("MessagesClaimAndRecord", func(t *testing.T) {
			w := s.WriteQ()
			m := store.Message{TenantID: "default", ID: "m1", Recipient: "a@example.com", UsageType: "SignIn", Locale: "en",
				ConnectorID: "smtp", Content: "sealed", Status: store.StatusQueued, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Minute)}
			if err := w.MessageInsert(ctx, m); err != nil {
				t.Fatal(err)
			}
			if err := w.MessageInsert(ctx, m); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("duplicate insert: %v, want ErrConflict", err)
			}
			ok, attempts, err := w.MessageClaim(ctx, "default", "m1", now, now.Add(10*time.Second))
			if err != nil || !ok || attempts != 0 {
				t.Fatalf("claim = %v, %d, %v", ok, attempts, err)
			}
			if ok, _, _ := w.MessageClaim(ctx, "default", "m1", now.Add(time.Second), now.Add(10*time.Second)); ok {
				t.Fatal("a leased message was claimed twice")
			}
			if ok, _, _ := w.MessageClaim(ctx, "default", "m1", now.Add(11*time.Second), now.Add(20*time.Second)); !ok {
				t.Fatal("an expired lease was not reclaimable")
			}
			// A temporary failure, recorded atomically, then a claim that
			// sees its count.
			err = s.MessageSettle(ctx, store.Outcome{TenantID: "default", MessageID: "m1", Attempt: 1, StartedAt: now,
				ConnectorID: "smtp", Status: store.StatusQueued, Error: "temporary failure", At: now}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if ok, attempts, _ := w.MessageClaim(ctx, "default", "m1", now.Add(12*time.Second), now.Add(30*time.Second)); !ok || attempts != 1 {
				t.Fatalf("claim after one attempt = %v, %d; want the count 1 from the row", ok, attempts)
			}
			err = w.MessageRecord(ctx, store.Outcome{TenantID: "default", MessageID: "m1", Attempt: 2, StartedAt: now, Duration: 3 * time.Millisecond,
				ConnectorID: "smtp", Status: store.StatusSent, ProviderMessageID: "p1", At: now})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.MessageGet(ctx, "default", "m1")
			if err != nil || got.Status != store.StatusSent || got.Attempts != 2 || got.ProviderMessageID != "p1" || !got.SentAt.Equal(now) {
				t.Fatalf("message = %+v, %v", got, err)
			}
			atts, err := s.AttemptList(ctx, "default", "m1")
			if err != nil || len(atts) != 2 || atts[0].Outcome != "error" || atts[1].Duration != 3*time.Millisecond || atts[1].Outcome != "sent" {
				t.Fatalf("attempts = %+v, %v", atts, err)
			}
			list, err := s.MessageList(ctx, store.MessageFilter{Tenant: "default", To: "a@example.com", Status: store.StatusSent})
			if err != nil || len(list) != 1 {
				t.Fatalf("list = %+v, %v", list, err)
			}
			list, _ = s.MessageList(ctx, store.MessageFilter{Tenant: "default", Status: store.StatusFailed})
			if len(list) != 0 {
				t.Fatalf("status filter ignored: %+v", list)
			}
		})

		t.Run("DevInboxNewestFirst", func(t *testing.T) {
			w := s.WriteQ()
			for i, to := range []string{"a@example.com", "b@example.com", "a@example.com"} {
				err := w.InboxInsert(ctx, store.InboxMessage{TenantID: "default", ID: string(rune('x' + i)), To: to, Subject: "s", Payload: "{}", CreatedAt: now.Add(time.Duration(i) * time.Second)})
				if err != nil {
					t.Fatal(err)
				}
			}
			list, err := s.InboxList(ctx, "default", "a@example.com", 10)
			if err != nil || len(list) != 2 || list[0].ID != "z" {
				t.Fatalf("inbox = %+v, %v", list, err)
			}
		})
	})
}

// run runs fn as the subtest name, once on a fresh SQLite database and
// once on a fresh PostgreSQL schema, so no subtest sees another's rows.
func run(t *testing.T, name string, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run(name, func(t *testing.T) { storetest.ForEach(t, fn) })
}

// testNow is a time the database keeps exactly (microseconds, UTC).
func testNow() time.Time { return time.Now().Truncate(time.Microsecond).UTC() }
