package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/authmail/authmail/internal/store"
)

func TestTemplates(t *testing.T) {
	ctx := context.Background()
	upsert := func(t *testing.T, s *store.Store, tpls ...store.Template) {
		t.Helper()
		for _, tpl := range tpls {
			if _, err := s.WriteQ().TemplateUpsert(ctx, tpl); err != nil {
				t.Fatal(err)
			}
		}
	}
	tpl := func(tenant, id, lang, typ string) store.Template {
		return store.Template{TenantID: tenant, ID: id, LanguageTag: lang, TemplateType: typ, Details: `{}`, CreatedAt: testNow()}
	}

	run(t, "UpsertKeepsOneTemplatePerLanguageAndType", func(t *testing.T, s *store.Store) {
		w := s.WriteQ()
		a, err := w.TemplateUpsert(ctx, store.Template{TenantID: "default", ID: "t1", LanguageTag: "fr", TemplateType: "SignIn", Details: `{"subject":"a"}`, CreatedAt: testNow()})
		if err != nil {
			t.Fatal(err)
		}
		b, err := w.TemplateUpsert(ctx, store.Template{TenantID: "default", ID: "t2", LanguageTag: "fr", TemplateType: "SignIn", Details: `{"subject":"b"}`, CreatedAt: testNow()})
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != "t1" || b.ID != "t1" || b.Details != `{"subject":"b"}` {
			t.Fatalf("upsert kept id %q/%q details %q; want t1 with new details", a.ID, b.ID, b.Details)
		}
		got, err := s.TemplateGet(ctx, "default", "t1")
		if err != nil || got.Details != `{"subject":"b"}` {
			t.Fatalf("template = %+v, %v", got, err)
		}
		if _, err := s.TemplateGet(ctx, "default", "t2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the second upsert's id: err = %v, want ErrNotFound", err)
		}
	})

	run(t, "ListFiltersAndOrders", func(t *testing.T, s *store.Store) {
		upsert(t, s, tpl("default", "t1", "fr", "SignIn"), tpl("default", "t2", "en", "SignIn"),
			tpl("default", "t3", "en", "Generic"), tpl("other", "t4", "de", "SignIn"))
		ids := func(list []store.Template) (out []string) {
			for _, x := range list {
				out = append(out, x.ID)
			}
			return out
		}
		for _, c := range []struct {
			lang, typ string
			want      []string
		}{
			{"", "", []string{"t3", "t2", "t1"}},
			{"", "SignIn", []string{"t2", "t1"}},
			{"en", "", []string{"t3", "t2"}},
			{"en", "Generic", []string{"t3"}},
		} {
			list, err := s.TemplateList(ctx, "default", c.lang, c.typ)
			if got := ids(list); err != nil || !slices.Equal(got, c.want) {
				t.Errorf("list %q %q = %v, %v; want %v", c.lang, c.typ, got, err, c.want)
			}
		}
	})

	run(t, "FindAnyReturnsEveryCandidateOfTheTenant", func(t *testing.T, s *store.Store) {
		upsert(t, s, tpl("default", "t1", "fr", "SignIn"), tpl("default", "t3", "en", "SignIn"),
			tpl("default", "t4", "de", "Generic"), tpl("default", "t5", "en", "Generic"), tpl("other", "t6", "fr", "Generic"))
		found, err := s.TemplateFindAny(ctx, "default", []string{"fr", "en"}, []string{"SignIn", "Generic"})
		got := map[string]bool{}
		for _, x := range found {
			got[x.ID] = true
		}
		if err != nil || len(found) != 3 || !got["t1"] || !got["t3"] || !got["t5"] {
			t.Fatalf("find any of fr, en and SignIn, Generic = %+v, %v; want t1, t3, t5", found, err)
		}
		if one, err := s.TemplateFind(ctx, "default", "de", "Generic"); err != nil || one.ID != "t4" {
			t.Fatalf("find de Generic = %+v, %v; want t4", one, err)
		}
	})

	run(t, "DeleteWhereRemovesTheMatches", func(t *testing.T, s *store.Store) {
		upsert(t, s, tpl("default", "t1", "fr", "SignIn"), tpl("default", "t2", "fr", "Generic"),
			tpl("default", "t3", "en", "SignIn"), tpl("other", "t4", "fr", "SignIn"))
		n, err := s.WriteQ().TemplateDeleteWhere(ctx, "default", "fr", "")
		if err != nil || n != 2 {
			t.Fatalf("delete where language fr = %d, %v; want 2", n, err)
		}
		if _, err := s.TemplateFind(ctx, "default", "fr", "SignIn"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("find deleted: err = %v, want ErrNotFound", err)
		}
		if _, err := s.TemplateFind(ctx, "other", "fr", "SignIn"); err != nil {
			t.Fatalf("another tenant's template: %v", err)
		}
	})

	run(t, "UpdateAndDeleteReportMissing", func(t *testing.T, s *store.Store) {
		upsert(t, s, tpl("default", "t1", "en", "SignIn"))
		w := s.WriteQ()
		if err := w.TemplateUpdateDetails(ctx, "default", "t1", `{"subject":"x"}`); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.TemplateGet(ctx, "default", "t1"); got.Details != `{"subject":"x"}` {
			t.Fatalf("details = %q", got.Details)
		}
		if err := w.TemplateUpdateDetails(ctx, "default", "nope", `{}`); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("updating a missing template: err = %v, want ErrNotFound", err)
		}
		if err := w.TemplateDelete(ctx, "default", "t1"); err != nil {
			t.Fatal(err)
		}
		if err := w.TemplateDelete(ctx, "default", "t1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleting a missing template: err = %v, want ErrNotFound", err)
		}
	})

	run(t, "EveryChangeRaisesTheTenantsVersion", func(t *testing.T, s *store.Store) {
		version := func(tenant string) string {
			t.Helper()
			v, err := s.SettingGet(ctx, tenant, store.TemplatesVersionSetting)
			if errors.Is(err, store.ErrNotFound) {
				return ""
			}
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		w := s.WriteQ()
		steps := []struct {
			name string
			do   func() error
		}{
			{"insert", func() error { _, err := w.TemplateUpsert(ctx, tpl("default", "t1", "en", "SignIn")); return err }},
			{"upsert", func() error { _, err := w.TemplateUpsert(ctx, tpl("default", "t2", "en", "SignIn")); return err }},
			{"update", func() error { return w.TemplateUpdateDetails(ctx, "default", "t1", `{"subject":"x"}`) }},
			{"delete", func() error { return w.TemplateDelete(ctx, "default", "t1") }},
		}
		for i, step := range steps {
			if err := step.do(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if got, want := version("default"), string(rune('1'+i)); got != want {
				t.Fatalf("after %s the version is %q, want %q", step.name, got, want)
			}
		}
		if v := version("other"); v != "" {
			t.Fatalf("another tenant's version = %q, want none", v)
		}
	})
}
