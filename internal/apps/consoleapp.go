package apps

// ConsoleAppID is the built-in application the console signs
// administrators in as, through the hosted pages.
const ConsoleAppID = "admin-console"

// ConsoleCallbackPath is the console application's redirect URI, below
// the public URL.
const ConsoleCallbackPath = "/console/callback"

// EnableConsoleApp makes the built-in console application exist, for the
// service's every tenant, with its redirect URI under publicURL.
func (s *Service) EnableConsoleApp(publicURL string) { s.consoleURL = publicURL + ConsoleCallbackPath }

// consoleApp is the built-in console application: a public client that
// signs in with PKCE. Like the demo application it is no row: the list of
// applications leaves it out, and it cannot be changed or deleted.
func (s *Service) consoleApp(tenant string) Application {
	return Application{TenantID: tenant, ID: ConsoleAppID, Name: "Admin console", Description: "The console's sign-in for administrators.",
		Type: TypeSPA, RedirectURIs: []string{s.consoleURL}, CustomData: map[string]any{}}
}
