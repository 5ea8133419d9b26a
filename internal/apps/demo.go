package apps

// DemoAppID is the built-in demo application's client ID, Logto's
// demo-app: the application the console's "Try sign-in" signs in to with
// the saved sign-in experience.
const DemoAppID = "demo-app"

// DemoAppPath is where the demo application is served, below the public
// URL: its page, and both its redirect URI and its post sign-out redirect
// URI, as Logto's.
const DemoAppPath = "/demo-app"

// EnableDemoApp makes the built-in demo application exist, for the
// service's every tenant, with its redirect URIs under publicURL; without
// it there is no application DemoAppID.
func (s *Service) EnableDemoApp(publicURL string) { s.demoURL = publicURL + DemoAppPath }

// DemoAppEnabled reports whether the demo application exists.
func (s *Service) DemoAppEnabled() bool { return s.demoURL != "" }

// demoApp is the built-in demo application, as Logto's: a single-page
// application (a public client, signing in with PKCE) named Live Preview.
// It is no row: the list of applications leaves it out, and it cannot be
// changed or deleted.
func (s *Service) demoApp(tenant string) Application {
	return Application{TenantID: tenant, ID: DemoAppID, Name: "Live Preview", Description: "Preview for Sign-in Experience.",
		Type: TypeSPA, RedirectURIs: []string{s.demoURL}, PostLogoutRedirectURIs: []string{s.demoURL},
		CustomData: map[string]any{}}
}

// builtin returns the built-in application id names, if there is one.
func (s *Service) builtin(tenant, id string) (Application, bool) {
	if id == ConsoleAppID && s.consoleURL != "" {
		return s.consoleApp(tenant), true
	}
	if id == DemoAppID && s.DemoAppEnabled() {
		return s.demoApp(tenant), true
	}
	return Application{}, false
}
