package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/store/storetest"
)

// designRoutes reads the routes the contract promises: every
// "METHOD /path" in the route table of docs/DESIGN.md section 8 (a cell
// may list methods as GET/PATCH; a query string is not part of the route).
func designRoutes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "DESIGN.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## 8. HTTP API")
	if !ok {
		t.Fatal("docs/DESIGN.md has no section 8. HTTP API")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	cell := regexp.MustCompile("`((?:[A-Z]+/)*[A-Z]+) (/[^` ?]*)")
	var out []string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		for _, m := range cell.FindAllStringSubmatch(line, -1) {
			for _, method := range strings.Split(m[1], "/") {
				out = append(out, method+" "+m[2])
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d routes in the route table of docs/DESIGN.md section 8: %v", len(out), out)
	}
	return out
}

// undocumented are mux patterns that are deliberately not API operations.
var undocumented = map[string]string{
	"/":            "the JSON 404 for unknown routes",
	"GET /metrics": "Prometheus text exposition, not JSON",
}

type openAPIDoc struct {
	OpenAPI string                               `json:"openapi"`
	Paths   map[string]map[string]map[string]any `json:"paths"`
}

func fetchOpenAPI(t *testing.T, a *apptest.App) openAPIDoc {
	t.Helper()
	resp, b := a.Request("GET", "/api/openapi.json", http.Header{}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/openapi.json without a key: %d", resp.StatusCode)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	return doc
}

func documented(doc openAPIDoc) map[string]bool {
	out := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			out[strings.ToUpper(method)+" "+path] = true
		}
	}
	return out
}

// TestOpenAPI: every route of the design's route table is in the OpenAPI
// document, and every documented operation is served.
func TestOpenAPI(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		doc := fetchOpenAPI(t, a)
		// The served document is one kin-openapi loads and validates: the
		// contract every request of the test client is held to.
		resp, raw := a.Request("GET", "/api/openapi.json", http.Header{}, nil)
		if resp.StatusCode != http.StatusOK || len(raw) == 0 {
			t.Fatalf("GET /api/openapi.json: %d with %d bytes", resp.StatusCode, len(raw))
		}
		if _, err := apptest.NewContract(raw); err != nil {
			t.Fatalf("the served document: %v", err)
		}
		have := documented(doc)
		for _, r := range designRoutes(t) {
			if !have[r] {
				t.Errorf("%s is in docs/DESIGN.md section 8 but not in the OpenAPI document", r)
			}
		}
		ids := map[string]string{}
		param := regexp.MustCompile(`\{\w+\}`)
		for op := range have {
			method, path, _ := strings.Cut(op, " ")
			spec := doc.Paths[path][strings.ToLower(method)]
			id, _ := spec["operationId"].(string)
			if id == "" || ids[id] != "" {
				t.Errorf("%s: operationId %q missing or also used by %s", op, id, ids[id])
			}
			ids[id] = op
			if _, ok := spec["responses"].(map[string]any); !ok {
				t.Errorf("%s has no responses", op)
			}
			// Probe with made-up IDs and no body: the route must exist, so
			// the answer is never the router's 404 or a 405, nor a 500.
			status, b := a.Do(method, param.ReplaceAllString(path, "probe"), nil)
			var e apptest.Error
			_ = json.Unmarshal(b, &e)
			if status == http.StatusMethodNotAllowed || e.Code == "request.not_found" || status >= 500 {
				t.Errorf("%s: documented but answered %d %s", op, status, b)
			}
		}
	})
}

// TestMuxRoutesDocumented reads the package's source for patterns given to
// a ServeMux directly: any such route must be in the OpenAPI document (or
// be listed in undocumented with a reason).
func TestMuxRoutesDocumented(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var patterns []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true // the route table loop: documented by construction
			}
			p, _ := strconv.Unquote(lit.Value)
			patterns = append(patterns, p)
			return true
		})
	}
	if len(patterns) == 0 {
		t.Fatal("found no literal mux patterns; the source scan is broken")
	}
	// The document does not depend on the database: SQLite only.
	a := apptest.New(t, storetest.SQLiteURL(t))
	have := documented(fetchOpenAPI(t, a))
	for _, p := range patterns {
		if _, ok := undocumented[p]; !ok && !have[p] {
			t.Errorf("mux pattern %q is registered outside the route table and missing from the OpenAPI document", p)
		}
	}
}

// TestHealthAndMetrics covers /healthz, /readyz and /metrics.
func TestHealthAndMetrics(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
			resp, b := a.Request("GET", path, http.Header{}, nil)
			var body map[string]string
			if resp.StatusCode != 200 || json.Unmarshal(b, &body) != nil || body["status"] != want {
				t.Errorf("GET %s: %d %s, want 200 status %q", path, resp.StatusCode, b, want)
			}
		}
		sendCode(t, a, "nina@example.com")
		resp, b := a.Request("GET", "/metrics", http.Header{}, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /metrics: %d", resp.StatusCode)
		}
		sent := metricValue(b, "authmail_messages_total", `connector="dev-inbox"`, `outcome="sent"`, `usage_type="Generic"`)
		if sent != 1 {
			t.Errorf("authmail_messages_total{dev-inbox, sent, Generic} = %v, want 1\n%s", sent, grepLines(b, "authmail_"))
		}
		if v := metricValue(b, "authmail_messages_enqueued_total"); v != 1 {
			t.Errorf("authmail_messages_enqueued_total = %v, want 1", v)
		}
		if v := metricValue(b, "authmail_queue_depth"); v != 0 {
			t.Errorf("authmail_queue_depth = %v, want 0", v)
		}
	})
}

// metricValue returns the value of the sample of name whose labels hold
// every one of labels, or -1.
func metricValue(exposition []byte, name string, labels ...string) float64 {
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			return v
		}
	}
	return -1
}

func grepLines(b []byte, prefix string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
