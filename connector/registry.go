package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// registry holds every registered factory. It is written only from init().
var registry = struct {
	sync.RWMutex
	byID    map[string]*entry
	aliases map[string]string
}{byID: map[string]*entry{}, aliases: map[string]string{}}

type entry struct {
	factory Factory
	once    sync.Once
	schema  *jsonschema.Schema
	err     error
}

// Register adds a factory to the catalog. It panics on programmer errors:
// an empty or duplicate ID or alias, a nil New, or a schema that does not
// compile. Call it from init().
func Register(f Factory) {
	registry.Lock()
	defer registry.Unlock()
	if f.ID == "" || f.ID != strings.ToLower(f.ID) {
		panic("connector: factory ID must be non-empty lower case: " + f.ID)
	}
	if f.NewConfig == nil {
		panic("connector: factory " + f.ID + " has no NewConfig")
	}
	if cfg := f.NewConfig(); cfg == nil || reflect.TypeOf(cfg).Kind() != reflect.Pointer {
		panic(fmt.Sprintf("connector: factory %s: NewConfig must return a pointer to the config struct, not %T", f.ID, cfg))
	}
	for _, id := range append([]string{f.ID}, f.Aliases...) {
		if _, dup := registry.byID[id]; dup {
			panic("connector: duplicate factory ID " + id)
		}
		if _, dup := registry.aliases[id]; dup {
			panic("connector: duplicate factory ID " + id)
		}
	}
	e := &entry{factory: f}
	if _, err := e.compiled(); err != nil {
		panic(fmt.Sprintf("connector: factory %s: %v", f.ID, err))
	}
	registry.byID[f.ID] = e
	for _, a := range f.Aliases {
		registry.aliases[a] = f.ID
	}
}

func (e *entry) compiled() (*jsonschema.Schema, error) {
	e.once.Do(func() {
		if len(e.factory.ConfigSchema) == 0 {
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.factory.ConfigSchema))
		if err != nil {
			e.err = fmt.Errorf("config schema: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		url := "authmail:connector/" + e.factory.ID + ".json"
		if err := c.AddResource(url, doc); err != nil {
			e.err = fmt.Errorf("config schema: %w", err)
			return
		}
		e.schema, e.err = c.Compile(url)
	})
	return e.schema, e.err
}

// Lookup returns the factory with the given ID or alias.
func Lookup(id string) (Factory, bool) {
	registry.RLock()
	defer registry.RUnlock()
	if canon, ok := registry.aliases[id]; ok {
		id = canon
	}
	e, ok := registry.byID[id]
	if !ok {
		return Factory{}, false
	}
	return e.factory, true
}

// Factories returns every registered factory, sorted by ID.
func Factories() []Factory {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]Factory, 0, len(registry.byID))
	for _, e := range registry.byID {
		out = append(out, e.factory)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ErrUnknownFactory is returned for an ID no factory has, as an
// *UnknownFactoryError.
var ErrUnknownFactory = errors.New("unknown connector factory")

// UnknownFactoryError names the factory ID that no registered factory has.
type UnknownFactoryError struct {
	// ID is the ID or alias asked for.
	ID string
}

// Error names the ID.
func (e *UnknownFactoryError) Error() string { return fmt.Sprintf("%v: %q", ErrUnknownFactory, e.ID) }

// Is matches ErrUnknownFactory.
func (e *UnknownFactoryError) Is(target error) bool { return target == ErrUnknownFactory }

// Build builds a connector of the factory with ID (or alias) id: it checks
// raw against the factory's JSON Schema, decodes it strictly into a new
// config (Factory.NewConfig, DecodeConfig) and calls the config's Build
// with env, its nil members filled in. Failures of the config are
// ConfigErrors naming the first field at fault.
func Build(ctx context.Context, id string, raw json.RawMessage, env Env) (Connector, error) {
	registry.RLock()
	if canon, ok := registry.aliases[id]; ok {
		id = canon
	}
	e, ok := registry.byID[id]
	registry.RUnlock()
	if !ok {
		return nil, &UnknownFactoryError{ID: id}
	}
	if err := e.validate(raw); err != nil {
		return nil, err
	}
	cfg := e.factory.NewConfig()
	other, err := decodeConfig(raw, cfg)
	if err != nil {
		return nil, err
	}
	env = env.withDefaults()
	if len(other) > 0 {
		env.Logger.WarnContext(ctx, "the connector config has keys this connector does not know; they are ignored", "keys", other)
	}
	return cfg.Build(ctx, env)
}

// withDefaults fills the members of env the host left nil.
func (env Env) withDefaults() Env {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.HTTPClient == nil {
		env.HTTPClient = &http.Client{}
	}
	if env.Dialer == nil {
		env.Dialer = &net.Dialer{}
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	return env
}

// ValidateSchema checks raw against the factory's JSON Schema only.
func ValidateSchema(id string, raw json.RawMessage) error {
	registry.RLock()
	if canon, ok := registry.aliases[id]; ok {
		id = canon
	}
	e, ok := registry.byID[id]
	registry.RUnlock()
	if !ok {
		return &UnknownFactoryError{ID: id}
	}
	return e.validate(raw)
}

func (e *entry) validate(raw json.RawMessage) error {
	schema, err := e.compiled()
	if err != nil || schema == nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return InvalidConfig("", "not valid JSON: %v", err)
	}
	if _, isObj := doc.(map[string]any); !isObj {
		return InvalidConfig("", "must be a JSON object")
	}
	err = schema.Validate(doc)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return schemaError(ve)
	}
	return err
}

// schemaError turns the deepest schema failure into a ConfigError.
func schemaError(ve *jsonschema.ValidationError) error {
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	loc := leaf.InstanceLocation
	if req, ok := leaf.ErrorKind.(*kind.Required); ok && len(req.Missing) > 0 {
		loc = append(append([]string(nil), loc...), req.Missing[0])
		return &ConfigError{Field: strings.Join(loc, "."), Reason: "is required"}
	}
	if add, ok := leaf.ErrorKind.(*kind.AdditionalProperties); ok && len(add.Properties) > 0 {
		loc = append(append([]string(nil), loc...), slices.Min(add.Properties))
		return &ConfigError{Field: strings.Join(loc, "."), Reason: "is not a field of this connector's config"}
	}
	field := strings.Join(loc, ".")
	// Pattern and format messages quote the value, which may be a secret.
	switch k := leaf.ErrorKind.(type) {
	case *kind.Pattern:
		return &ConfigError{Field: field, Reason: "does not match the pattern " + k.Want}
	case *kind.Format:
		return &ConfigError{Field: field, Reason: "is not a valid " + k.Want}
	}
	return &ConfigError{Field: field, Reason: leaf.ErrorKind.LocalizedString(printer)}
}
