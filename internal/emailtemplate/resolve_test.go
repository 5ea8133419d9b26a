package emailtemplate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
)

// memStore is an in-memory Store keyed by "tenant/tag/usage" that records
// every lookup.
type memStore struct {
	templates map[string]Details
	err       error
	lookups   []string
}

func (s *memStore) FindTemplate(ctx context.Context, tenant, tag string, usage connector.UsageType) (Details, bool, error) {
	s.lookups = append(s.lookups, tag+"/"+string(usage))
	if s.err != nil {
		return Details{}, false, s.err
	}
	d, ok := s.templates[tenant+"/"+tag+"/"+string(usage)]
	return d, ok, nil
}

// batchStore is a memStore that also answers a whole resolution in one
// lookup, counting those lookups.
type batchStore struct {
	*memStore
	batches int
}

func (s *batchStore) FindTemplates(ctx context.Context, tenant string, tags []string, usages []connector.UsageType) (map[Key]Details, error) {
	s.batches++
	if s.err != nil {
		return nil, s.err
	}
	out := map[Key]Details{}
	for _, tag := range tags {
		for _, u := range usages {
			if d, ok := s.templates[tenant+"/"+tag+"/"+string(u)]; ok {
				out[Key{Language: tag, Usage: u}] = d
			}
		}
	}
	return out, nil
}

// stored builds a template whose subject names where it came from.
func stored(name string) Details {
	return Details{Subject: name + " {{code}}", Content: "<p>" + name + "</p>"}
}

