package api_test

import (
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/store"
)

// TestEncodedSecretsNeverShown: an SMTP server that echoes the client's
// AUTH PLAIN line in its refusal, and a Mailgun server that echoes the
// Authorization header (HTTP Basic), answer a real send and a test send.
// Their answers reach the caller, but the password and the API key appear
// in no encoding in any response, in the message log's lastError, in the
// log, or in any database row.
func TestEncodedSecretsNeverShown(t *testing.T) {
	const (
		user     = "mailer@example.com"
		password = "smtp-Pw:Quokka/7+x"
		apiKey   = "key-Mailgun+Pangolin/42"
	)
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var bodies []string
		do := func(method, path string, body any) {
			_, b := a.Do(method, path, body)
			bodies = append(bodies, string(b))
		}

		echo := startAuthEcho(t)
		smtpCfg := map[string]any{"host": "127.0.0.1", "port": echo.port, "ignoreTLS": true, "fromEmail": "no-reply@example.com",
			"auth": map[string]any{"user": user, "pass": password}}
		createConnector(t, a, "smtp", smtpCfg)
		do("POST", "/api/verification-codes", map[string]string{"email": "smtp@example.com"})
		do("POST", "/api/connectors/smtp/test", map[string]any{"email": "smtp-test@example.com", "config": smtpCfg})

		mg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"message":"Invalid private key: Authorization: %s"}`, r.Header.Get("Authorization"))
		}))
		t.Cleanup(mg.Close)
		mgCfg := map[string]any{"apiKey": apiKey, "domain": "mg.example.com", "from": "Acme <no-reply@mg.example.com>", "endpoint": mg.URL}
		createConnector(t, a, "mailgun", mgCfg)
		do("POST", "/api/verification-codes", map[string]string{"email": "mailgun@example.com"})
		do("POST", "/api/connectors/mailgun/test", map[string]any{"email": "mailgun-test@example.com", "config": mgCfg})

		var lastErrors []string
		for _, m := range messages(t, a, "") {
			do("GET", "/api/messages/"+m.ID, nil)
			lastErrors = append(lastErrors, m.LastError)
		}
		// The servers' answers did come through, masked.
		all := strings.Join(bodies, "\n")
		for _, want := range []string{"AUTH PLAIN [redacted]", "Authorization: Basic [redacted]"} {
			if strings.Count(all, want) < 3 { // the send, the test send, the message's log
				t.Errorf("responses carry %q %d times, want at least 3:\n%s", want, strings.Count(all, want), all)
			}
		}
		if len(lastErrors) != 2 || lastErrors[0] == "" || lastErrors[1] == "" {
			t.Errorf("lastError of the messages = %q, want both failures", lastErrors)
		}
		places := map[string]string{"responses": all, "lastError": strings.Join(lastErrors, "\n"), "log": a.Logs(), "database": databaseText(t, a)}
		if !strings.Contains(places["log"], "smtp") || !strings.Contains(places["database"], "Authorization: Basic") {
			t.Fatalf("the log or the database capture looks empty")
		}
		forms := encodings(user, password)
		for k, v := range encodings("api", apiKey) {
			forms["mailgun "+k] = v
		}
		for place, text := range places {
			for name, form := range forms {
				if i := strings.Index(text, form); i >= 0 {
					t.Errorf("the %s hold the %s form of a secret: ...%s...", place, name, text[max(0, i-100):min(len(text), i+len(form)+50)])
				}
			}
		}
	})
}

// encodings are the forms secret travels in with user as its login.
func encodings(user, secret string) map[string]string {
	b64 := base64.StdEncoding.EncodeToString
	return map[string]string{
		"plain":       secret,
		"base64":      b64([]byte(secret)),
		"basic":       b64([]byte(user + ":" + secret)),
		"auth plain":  b64([]byte("\x00" + user + "\x00" + secret)),
		"raw base64":  base64.RawStdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + secret)),
		"query":       url.QueryEscape(secret),
		"path":        url.PathEscape(secret),
		"url base64":  base64.URLEncoding.EncodeToString([]byte(user + ":" + secret)),
		"login user+": b64([]byte(secret)),
	}
}

// databaseText is every row of every table of the app's database, as text.
func databaseText(t *testing.T, a *apptest.App) string {
	t.Helper()
	db := a.App.Store.WriteDB()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if a.App.Store.Dialect() == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	tables := queryStrings(t, db, q)
	if len(tables) < 5 {
		t.Fatalf("found only the tables %v", tables)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("reading %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v\t", v)
			}
			b.WriteString("\n")
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// authEcho is an SMTP server (go-smtp) that offers AUTH PLAIN and refuses
// every login, quoting the client's AUTH line in its 535 reply.
type authEcho struct{ port int }

func startAuthEcho(t *testing.T) *authEcho {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(authEchoBackend{})
	srv.Domain = "echo.localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &authEcho{port: ln.Addr().(*net.TCPAddr).Port}
}

type authEchoBackend struct{}

func (authEchoBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return authEchoSession{}, nil }

type authEchoSession struct{}

func (authEchoSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (authEchoSession) Auth(string) (sasl.Server, error) {
	return echoSASL{}, nil
}
func (authEchoSession) Mail(string, *smtp.MailOptions) error { return nil }
func (authEchoSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (authEchoSession) Data(io.Reader) error                 { return nil }
func (authEchoSession) Reset()                               {}
func (authEchoSession) Logout() error                        { return nil }

// echoSASL refuses the client's response, quoting it as it came.
type echoSASL struct{}

func (echoSASL) Next(response []byte) ([]byte, bool, error) {
	if response == nil {
		return []byte{}, false, nil
	}
	return nil, false, &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
		Message: "credentials refused: AUTH PLAIN " + base64.StdEncoding.EncodeToString(response)}
}
