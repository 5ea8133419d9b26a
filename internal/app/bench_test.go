package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/app"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/smtpsink"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/tenant"
)

// benchApp starts an app on databaseURL whose active connector is the SMTP
// connector pointed at a fresh sink.
func benchApp(b *testing.B, databaseURL string) (*app.App, *smtpsink.Sink) {
	b.Helper()
	ctx := context.Background()
	sink, err := smtpsink.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sink.Close() })
	// The sink listens on loopback, which only an operator's setting opens to connectors.
	s := config.Settings{DataDir: b.TempDir(), Database: databaseURL, Workers: 32, FirstAttemptWait: 8 * time.Second, AllowPrivateEndpoints: true}
	const adminKey = "am_bench_key_0123456789"
	a, err := app.New(ctx, s, app.Options{SecretKey: keyring.RandomBytes(keyring.KeySize), AdminKey: adminKey},
		slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		_ = a.Stop(sctx)
	})
	call := func(method, path string, v any) {
		body, _ := json.Marshal(v)
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			resp, _ := io.ReadAll(rec.Body)
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, resp)
		}
	}
	call("POST", "/api/connectors", map[string]any{"connectorId": "smtp", "config": map[string]any{
		"host": "127.0.0.1", "port": sink.Port(), "fromEmail": "no-reply@bench.test", "maxConnections": 8}})
	// Every recipient is at one domain, thousands in a minute: the domain
	// and tenant caps go to their highest values, still counted per send.
	call("PATCH", "/api/sign-in-exp", map[string]any{"verificationCodePolicy": map[string]any{
		"domainSendLimit": 1000000, "tenantSendLimit": 10000000}})
	return a, sink
}

// BenchmarkSendCode measures a whole send through the in-process app:
// code issued, template rendered, message and job committed, first
// attempt delivered to a real SMTP server, outcome recorded. Each
// iteration is a new recipient; every message must reach the sink.
func BenchmarkSendCode(b *testing.B) {
	for _, db := range []struct {
		name string
		url  func(testing.TB) string
	}{{"SQLite", storetest.SQLiteURL}, {"Postgres", storetest.PostgresURL}} {
		for _, parallel := range []bool{false, true} {
			name := db.name
			if parallel {
				name += "/Parallel8"
			}
			b.Run(name, func(b *testing.B) {
				a, sink := benchApp(b, db.url(b))
				ctx := context.Background()
				before := len(sink.Messages())
				var i atomic.Int64
				send := func() {
					n := i.Add(1)
					err := a.Codes.SendCode(ctx, sendcode.Request{Tenant: tenant.Default, Usage: connector.UsageGeneric,
						Email: benchAddress(n)})
					if err != nil {
						b.Error(err)
					}
				}
				if parallel {
					b.SetParallelism(4) // 8 senders on 2 CPUs
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							send()
						}
					})
				} else {
					for b.Loop() {
						send()
					}
				}
				b.StopTimer()
				if got, want := len(sink.Messages())-before, int(i.Load()); got != want {
					b.Fatalf("sink received %d messages, want %d", got, want)
				}
			})
		}
	}
}

// benchAddress is the n-th distinct recipient of a benchmark.
func benchAddress(n int64) address.Address {
	a, err := address.Parse("u" + strconv.FormatInt(n, 10) + "@bench.test")
	if err != nil {
		panic(err)
	}
	return a
}
