package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
)

func TestConnectors(t *testing.T) {
	ctx := context.Background()
	replace := func(t *testing.T, s *store.Store, c store.Connector) {
		t.Helper()
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.ConnectorReplace(ctx, c) }); err != nil {
			t.Fatal(err)
		}
	}

	run(t, "ReplaceLeavesOnlyTheNewConnector", func(t *testing.T, s *store.Store) {
		now := testNow()
		replace(t, s, store.Connector{TenantID: "default", ID: "c1", ConnectorID: "smtp", Config: "sealed", CreatedAt: now, UpdatedAt: now})
		replace(t, s, store.Connector{TenantID: "default", ID: "c2", ConnectorID: "smtp", Config: "sealed", CreatedAt: now.Add(time.Second), UpdatedAt: now})
		list, err := s.ConnectorList(ctx, "default")
		if err != nil || len(list) != 1 || list[0].ID != "c2" {
			t.Fatalf("connectors = %+v, %v; want only c2", list, err)
		}
		if !list[0].CreatedAt.Equal(now.Add(time.Second)) {
			t.Errorf("created_at = %v, want %v", list[0].CreatedAt, now.Add(time.Second))
		}
	})

	run(t, "IndexRefusesASecondConnectorForATenant", func(t *testing.T, s *store.Store) {
		// Plain inserts, not ConnectorReplace: only the unique index on
		// tenant_id stands between a tenant and two active connectors.
		insert := func(tenant, id string) error {
			_, err := s.WriteDB().ExecContext(ctx, `INSERT INTO connectors (tenant_id, id, connector_id, config, created_at, updated_at)
				VALUES ($1, $2, 'smtp', 'sealed', 0, 0)`, tenant, id)
			return err
		}
		if err := insert("default", "c1"); err != nil {
			t.Fatal(err)
		}
		if err := insert("other", "c2"); err != nil {
			t.Fatalf("another tenant's connector: %v", err)
		}
		if err := insert("default", "c3"); err == nil {
			t.Fatal("a second connector for the same tenant was inserted")
		}
		if list, err := s.ConnectorList(ctx, "default"); err != nil || len(list) != 1 || list[0].ID != "c1" {
			t.Fatalf("connectors = %+v, %v; want only c1", list, err)
		}
	})

	run(t, "ActiveIsNotFoundWithoutAConnector", func(t *testing.T, s *store.Store) {
		if _, err := s.ConnectorActive(ctx, "default"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("active connector: err = %v, want ErrNotFound", err)
		}
		if _, _, err := s.ConnectorActiveVersioned(ctx, "default"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("active connector with version: err = %v, want ErrNotFound", err)
		}
	})

	run(t, "ActiveVersionedReadsTheTemplatesVersion", func(t *testing.T, s *store.Store) {
		now := testNow()
		replace(t, s, store.Connector{TenantID: "default", ID: "c1", ConnectorID: "smtp", Config: "sealed", CreatedAt: now, UpdatedAt: now})
		c, v, err := s.ConnectorActiveVersioned(ctx, "default")
		if err != nil || c.ID != "c1" || v != "" {
			t.Fatalf("before any template = %q, %q, %v; want c1 and no version", c.ID, v, err)
		}
		if _, err := s.WriteQ().TemplateUpsert(ctx, store.Template{TenantID: "default", ID: "t1", LanguageTag: "en", TemplateType: "Generic", Details: "{}", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if _, v, err := s.ConnectorActiveVersioned(ctx, "default"); err != nil || v != "1" {
			t.Fatalf("after a template = %q, %v; want version 1", v, err)
		}
	})

	run(t, "UpdateConfigChangesOnlyThatConnector", func(t *testing.T, s *store.Store) {
		now := testNow()
		replace(t, s, store.Connector{TenantID: "default", ID: "c1", ConnectorID: "smtp", Config: "old", CreatedAt: now, UpdatedAt: now})
		later := now.Add(time.Minute)
		if err := s.WriteQ().ConnectorUpdateConfig(ctx, "default", "c1", "new", later); err != nil {
			t.Fatal(err)
		}
		c, err := s.ConnectorGet(ctx, "default", "c1")
		if err != nil || c.Config != "new" || !c.UpdatedAt.Equal(later) || !c.CreatedAt.Equal(now) {
			t.Fatalf("connector = %+v, %v; want the new config, updated later", c, err)
		}
		if err := s.WriteQ().ConnectorUpdateConfig(ctx, "default", "nope", "x", later); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("updating a missing connector: err = %v, want ErrNotFound", err)
		}
	})

	run(t, "DeleteRemovesAndReportsMissing", func(t *testing.T, s *store.Store) {
		now := testNow()
		replace(t, s, store.Connector{TenantID: "default", ID: "c1", ConnectorID: "smtp", Config: "sealed", CreatedAt: now, UpdatedAt: now})
		if err := s.WriteQ().ConnectorDelete(ctx, "default", "c1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConnectorGet(ctx, "default", "c1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted connector: err = %v, want ErrNotFound", err)
		}
		if err := s.WriteQ().ConnectorDelete(ctx, "default", "c1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleting a missing connector: err = %v, want ErrNotFound", err)
		}
	})
}
