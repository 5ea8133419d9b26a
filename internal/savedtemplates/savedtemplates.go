// Package savedtemplates keeps a tenant's saved email templates, Logto's
// EmailTemplate rows (language tag, usage type, details): put several at
// once (all validated, then written in one transaction), list and get
// them, merge fields into one's details, delete one or all that match a
// filter. Every write bumps the tenant's templates version in the same
// transaction (a database trigger), so the next send anywhere uses it.
package savedtemplates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/store"
)

// Service reads and writes saved templates.
type Service struct {
	st  *store.Store
	now func() time.Time
}

// New returns the service over st; now is the clock.
func New(st *store.Store, now func() time.Time) *Service { return &Service{st: st, now: now} }

// Template is one saved template.
type Template struct {
	TenantID    string
	ID          string
	LanguageTag string
	Usage       connector.UsageType
	Details     emailtemplate.Details
	CreatedAt   time.Time
}

// Input is a template to put; the language tag is canonical and the usage
// type valid (the caller decoded them).
type Input struct {
	LanguageTag string
	Usage       connector.UsageType
	Details     emailtemplate.Details
}

// ErrNoFilter refuses a bulk delete without a filter.
var ErrNoFilter = errors.New("a bulk delete needs a language tag or a usage type")

// Put validates every template's details for its usage type, then creates
// or replaces them all, by (language tag, usage type), in one transaction.
func (s *Service) Put(ctx context.Context, tenant string, in []Input) ([]Template, error) {
	rows := make([]store.Template, 0, len(in))
	for _, t := range in {
		if err := emailtemplate.ValidateDetails(t.Usage, t.Details); err != nil {
			return nil, err
		}
		details, err := json.Marshal(t.Details)
		if err != nil {
			return nil, err
		}
		rows = append(rows, store.Template{TenantID: tenant, ID: delivery.NewID("tpl"), LanguageTag: t.LanguageTag,
			TemplateType: string(t.Usage), Details: string(details), CreatedAt: s.now()})
	}
	var out []Template
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		out = out[:0]
		for _, row := range rows {
			saved, err := tx.TemplateUpsert(ctx, row)
			if err != nil {
				return err
			}
			t, err := fromRow(saved)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

// List returns the tenant's templates, filtered by language tag and usage
// type when they are not empty.
func (s *Service) List(ctx context.Context, tenant, lang, usage string) ([]Template, error) {
	rows, err := s.st.TemplateList(ctx, tenant, lang, usage)
	if err != nil {
		return nil, err
	}
	out := make([]Template, 0, len(rows))
	for _, row := range rows {
		t, err := fromRow(row)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Get returns the tenant's template id (store.ErrNotFound when there is
// none).
func (s *Service) Get(ctx context.Context, tenant, id string) (Template, error) {
	row, err := s.st.TemplateGet(ctx, tenant, id)
	if err != nil {
		return Template{}, err
	}
	return fromRow(row)
}

// Delete deletes the tenant's template id (store.ErrNotFound when there is
// none).
func (s *Service) Delete(ctx context.Context, tenant, id string) error {
	return s.st.WriteQ().TemplateDelete(ctx, tenant, id)
}

// DeleteWhere deletes the tenant's templates of a language tag and/or a
// usage type, and says how many; with neither it fails with ErrNoFilter.
func (s *Service) DeleteWhere(ctx context.Context, tenant, lang, usage string) (int64, error) {
	if lang == "" && usage == "" {
		return 0, ErrNoFilter
	}
	return s.st.WriteQ().TemplateDeleteWhere(ctx, tenant, lang, usage)
}

// DetailsPatch is a partial EmailTemplateDetails: the fields given replace
// the template's, the others stay.
type DetailsPatch struct {
	Subject, Content, ContentType, ReplyTo, SendFrom, Text *string
}

// PatchDetails merges patch into the details of the tenant's template id,
// validates the result for its usage type and saves it, reading and
// writing in one transaction under the template's lock (store.ErrNotFound
// when there is none).
func (s *Service) PatchDetails(ctx context.Context, tenant, id string, patch DetailsPatch) (Template, error) {
	var out Template
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		// Two patches of one template take turns, so neither writes over
		// the other's fields (PostgreSQL reads at READ COMMITTED).
		if err := tx.LockKey(ctx, "template\x00"+tenant+"\x00"+id); err != nil {
			return err
		}
		row, err := tx.TemplateGet(ctx, tenant, id)
		if err != nil {
			return err
		}
		t, err := fromRow(row)
		if err != nil {
			return err
		}
		d := &t.Details
		for _, f := range []struct{ src, dst *string }{{patch.Subject, &d.Subject}, {patch.Content, &d.Content},
			{patch.ContentType, &d.ContentType}, {patch.ReplyTo, &d.ReplyTo}, {patch.SendFrom, &d.SendFrom}, {patch.Text, &d.Text}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if err := emailtemplate.ValidateDetails(t.Usage, *d); err != nil {
			return err
		}
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if err := tx.TemplateUpdateDetails(ctx, tenant, row.ID, string(b)); err != nil {
			return err
		}
		out = t
		return nil
	})
	return out, err
}

func fromRow(row store.Template) (Template, error) {
	t := Template{TenantID: row.TenantID, ID: row.ID, LanguageTag: row.LanguageTag, Usage: connector.UsageType(row.TemplateType), CreatedAt: row.CreatedAt}
	if err := json.Unmarshal([]byte(row.Details), &t.Details); err != nil {
		return Template{}, fmt.Errorf("stored template %s: %w", row.ID, err)
	}
	return t, nil
}
