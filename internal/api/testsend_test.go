package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/store/storetest"
)

// TestProviderTestSendShowsTheProviderAnswer runs the unsaved-config test
// send against a server speaking each provider's API: a success answers
// 204, and a refusal answers 400 connector.general carrying the provider's
// own message.
func TestProviderTestSendShowsTheProviderAnswer(t *testing.T) {
	type provider struct {
		id      string
		config  func(url string) map[string]any
		ok      func(w http.ResponseWriter)
		refuse  func(w http.ResponseWriter)
		message string
	}
	jsonBody := func(w http.ResponseWriter, status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
	providers := []provider{
		{
			id: "sendgrid",
			config: func(u string) map[string]any {
				return map[string]any{"apiKey": "SG.test-key", "fromEmail": "no-reply@auth.example.com", "endpoint": u}
			},
			ok: func(w http.ResponseWriter) {
				w.Header().Set("X-Message-Id", "sg-1")
				w.WriteHeader(http.StatusAccepted)
			},
			refuse: func(w http.ResponseWriter) {
				jsonBody(w, 403, `{"errors":[{"message":"The from address does not match a verified Sender Identity","field":"from"}]}`)
			},
			message: "does not match a verified Sender Identity",
		},
		{
			id: "mailgun",
			config: func(u string) map[string]any {
				return map[string]any{"apiKey": "key-test", "domain": "mg.example.com", "from": "Acme <no-reply@mg.example.com>", "endpoint": u}
			},
			ok: func(w http.ResponseWriter) {
				jsonBody(w, 200, `{"id":"<mg-1@mg.example.com>","message":"Queued. Thank you."}`)
			},
			refuse: func(w http.ResponseWriter) {
				jsonBody(w, 400, `{"message":"to parameter is not a valid address. please check documentation"}`)
			},
			message: "to parameter is not a valid address",
		},
		{
			id: "postmark",
			config: func(u string) map[string]any {
				return map[string]any{"serverToken": "pm-token", "fromEmail": "no-reply@auth.example.com", "endpoint": u}
			},
			ok: func(w http.ResponseWriter) {
				jsonBody(w, 200, `{"To":"you@example.com","SubmittedAt":"2026-11-25T10:00:00Z","MessageID":"pm-1","ErrorCode":0,"Message":"OK"}`)
			},
			refuse: func(w http.ResponseWriter) {
				jsonBody(w, 422, `{"ErrorCode":406,"Message":"You tried to send to a recipient that has been marked as inactive."}`)
			},
			message: "marked as inactive",
		},
		{
			id: "aws-ses",
			config: func(u string) map[string]any {
				return map[string]any{"accessKeyId": "AKIDTEST", "accessKeySecret": "ses-secret", "region": "eu-west-1", "emailAddress": "no-reply@auth.example.com", "endpoint": u}
			},
			ok: func(w http.ResponseWriter) { jsonBody(w, 200, `{"MessageId":"ses-1"}`) },
			refuse: func(w http.ResponseWriter) {
				w.Header().Set("x-amzn-ErrorType", "MessageRejected")
				jsonBody(w, 400, `{"message":"Email address is not verified. The following identities failed the check in region EU-WEST-1"}`)
			},
			message: "Email address is not verified",
		},
		{
			id: "aliyun-dm",
			config: func(u string) map[string]any {
				return map[string]any{"accessKeyId": "LTAITEST", "accessKeySecret": "ali-secret", "accountName": "no-reply@auth.example.com", "endpoint": u}
			},
			ok: func(w http.ResponseWriter) { jsonBody(w, 200, `{"EnvId":"600000","RequestId":"req-1"}`) },
			refuse: func(w http.ResponseWriter) {
				jsonBody(w, 400, `{"Code":"InvalidToAddress","Message":"The specified toAddress is invalid.","RequestId":"req-2","HostId":"dm.aliyuncs.com"}`)
			},
			message: "The specified toAddress is invalid",
		},
	}
	a := apptest.New(t, storetest.SQLiteURL(t))
	for _, p := range providers {
		t.Run(p.id, func(t *testing.T) {
			var refuse atomic.Bool
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if refuse.Load() {
					p.refuse(w)
					return
				}
				p.ok(w)
			}))
			t.Cleanup(srv.Close)
			body := map[string]any{"email": "you@example.com", "config": p.config(srv.URL)}
			if status, b := a.Do("POST", "/api/connectors/"+p.id+"/test", body); status != http.StatusNoContent {
				t.Fatalf("test send to an accepting provider = %d %s", status, b)
			}
			refuse.Store(true)
			e := a.WantError("POST", "/api/connectors/"+p.id+"/test", body, http.StatusBadRequest, "connector.general")
			if !strings.Contains(e.Message, p.message) {
				t.Errorf("error %q does not carry the provider's message %q", e.Message, p.message)
			}
			if calls.Load() != 2 {
				t.Errorf("provider got %d calls, want 2", calls.Load())
			}
			// A test send saves nothing.
			var list []map[string]any
			a.JSON("GET", "/api/connectors", nil, http.StatusOK, &list)
			for _, c := range list {
				if c["connectorId"] == p.id {
					t.Errorf("the test send saved a %s connector", p.id)
				}
			}
		})
	}
}

// TestTestSendKeepsStoredSecrets: a console that tests an edit of the saved
// connector sends the secrets back redacted; the test uses the stored ones.
func TestTestSendKeepsStoredSecrets(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	a := apptest.New(t, storetest.SQLiteURL(t))
	a.JSON("POST", "/api/connectors", map[string]any{"connectorId": "http-email",
		"config": map[string]any{"endpoint": srv.URL, "authorization": "Bearer stored-token"}}, http.StatusOK, nil)
	body := map[string]any{"email": "you@example.com", "config": map[string]any{"endpoint": srv.URL, "authorization": "[redacted]"}}
	if status, b := a.Do("POST", "/api/connectors/http-email/test", body); status != http.StatusNoContent {
		t.Fatalf("test send = %d %s", status, b)
	}
	if got.Load() != "Bearer stored-token" {
		t.Fatalf("receiver got Authorization %q, want the stored secret", got.Load())
	}
}
