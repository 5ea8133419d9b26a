package sendcode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/emailtemplate"
	"github.com/authmail/authmail/internal/store"
)

// templateCache keeps each tenant's stored templates with the templates
// version they were read at. Every template write raises the version in
// its own transaction (a trigger), and a send reads the version with the
// active connector, so a template saved through any process is used by
// every process's next send, without a template query per send.
type templateCache struct {
	mu sync.Mutex
	m  map[string]*tenantTemplates
}

// tenantTemplates is one tenant's stored templates. They were read after
// the version was, so they are at least as new as it.
type tenantTemplates struct {
	version string
	byKey   map[emailtemplate.Key]emailtemplate.Details
}

func newTemplateCache() *templateCache { return &templateCache{m: map[string]*tenantTemplates{}} }

// store returns the tenant's templates as of version: cached, or read
// through q (the send transaction) and kept.
func (c *templateCache) store(ctx context.Context, q store.Reader, tenant, version string) (emailtemplate.BatchStore, error) {
	c.mu.Lock()
	t := c.m[tenant]
	c.mu.Unlock()
	if t != nil && t.version == version {
		return t, nil
	}
	rows, err := q.TemplateList(ctx, tenant, "", "")
	if err != nil {
		return nil, err
	}
	t = &tenantTemplates{version: version, byKey: make(map[emailtemplate.Key]emailtemplate.Details, len(rows))}
	for _, row := range rows {
		var d emailtemplate.Details
		if err := json.Unmarshal([]byte(row.Details), &d); err != nil {
			return nil, fmt.Errorf("template %s: %w", row.ID, err)
		}
		t.byKey[emailtemplate.Key{Language: row.LanguageTag, Usage: connector.UsageType(row.TemplateType)}] = d
	}
	c.mu.Lock()
	c.m[tenant] = t
	c.mu.Unlock()
	return t, nil
}

// The stores a render reads list their languages, so a client's preferred
// languages are matched against the tenant's templates too.
var (
	_ emailtemplate.LanguageStore = (*tenantTemplates)(nil)
	_ emailtemplate.LanguageStore = templateStore{}
)

// FindTemplate looks one template up.
func (t *tenantTemplates) FindTemplate(_ context.Context, _, lang string, usage connector.UsageType) (emailtemplate.Details, bool, error) {
	d, ok := t.byKey[emailtemplate.Key{Language: lang, Usage: usage}]
	return d, ok, nil
}

// FindTemplates returns the candidates among the cached templates.
func (t *tenantTemplates) FindTemplates(_ context.Context, _ string, langs []string, usages []connector.UsageType) (map[emailtemplate.Key]emailtemplate.Details, error) {
	out := map[emailtemplate.Key]emailtemplate.Details{}
	for _, l := range langs {
		for _, u := range usages {
			if d, ok := t.byKey[emailtemplate.Key{Language: l, Usage: u}]; ok {
				out[emailtemplate.Key{Language: l, Usage: u}] = d
			}
		}
	}
	return out, nil
}

// TemplateLanguages lists the languages of the cached templates of the
// usage types.
func (t *tenantTemplates) TemplateLanguages(_ context.Context, _ string, usages []connector.UsageType) ([]string, error) {
	var out []string
	for k := range t.byKey {
		if slices.Contains(usages, k.Usage) && !slices.Contains(out, k.Language) {
			out = append(out, k.Language)
		}
	}
	slices.Sort(out)
	return out, nil
}

// templateStore looks templates up through q, with no cache: what a test
// send and a preview read.
type templateStore struct{ q store.Reader }

// FindTemplate looks one template up.
func (t templateStore) FindTemplate(ctx context.Context, tenant, lang string, usage connector.UsageType) (emailtemplate.Details, bool, error) {
	row, err := t.q.TemplateFind(ctx, tenant, lang, string(usage))
	if errors.Is(err, store.ErrNotFound) {
		return emailtemplate.Details{}, false, nil
	}
	if err != nil {
		return emailtemplate.Details{}, false, err
	}
	var d emailtemplate.Details
	if err := json.Unmarshal([]byte(row.Details), &d); err != nil {
		return emailtemplate.Details{}, false, err
	}
	return d, true, nil
}

// FindTemplates fetches every candidate of a resolution in one query.
func (t templateStore) FindTemplates(ctx context.Context, tenant string, langs []string, usages []connector.UsageType) (map[emailtemplate.Key]emailtemplate.Details, error) {
	types := make([]string, len(usages))
	for i, u := range usages {
		types[i] = string(u)
	}
	rows, err := t.q.TemplateFindAny(ctx, tenant, langs, types)
	if err != nil {
		return nil, err
	}
	out := make(map[emailtemplate.Key]emailtemplate.Details, len(rows))
	for _, row := range rows {
		var d emailtemplate.Details
		if err := json.Unmarshal([]byte(row.Details), &d); err != nil {
			return nil, err
		}
		out[emailtemplate.Key{Language: row.LanguageTag, Usage: connector.UsageType(row.TemplateType)}] = d
	}
	return out, nil
}

// TemplateLanguages lists the languages of the tenant's templates of the
// usage types.
func (t templateStore) TemplateLanguages(ctx context.Context, tenant string, usages []connector.UsageType) ([]string, error) {
	var out []string
	for _, u := range usages {
		rows, err := t.q.TemplateList(ctx, tenant, "", string(u))
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			if !slices.Contains(out, row.LanguageTag) {
				out = append(out, row.LanguageTag)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