func TestResolutionChain(t *testing.T) {
	t.Parallel()
	all := map[string]Details{
		"t1/fr-CA/SignIn":  stored("fr-CA SignIn"),
		"t1/fr/SignIn":     stored("fr SignIn"),
		"t1/en/SignIn":     stored("en SignIn"),
		"t1/fr-CA/Generic": stored("fr-CA Generic"),
		"t1/fr/Generic":    stored("fr Generic"),
		"t1/en/Generic":    stored("en Generic"),
		"t2/fr-CA/SignIn":  stored("other tenant"),
	}
	connTemplates := []connector.Template{
		{UsageType: connector.UsageRegister, Subject: "connector Register", Content: "r"},
		{UsageType: connector.UsageGeneric, Subject: "connector Generic {{code}}", Content: "g"},
		{UsageType: connector.UsageSignIn, Subject: "connector SignIn {{code}}", Content: "s", ContentType: ContentTypePlain},
		{UsageType: connector.UsageSignIn, Subject: "connector SignIn second", Content: "s2"},
	}
	// Each case removes templates from the store to reach the next step.
	tests := []struct {
		name         string
		remove       []string
		locale       string
		connector    []connector.Template
		wantSubject  string
		wantSource   Source
		wantLanguage string
		wantUsage    connector.UsageType
	}{
		{name: "ExactTag", locale: "fr-CA", wantSubject: "fr-CA SignIn 123456", wantSource: SourceStored, wantLanguage: "fr-CA", wantUsage: connector.UsageSignIn},
		{name: "ExactTagAfterCanonicalisation", locale: "fr_ca", wantSubject: "fr-CA SignIn 123456", wantSource: SourceStored, wantLanguage: "fr-CA", wantUsage: connector.UsageSignIn},
		{name: "BaseLanguage", remove: []string{"t1/fr-CA/SignIn"}, locale: "fr-CA",
			wantSubject: "fr SignIn 123456", wantSource: SourceStored, wantLanguage: "fr", wantUsage: connector.UsageSignIn},
		{name: "FallbackLanguage", remove: []string{"t1/fr-CA/SignIn", "t1/fr/SignIn"}, locale: "fr-CA",
			wantSubject: "en SignIn 123456", wantSource: SourceStored, wantLanguage: "en", wantUsage: connector.UsageSignIn},
		{name: "FallbackLanguageWithoutLocale", locale: "",
			wantSubject: "en SignIn 123456", wantSource: SourceStored, wantLanguage: "en", wantUsage: connector.UsageSignIn},
		{name: "UnparsableLocaleIsSkipped", locale: "not a tag!",
			wantSubject: "en SignIn 123456", wantSource: SourceStored, wantLanguage: "en", wantUsage: connector.UsageSignIn},
		{name: "GenericInLocale", remove: []string{"t1/fr-CA/SignIn", "t1/fr/SignIn", "t1/en/SignIn"}, locale: "fr-CA",
			wantSubject: "fr-CA Generic 123456", wantSource: SourceStored, wantLanguage: "fr-CA", wantUsage: connector.UsageGeneric},
		{name: "GenericInBaseLanguage", remove: []string{"t1/fr-CA/SignIn", "t1/fr/SignIn", "t1/en/SignIn", "t1/fr-CA/Generic"}, locale: "fr-CA",
			wantSubject: "fr Generic 123456", wantSource: SourceStored, wantLanguage: "fr", wantUsage: connector.UsageGeneric},
		{name: "GenericInFallback", remove: []string{"t1/fr-CA/SignIn", "t1/fr/SignIn", "t1/en/SignIn", "t1/fr-CA/Generic", "t1/fr/Generic"}, locale: "fr-CA",
			wantSubject: "en Generic 123456", wantSource: SourceStored, wantLanguage: "en", wantUsage: connector.UsageGeneric},
		{name: "ConnectorTemplateOfTheUsage", remove: storedKeys(all, "t1/"), locale: "fr-CA", connector: connTemplates,
			wantSubject: "connector SignIn 123456", wantSource: SourceConnector, wantLanguage: "fr-CA", wantUsage: connector.UsageSignIn},
		{name: "ConnectorGeneric", remove: storedKeys(all, "t1/"), locale: "fr-CA", connector: connTemplates[:2],
			wantSubject: "connector Generic 123456", wantSource: SourceConnector, wantLanguage: "fr-CA", wantUsage: connector.UsageGeneric},
		{name: "BuiltinInBaseLanguage", remove: storedKeys(all, "t1/"), locale: "fr-CA", connector: connTemplates[:1],
			wantSubject: "Votre code de connexion", wantSource: SourceBuiltin, wantLanguage: "fr", wantUsage: connector.UsageSignIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &memStore{templates: map[string]Details{}}
			for k, v := range all {
				if !slices.Contains(tt.remove, k) {
					store.templates[k] = v
				}
			}
			// The same answer one lookup at a time and in one batch.
			batch := &batchStore{memStore: &memStore{templates: store.templates}}
			for _, st := range []Store{store, batch} {
				r, err := Render(context.Background(), st, Request{Tenant: "t1", Usage: connector.UsageSignIn, Locale: tt.locale,
					FallbackLanguage: "en", Payload: map[string]any{"code": "123456"}, ConnectorTemplates: tt.connector})
				if err != nil {
					t.Fatalf("Render (%T): %v", st, err)
				}
				if r.Subject != tt.wantSubject || r.Source != tt.wantSource || r.Language != tt.wantLanguage || r.Usage != tt.wantUsage {
					t.Errorf("%T: got %q from %s in %q (%s), want %q from %s in %q (%s)", st, r.Subject, r.Source, r.Language, r.Usage,
						tt.wantSubject, tt.wantSource, tt.wantLanguage, tt.wantUsage)
				}
			}
			if batch.batches != 1 || len(batch.lookups) != 0 {
				t.Errorf("batch store: %d batch lookups and %d single ones, want 1 and 0", batch.batches, len(batch.lookups))
			}
		})
	}
}

