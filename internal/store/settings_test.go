package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authmail/authmail/internal/store"
)

func TestSettings(t *testing.T) {
	ctx := context.Background()

	run(t, "MissingSettingIsNotFound", func(t *testing.T, s *store.Store) {
		if _, err := s.SettingGet(ctx, "default", "x"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing setting: err = %v, want ErrNotFound", err)
		}
	})

	run(t, "InsertWritesOnlyWhileUnset", func(t *testing.T, s *store.Store) {
		now := testNow()
		ok, err := s.WriteQ().SettingInsert(ctx, "default", "x", "1", now)
		if err != nil || !ok {
			t.Fatalf("first insert = %v, %v; want a write", ok, err)
		}
		ok, err = s.WriteQ().SettingInsert(ctx, "default", "x", "2", now)
		if err != nil || ok {
			t.Fatalf("second insert = %v, %v; want no write", ok, err)
		}
		if v, err := s.SettingGet(ctx, "default", "x"); err != nil || v != "1" {
			t.Fatalf("setting = %q, %v; want the first value", v, err)
		}
	})

	run(t, "PutOverwrites", func(t *testing.T, s *store.Store) {
		now := testNow()
		for _, v := range []string{"1", "2"} {
			if err := s.WriteQ().SettingPut(ctx, "default", "x", v, now); err != nil {
				t.Fatal(err)
			}
		}
		if v, err := s.SettingGet(ctx, "default", "x"); err != nil || v != "2" {
			t.Fatalf("setting = %q, %v; want 2", v, err)
		}
	})

	run(t, "TenantsAreSeparate", func(t *testing.T, s *store.Store) {
		if err := s.WriteQ().SettingPut(ctx, "default", "x", "1", testNow()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SettingGet(ctx, "other", "x"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another tenant's setting: err = %v, want ErrNotFound", err)
		}
	})
}
