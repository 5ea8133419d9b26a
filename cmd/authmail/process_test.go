package main

// Process-level tests: TestMain builds the real authmail binary once, and
// each test runs it as a child process, talks to it over HTTP and points
// its SMTP connector at an in-process SMTP sink.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/smtpsink"
	"github.com/authmail/authmail/internal/testwait"
)

// binary is the authmail executable built by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "authmail-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "authmail")
	gotool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "the go tool is needed to build authmail:", err)
		return 1
	}
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command(gotool, append(args, "github.com/authmail/authmail/cmd/authmail")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building authmail:", err)
		return 1
	}
	return m.Run()
}

// syncBuffer collects a child's output while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logLine is one JSON log record.
type logLine map[string]any

func (l logLine) str(key string) string { s, _ := l[key].(string); return s }

// lines parses the JSON log records in s, skipping other output.
func lines(s string) []logLine {
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// instance describes how to start authmail: the same instance started
// again is a restart on the same data.
type instance struct {
	dataDir  string
	database string   // "" means SQLite in dataDir
	env      []string // AUTHMAIL_* variables
	args     []string // extra flags
	// bare runs `authmail --addr 127.0.0.1:0` in workDir with the default
	// data dir and text logs, as a user would.
	bare    bool
	workDir string
}

// keys are the admin and secret keys most tests pass in the environment.
type keys struct{ admin, secret string }

func newKeys() keys {
	return keys{admin: "am_test_" + strconv.FormatInt(time.Now().UnixNano(), 36), secret: keyring.NewKey()}
}

func (k keys) env() []string {
	return []string{"AUTHMAIL_ADMIN_KEY=" + k.admin, "AUTHMAIL_SECRET_KEY=" + k.secret}
}

// newInstance is an instance with a fresh data dir and the given keys.
func newInstance(t *testing.T, k keys, database string) instance {
	return instance{dataDir: filepath.Join(t.TempDir(), "data"), database: database, env: k.env()}
}

// proc is a running authmail child process.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *syncBuffer
	url  string
	done chan struct{}
	err  error // Wait's result, set before done closes
	key  string
}

// baseEnv is the test's environment without AUTHMAIL_* variables.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUTHMAIL_") {
			env = append(env, kv)
		}
	}
	return env
}

// command runs the binary to completion and returns its exit code,
// stdout and stderr.
func command(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(baseEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting authmail: %v", err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("authmail %s did not exit within 60s", strings.Join(args, " "))
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// start runs authmail serve for inst and waits until it is ready.
func (inst instance) start(t *testing.T) *proc {
	t.Helper()
	// The tests' SMTP sinks and receivers listen on loopback, which the
	// outbound policy refuses unless allowed.
	args := []string{"serve", "--data-dir", inst.dataDir, "--addr", "127.0.0.1:0", "--log-format", "json", "--allow-endpoints", "127.0.0.0/8,::1"}
	dir := filepath.Dir(inst.dataDir)
	if inst.bare {
		args, dir = []string{"--addr", "127.0.0.1:0"}, inst.workDir
	}
	if inst.database != "" {
		args = append(args, "--database", inst.database)
	}
	args = append(args, inst.args...)
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(), inst.env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting authmail: %v", err)
	}
	p := &proc{t: t, cmd: cmd, out: out, done: make(chan struct{})}
	for _, kv := range inst.env {
		if v, ok := strings.CutPrefix(kv, "AUTHMAIL_ADMIN_KEY="); ok {
			p.key = v
		}
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if strings.Contains(out.String(), "WARNING: DATA RACE") {
			t.Errorf("the race detector found a data race in authmail")
		}
		if t.Failed() {
			t.Logf("authmail pid %d output:\n%s", cmd.Process.Pid, tail(out.String(), 60))
		}
	})
	p.waitReady()
	return p
}

