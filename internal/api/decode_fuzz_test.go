package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecode feeds any body to decode for the body type of every route
// that takes one. decode never panics and refuses with guard.invalid_input
// (or 413 for an oversized body), a 4xx that names no internal error. The
// seed corpus runs with every go test.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"email":"alice@example.com"}`, `{"email":"a@example.com","verificationCode":"123456"}`,
		`{"connectorId":"smtp","config":{"host":"127.0.0.1","port":25}}`, `{"config":null}`,
		`{"templates":[{"languageTag":"en","templateType":"Generic","details":{"subject":"s {{code}}","content":"c"}}]}`,
		`{"subject":null,"content":"x"}`, `{"verificationCodePolicy":{"length":"six"}}`, `{"emailBranding":[]}`,
		`[]`, `null`, `"text"`, `12`, `{"email":`, `{"email":"a"}{"email":"b"}`, `{"a":1}`, "\xff\xfe", `{"email":"\ud800"}`,
		`{"email":1e999}`, `{"email":"a","email":"b"}`, strings.Repeat("[", 10000), `{"templates":[` + strings.Repeat(`{},`, 300) + `{}]}`,
		"  \n\t{}", `{"email":"a@example.com"} x`,
	} {
		f.Add([]byte(seed))
	}
	s := &Server{logger: slog.New(slog.DiscardHandler)}
	var types []reflect.Type
	for _, rt := range s.routeTable() {
		if rt.request != nil {
			types = append(types, reflect.TypeOf(rt.request))
		}
	}
	if len(types) == 0 {
		f.Fatal("no route takes a body")
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, typ := range types {
			r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			err := decode(r, reflect.New(typ).Interface())
			if err == nil {
				continue
			}
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("%s: decode(%q) = %v, not an API error", typ, body, err)
			}
			if ae.Code != "guard.invalid_input" && !(ae.Code == "guard.request_too_large" && len(body) > maxBody) {
				t.Fatalf("%s: decode(%q) = %s, want guard.invalid_input", typ, body, ae.Code)
			}
			if got := s.toAPIError(context.Background(), err); got.Status < 400 || got.Status >= 500 || got.Message == "" {
				t.Fatalf("%s: decode(%q) answers %d %q", typ, body, got.Status, got.Message)
			}
			if ae.Status != http.StatusBadRequest && ae.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("%s: decode(%q) status %d", typ, body, ae.Status)
			}
		}
	})
}
