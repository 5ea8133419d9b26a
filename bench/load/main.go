// Command load measures authmail's send path end to end: it starts an SMTP
// sink, points authmail's active connector at it, sends N verification
// codes to distinct addresses at a given concurrency and reports
// requests/s, request latency, code-to-inbox latency (request start to the
// sink receiving the message), delivered/requested, and the server's CPU
// per code and peak RSS.
//
//	go run ./bench/load -db sqlite -n 2000 -c 8
//	go run ./bench/load -db postgres -n 20000 -c 32 -database-url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	go run ./bench/load -baseline -n 20000 -c 8   (the sink's own throughput, no authmail)
//
// By default authmail runs as a separate process (-mode binary), built
// from ./cmd/authmail, so its CPU and memory are measured apart from the
// load generator. -mode inproc runs it inside this process instead (CPU
// and RSS then include the generator). On PostgreSQL every run gets a
// fresh schema, dropped at the end. Everything listens on 127.0.0.1 and
// every wait is bounded.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/authmail/authmail/internal/smtpsink"
)

// options are the command-line flags.
type options struct {
	db          string
	databaseURL string
	mode        string
	n, c        int
	warmup      int
	smtpConns   int
	workers     int
	timeout     time.Duration
	cpuProfile  string
	baseline    bool
	verbose     bool
	server      string
	scenario    string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.StringVar(&o.db, "db", "sqlite", "database: sqlite or postgres")
	fs.StringVar(&o.databaseURL, "database-url", envOr("AUTHMAIL_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		"PostgreSQL URL; each run creates and drops its own schema in it")
	fs.StringVar(&o.mode, "mode", "binary", "binary: build and run ./cmd/authmail as its own process; inproc: run the app in this process")
	fs.IntVar(&o.n, "n", 2000, "codes to send (distinct addresses)")
	fs.IntVar(&o.c, "c", 8, "concurrent requests")
	fs.IntVar(&o.warmup, "warmup", 200, "codes sent before measuring")
	fs.IntVar(&o.smtpConns, "smtp-conns", 0, "the SMTP connector's maxConnections (0: c, at least 4, at most 32)")
	fs.IntVar(&o.workers, "workers", 32, "authmail's delivery workers (--workers)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "bound on the whole run")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "binary mode: the server writes its CPU profile (start to exit) here, through AUTHMAIL_CPU_PROFILE")
	fs.BoolVar(&o.baseline, "baseline", false, "measure the SMTP sink alone: a plain go-smtp client sends N messages at concurrency c")
	fs.BoolVar(&o.verbose, "v", false, "show the server's log")
	fs.StringVar(&o.server, "server", "", "binary mode: run this authmail binary instead of building ./cmd/authmail (an older build, for an interleaved comparison)")
	fs.StringVar(&o.scenario, "scenario", "codes", "codes: send codes through the management API; signin: whole sign-ins by email code through the OIDC provider and the experience API (authorize, send, receive, verify, identify, submit, token)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.db != "sqlite" && o.db != "postgres":
		return o, fmt.Errorf("-db must be sqlite or postgres")
	case o.mode != "binary" && o.mode != "inproc":
		return o, fmt.Errorf("-mode must be binary or inproc")
	case o.scenario != "codes" && o.scenario != "signin":
		return o, fmt.Errorf("-scenario must be codes or signin")
	case o.baseline && o.scenario != "codes":
		return o, fmt.Errorf("-baseline measures the sink alone; it takes no -scenario")
	case o.n < 1 || o.c < 1 || o.warmup < 0:
		return o, fmt.Errorf("-n and -c must be positive, -warmup not negative")
	}
	if o.smtpConns == 0 {
		o.smtpConns = min(max(o.c, 4), 32)
	}
	return o, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var res Result
	switch {
	case o.baseline:
		res, err = runBaseline(ctx, o)
	case o.scenario == "signin":
		res, err = runSignIn(ctx, o)
	default:
		res, err = run(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	res.print(os.Stdout)
}

// Result is one run's figures. The JSON form is the last line printed.
type Result struct {
	Scenario       string  `json:"scenario,omitempty"`
	DB             string  `json:"db"`
	Mode           string  `json:"mode"`
	N              int     `json:"n"`
	C              int     `json:"c"`
	Accepted       int     `json:"accepted"`
	Delivered      int     `json:"delivered"`
	Errors         int     `json:"errors"`
	RequestSeconds float64 `json:"requestSeconds"`
	RequestsPerSec float64 `json:"requestsPerSec"`
	DeliveredPerS  float64 `json:"deliveredPerSec"`
	ReqP50Ms       float64 `json:"requestP50Ms"`
	ReqP99Ms       float64 `json:"requestP99Ms"`
	InboxP50Ms     float64 `json:"inboxP50Ms"`
	InboxP99Ms     float64 `json:"inboxP99Ms"`
	DeliveredRatio float64 `json:"deliveredRatio"`
	CPUMsPerCode   float64 `json:"cpuMsPerCode"`
	MachineCPUMs   float64 `json:"machineCpuMsPerCode"`
	ToolCPUMs      float64 `json:"toolCpuMsPerCode"`
	MachineBusy    float64 `json:"machineBusy"`
	PeakRSSMB      float64 `json:"peakRssMB"`
	RSSMB          float64 `json:"rssMB"`
	FirstError     string  `json:"firstError,omitempty"`
}

func (r Result) print(w io.Writer) {
	if r.Scenario == "signin" {
		r.printSignIn(w)
		return
	}
	fmt.Fprintf(w, "database            %s (%s), n=%d c=%d\n", r.DB, r.Mode, r.N, r.C)
	fmt.Fprintf(w, "requests/s          %.0f (accepted %d in %.2fs, errors %d)\n", r.RequestsPerSec, r.Accepted, r.RequestSeconds, r.Errors)
	fmt.Fprintf(w, "delivered/s         %.0f\n", r.DeliveredPerS)
	fmt.Fprintf(w, "request p50/p99     %.2f / %.2f ms\n", r.ReqP50Ms, r.ReqP99Ms)
	fmt.Fprintf(w, "code-to-inbox p50/p99 %.2f / %.2f ms\n", r.InboxP50Ms, r.InboxP99Ms)
	fmt.Fprintf(w, "delivered/requested %d/%d (%.2f%%)\n", r.Delivered, r.N, 100*r.DeliveredRatio)
	if r.PeakRSSMB > 0 {
		fmt.Fprintf(w, "cpu per code        %.3f ms (server process); %.3f ms this tool (client and sink); %.3f ms machine-wide (%.0f%% of all CPUs busy)\n",
			r.CPUMsPerCode, r.ToolCPUMs, r.MachineCPUMs, 100*r.MachineBusy)
		fmt.Fprintf(w, "rss                 peak %.1f MB, now %.1f MB (server process)\n", r.PeakRSSMB, r.RSSMB)
	}
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error         %s\n", r.FirstError)
	}
	b, _ := json.Marshal(r)
	fmt.Fprintln(w, string(b))
}

// run measures authmail against the sink.
func run(ctx context.Context, o options) (Result, error) {
	sink, err := smtpsink.Start()
	if err != nil {
		return Result{}, fmt.Errorf("starting the SMTP sink: %w", err)
	}
	defer sink.Close()
	arrivals := sink.Subscribe(o.n + o.warmup + 1000)

	dbURL, dropDB, err := prepareDatabase(ctx, o)
	if err != nil {
		return Result{}, err
	}
	defer dropDB()

	logOut := io.Discard
	if o.verbose {
		logOut = os.Stderr
	}
	srv, err := startServer(ctx, o, dbURL, logOut)
	if err != nil {
		return Result{}, err
	}
	defer srv.stop()

	cl := newClient(srv.baseURL, srv.adminKey, o.c)
	if err := cl.createSMTPConnector(ctx, sink.Port(), o.smtpConns); err != nil {
		return Result{}, err
	}
	if err := cl.raiseCaps(ctx); err != nil {
		return Result{}, err
	}
	col := newCollector(arrivals)
	go col.run(ctx)

	if o.warmup > 0 {
		w := cl.send(ctx, "warm", o.warmup, o.c)
		if w.accepted() == 0 {
			return Result{}, fmt.Errorf("warm-up: no code accepted: %s", w.firstError())
		}
		col.wait(ctx, w.recipients(), 30*time.Second)
	}

	self := &server{pid: os.Getpid()}
	cpu0, mach0, tool0, t0 := srv.cpuTime(), machineCPU(), self.cpuTime(), time.Now()
	batch := cl.send(ctx, "run", o.n, o.c)
	col.wait(ctx, batch.recipients(), 60*time.Second)
	cpu1, mach1, tool1, elapsed := srv.cpuTime(), machineCPU(), self.cpuTime(), time.Since(t0)
	res := summarize(o, batch, col)
	if n := res.Accepted; n > 0 {
		res.CPUMsPerCode = float64(cpu1-cpu0) / float64(time.Millisecond) / float64(n)
		res.MachineCPUMs = float64(mach1-mach0) / float64(time.Millisecond) / float64(n)
		res.ToolCPUMs = float64(tool1-tool0) / float64(time.Millisecond) / float64(n)
		res.MachineBusy = float64(mach1-mach0) / float64(elapsed) / float64(runtime.NumCPU())
	}
	res.PeakRSSMB, res.RSSMB = srv.memory()
	return res, nil
}

func (r Result) printSignIn(w io.Writer) {
	fmt.Fprintf(w, "database            %s (%s), sign-ins n=%d c=%d\n", r.DB, r.Mode, r.N, r.C)
	fmt.Fprintf(w, "sign-ins/s          %.0f (completed %d in %.2fs, errors %d)\n", r.RequestsPerSec, r.Accepted, r.RequestSeconds, r.Errors)
	fmt.Fprintf(w, "sign-in p50/p99     %.2f / %.2f ms (authorize to tokens)\n", r.ReqP50Ms, r.ReqP99Ms)
	fmt.Fprintf(w, "send-to-inbox p50/p99 %.2f / %.2f ms\n", r.InboxP50Ms, r.InboxP99Ms)
	if r.PeakRSSMB > 0 {
		fmt.Fprintf(w, "cpu per sign-in     %.3f ms (server process); %.3f ms this tool (client and sink); %.3f ms machine-wide (%.0f%% of all CPUs busy)\n",
			r.CPUMsPerCode, r.ToolCPUMs, r.MachineCPUMs, 100*r.MachineBusy)
		fmt.Fprintf(w, "rss                 peak %.1f MB, now %.1f MB (server process)\n", r.PeakRSSMB, r.RSSMB)
	}
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error         %s\n", r.FirstError)
	}
	b, _ := json.Marshal(r)
	fmt.Fprintln(w, string(b))
}