func tail(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady waits for the "authmail listening" log line, then for /readyz.
func (p *proc) waitReady() {
	p.t.Helper()
	testwait.Until(p.t, 30*time.Second, func() bool {
		if p.exited() {
			p.t.Fatalf("authmail exited during start (%v):\n%s", p.err, p.out.String())
		}
		p.url = listeningURL(p.out.String())
		return p.url != ""
	}, "authmail to listen")
	testwait.Until(p.t, 30*time.Second, func() bool {
		resp, err := http.Get(p.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "authmail to be ready")
}

var textListening = regexp.MustCompile(`msg="authmail listening" url=(\S+)`)

// listeningURL finds the URL in the "authmail listening" log line, in JSON
// or text form.
func listeningURL(out string) string {
	for _, l := range lines(out) {
		if l.str("msg") == "authmail listening" {
			return l.str("url")
		}
	}
	if m := textListening.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// kill ends the process with SIGKILL, if it still runs, and waits for it.
func (p *proc) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// terminate sends SIGTERM and returns the exit code, failing the test if
// the process takes longer than limit.
func (p *proc) terminate(limit time.Duration) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(limit):
		p.t.Fatalf("authmail did not exit within %s of SIGTERM", limit)
	}
	return p.cmd.ProcessState.ExitCode()
}

// do sends an API request with the admin key and returns the status and
// body. It fails the test only when the request cannot be made at all.
func (p *proc) do(method, path string, body any) (int, []byte) {
	p.t.Helper()
	status, b, err := p.try(method, path, body)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, b
}

// try is do returning the transport error instead of failing.
func (p *proc) try(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.url+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.key != "" {
		req.Header.Set("Authorization", "Bearer "+p.key)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// mustDo is do that fails the test unless the status is want, and decodes
// the JSON answer into out when out is not nil.
func (p *proc) mustDo(method, path string, body any, want int, out any) {
	p.t.Helper()
	status, b := p.do(method, path, body)
	if status != want {
		p.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			p.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

// sendCode asks for a Generic code to be sent to email.
func (p *proc) sendCode(email string) (int, []byte, error) {
	return p.try("POST", "/api/verification-codes", map[string]string{"email": email})
}

// useSink makes the SMTP connector, pointed at sink, the active one.
func (p *proc) useSink(sink *testSink) {
	p.t.Helper()
	p.mustDo("POST", "/api/connectors", map[string]any{"connectorId": "smtp", "config": map[string]any{
		"host": "127.0.0.1", "port": sink.Port(), "fromEmail": "Authmail Test <no-reply@example.com>"}}, http.StatusOK, nil)
}

// apiMessage is the part of GET /api/messages the tests read.
type apiMessage struct {
	ID        string `json:"id"`
	To        string `json:"to"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"lastError"`
}

// messages returns the message log, keyed by recipient.
func (p *proc) messages() map[string][]apiMessage {
	p.t.Helper()
	var list []apiMessage
	p.mustDo("GET", "/api/messages?limit=500", nil, http.StatusOK, &list)
	out := map[string][]apiMessage{}
	for _, m := range list {
		out[m.To] = append(out[m.To], m)
	}
	return out
}

// sentCount sums authmail_messages_total{outcome="sent"} from /metrics.
func (p *proc) sentCount() int {
	p.t.Helper()
	status, b := p.do("GET", "/metrics", nil)
	if status != http.StatusOK {
		p.t.Fatalf("GET /metrics: status %d", status)
	}
	total := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "authmail_messages_total{") && strings.Contains(line, `outcome="sent"`) {
			f := strings.Fields(line)
			n, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				p.t.Fatalf("metrics line %q: %v", line, err)
			}
			total += int(n)
		}
	}
	return total
}

// testSink is an smtpsink whose RCPT behaviour the test sets: accept,
// refuse temporarily, or hold the command (a send in flight). It counts
// the RCPT commands each recipient got.
type testSink struct {
	*smtpsink.Sink
	mu       sync.Mutex
	rule     func(rcpt string) rcptAction
	attempts map[string]int
}

// rcptAction is what the sink does with one RCPT command.
type rcptAction struct {
	hold    <-chan struct{} // wait for this to close before answering
	delay   time.Duration   // wait this long before answering
	refuse  bool            // answer 451 4.3.0
	holdMax time.Duration   // upper bound on hold
}

var (
	accept  = rcptAction{}
	tempErr = rcptAction{refuse: true}
)

func startSink(t *testing.T) *testSink {
	t.Helper()
	s, err := smtpsink.Start()
	if err != nil {
		t.Fatalf("starting smtp sink: %v", err)
	}
	ts := &testSink{Sink: s, attempts: map[string]int{}}
	s.FailRecipients(ts.rcpt)
	t.Cleanup(func() { _ = s.Close() })
	return ts
}

// setRule replaces the RCPT rule; nil accepts everything.
func (s *testSink) setRule(rule func(rcpt string) rcptAction) {
	s.mu.Lock()
	s.rule = rule
	s.mu.Unlock()
}

// attemptsFor returns how many RCPT commands rcpt got.
func (s *testSink) attemptsFor(rcpt string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[strings.ToLower(rcpt)]
}

func (s *testSink) rcpt(to string) *smtp.SMTPError {
	s.mu.Lock()
	s.attempts[strings.ToLower(to)]++
	rule := s.rule
	s.mu.Unlock()
	a := accept
	if rule != nil {
		a = rule(to)
	}
	if a.hold != nil {
		limit := a.holdMax
		if limit == 0 {
			limit = 2 * time.Minute
		}
		select {
		case <-a.hold:
		case <-time.After(limit):
		}
	}
	if a.delay > 0 {
		time.Sleep(a.delay)
	}
	if a.refuse {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	return nil
}

// receivedBy counts the messages each address received.
func (s *testSink) receivedBy() map[string]int {
	out := map[string]int{}
	for _, m := range s.Messages() {
		for _, r := range m.To {
			out[strings.ToLower(r)]++
		}
	}
	return out
}

// recipients returns n distinct addresses with a prefix.
func recipients(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d@example.com", prefix, i)
	}
	return out
}