func storedKeys(m map[string]Details, prefix string) []string {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestResolutionLookupOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		usage    connector.UsageType
		locale   string
		fallback string
		want     []string
	}{
		{"LocaleBaseFallbackThenGeneric", connector.UsageSignIn, "fr-CA", "en",
			[]string{"fr-CA/SignIn", "fr/SignIn", "en/SignIn", "fr-CA/Generic", "fr/Generic", "en/Generic"}},
		{"NoDuplicates", connector.UsageRegister, "en-GB", "en",
			[]string{"en-GB/Register", "en/Register", "en-GB/Generic", "en/Generic"}},
		{"GenericOnce", connector.UsageGeneric, "fr", "en", []string{"fr/Generic", "en/Generic"}},
		{"NoLocale", connector.UsageBindMfa, "", "fr-CA", []string{"fr-CA/BindMfa", "fr-CA/Generic"}},
		{"NoLanguageAtAll", connector.UsageSignIn, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &memStore{}
			r, err := Render(context.Background(), store, Request{Tenant: "t", Usage: tt.usage, Locale: tt.locale, FallbackLanguage: tt.fallback})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if !slices.Equal(store.lookups, tt.want) {
				t.Errorf("lookups = %v, want %v", store.lookups, tt.want)
			}
			if r.Source != SourceBuiltin {
				t.Errorf("source = %s, want builtin", r.Source)
			}
		})
	}
}

func TestBuiltinLanguageChain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		locale, fallback, want string
	}{
		{"fr", "en", "fr"},
		{"fr-CA", "en", "fr"},
		{"de", "fr", "fr"},
		{"de-AT", "fr-BE", "fr"},
		{"de", "it", "en"},
		{"en-US", "fr", "en"},
		{"", "", "en"},
		{"", "fr", "fr"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s,%s", tt.locale, tt.fallback), func(t *testing.T) {
			t.Parallel()
			r, err := Render(context.Background(), nil, Request{Usage: connector.UsageGeneric, Locale: tt.locale, FallbackLanguage: tt.fallback,
				Payload: map[string]any{"code": "1"}})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if r.Language != tt.want || r.Source != SourceBuiltin {
				t.Errorf("got %s %q, want builtin %q", r.Source, r.Language, tt.want)
			}
		})
	}
}

func TestRenderStoredPlainText(t *testing.T) {
	t.Parallel()
	store := &memStore{templates: map[string]Details{
		"t/en/ForgotPassword": {Subject: "Reset", Content: "Code: {{code}} <b>{{user.name}}</b>", ContentType: ContentTypePlain,
			SendFrom: "Acme Security <security@example.com>", ReplyTo: "help@example.com"},
	}}
	r, err := Render(context.Background(), store, Request{Tenant: "t", Usage: connector.UsageForgotPassword, Locale: "en",
		Payload: map[string]any{"code": "42", "user": map[string]any{"name": "<Jo>"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.HTML != "" || r.Text != "Code: 42 <b><Jo></b>" {
		t.Errorf("plain text template rendered html %q text %q", r.HTML, r.Text)
	}
	if r.From != (connector.Address{Name: "Acme Security", Email: "security@example.com"}) || r.ReplyTo.Email != "help@example.com" {
		t.Errorf("from %#v reply-to %#v", r.From, r.ReplyTo)
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("database is down")
	_, err := Render(context.Background(), &memStore{err: boom}, Request{Tenant: "t", Usage: connector.UsageSignIn, Locale: "en"})
	if !errors.Is(err, boom) {
		t.Errorf("store error: got %v, want it wrapped", err)
	}
	if _, err := Render(context.Background(), nil, Request{Usage: "Signin"}); err == nil {
		t.Error("unknown usage type: want an error")
	}
}

func TestRenderNilStoreUsesConnectorTemplates(t *testing.T) {
	t.Parallel()
	r, err := Render(context.Background(), nil, Request{Usage: connector.UsageSignIn, FallbackLanguage: "fr",
		ConnectorTemplates: []connector.Template{{UsageType: connector.UsageSignIn, Subject: "S {{code}}", Content: "<p>{{code}}</p>"}},
		Payload:            map[string]any{"code": "9"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Source != SourceConnector || r.Subject != "S 9" || r.HTML != "<p>9</p>" || r.Text != "9" || r.Language != "fr" {
		t.Errorf("got %+v", r)
	}
}
