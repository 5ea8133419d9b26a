package oidc_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
)

// logtoClient is Logto's own Management API client (@logto/api, from the
// npm registry at the version testdata/logto-api pins), installed once per
// test run in a temporary folder.
func logtoClient(t *testing.T) (dir string) {
	t.Helper()
	_, errNode := exec.LookPath("node")
	npm, errNPM := exec.LookPath("npm")
	if errNode != nil || errNPM != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("Node.js and npm are needed to run Logto's Management API client")
		}
		t.Skip("Node.js and npm are not installed; Logto's Management API client runs in CI")
	}
	dir = t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "m2m.mjs"} {
		b, err := os.ReadFile(filepath.Join("testdata", "logto-api", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing @logto/api: %v\n%s", err, out)
	}
	return dir
}

// TestLogtosManagementClientWorksWithMachineToMachineCredentials: an admin
// sets up a machine-to-machine app as Logto's guide says (create it, find
// the management API role with GET /api/roles?type=MachineToMachine, give
// it with POST /api/applications/{id}/roles), and Logto's own client,
// createManagementApi('default', {clientId, clientSecret, baseUrl}), gets a
// token with scope all and creates and lists users with it, unchanged.
func TestLogtosManagementClientWorksWithMachineToMachineCredentials(t *testing.T) {
	dir := logtoClient(t)
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var created struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		}
		a.JSON("POST", "/api/applications", map[string]any{"name": "Backend job", "type": "MachineToMachine"}, 200, &created)
		var roles []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		a.JSON("GET", "/api/roles?type=MachineToMachine", nil, 200, &roles)
		i := slices.IndexFunc(roles, func(r struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}) bool {
			return r.ID == apps.ManagementRoleID
		})
		if i < 0 {
			t.Fatalf("GET /api/roles?type=MachineToMachine lists no management API role: %+v", roles)
		}
		a.JSON("POST", "/api/applications/"+created.ID+"/roles", map[string]any{"roleIds": []string{roles[i].ID}}, 201, nil)

		email := "made-by-logto-client@example.com"
		cmd := exec.Command("node", "m2m.mjs")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "BASE_URL="+a.BaseURL, "CLIENT_ID="+created.ID, "CLIENT_SECRET="+created.Secret,
			"NEW_USER_EMAIL="+email)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("Logto's client: %v\n%s", err, stderr.String())
		}
		if w := strings.TrimSpace(stderr.String()); w != "" {
			t.Errorf("Logto's client warned: %s", w) // it warns when the scope is not "all"
		}
		var got struct {
			Scope        string   `json:"scope"`
			CreateStatus int      `json:"createStatus"`
			CreatedID    string   `json:"createdId"`
			ListStatus   int      `json:"listStatus"`
			ListedEmails []string `json:"listedEmails"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("Logto's client printed %q: %v", out, err)
		}
		if got.Scope != apps.ManagementScope || got.CreateStatus != 200 || got.CreatedID == "" || got.ListStatus != 200 ||
			!slices.Equal(got.ListedEmails, []string{email}) {
			t.Fatalf("Logto's client saw %+v; want scope all, the user created (200) and listed", got)
		}
		var user struct {
			PrimaryEmail string `json:"primaryEmail"`
		}
		a.JSON("GET", "/api/users/"+got.CreatedID, nil, 200, &user)
		if user.PrimaryEmail != email {
			t.Fatalf("the user Logto's client created has primaryEmail %q, want %q", user.PrimaryEmail, email)
		}
	})
}
