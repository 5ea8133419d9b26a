package pages_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/testwait"
)

// magicLinks turns the magic link on.
func magicLinks(t *testing.T, a *apptest.App) {
	t.Helper()
	a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"magicLink": map[string]any{"enabled": true},
		"verificationCodePolicy": map[string]any{"resendCooldown": 0}}, http.StatusOK, nil)
}

// mail is the newest dev inbox message to to once there are n: its code
// and its link, checked to be in the text and the HTML too.
func mail(t *testing.T, a *apptest.App, to string, n int) (code, link string) {
	t.Helper()
	var msgs []struct {
		Type    string         `json:"type"`
		HTML    string         `json:"html"`
		Text    string         `json:"text"`
		Payload map[string]any `json:"payload"`
	}
	testwait.Until(t, 15*time.Second, func() bool {
		a.JSON("GET", "/api/dev-inbox/messages?to="+url.QueryEscape(to), nil, http.StatusOK, &msgs)
		return len(msgs) >= n
	}, "the dev inbox has fewer than %d messages for %s", n, to)
	code, _ = msgs[0].Payload["code"].(string)
	link, _ = msgs[0].Payload["link"].(string)
	if link != "" && (!strings.Contains(msgs[0].Text, link) || !strings.Contains(msgs[0].HTML, `href="`+link+`"`)) {
		t.Errorf("the %s email's text or HTML lacks its link %s", msgs[0].Type, link)
	}
	return code, link
}

// linkPath is the path and query of a magic link, which must point at
// the magic link page of the app.
func linkPath(t *testing.T, a *apptest.App, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if token, ok := strings.CutPrefix(u.Path, experience.MagicLinkPage+"/"); err != nil || u.Scheme+"://"+u.Host != a.BaseURL || !ok || len(token) < 27 || u.RawQuery != "" {
		t.Fatalf("the magic link is %q, want %s%s/{token}", link, a.BaseURL, experience.MagicLinkPage)
	}
	return u.Path
}

// codeSent starts a sign-in for email in v on the code page.
func (v *visitor) codeSent(rp *relyingParty, email string) {
	v.t.Helper()
	v.start(rp, "", "")
	r := v.submit(v.get("/sign-in").form(v.t, "/sign-in"), "email", email)
	wantRedirect(v.t, r, "/sign-in/verification-code")
}

// TestAMagicLinkSignsInOnlyTheBrowserThatAskedForIt: with magicLink on,
// a sign-in email carries a link beside the code (off by default, none).
// A plain GET (a mail scanner) only shows a confirmation; in another
// browser the confirmation shows the code to type and signs nothing in;
// in the browser that asked, it signs in; a second use is refused,
// opened again or confirmed from a page opened before; a link whose code expired is refused; and a sign-up's link
// creates the account.
func TestAMagicLinkSignsInOnlyTheBrowserThatAskedForIt(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		configureFlows(t, a)
		rp := newRelyingParty(t, a)
		const email, plain = "linked@example.com", "plain@example.com"
		createUser(t, a, email, "")
		createUser(t, a, plain, "")

		off := newVisitor(t, a)
		off.codeSent(rp, plain)
		if _, link := mail(t, a, plain, 1); link != "" {
			t.Fatalf("with magicLink off the email carries a link: %s", link)
		}

		magicLinks(t, a)
		v := newVisitor(t, a)
		v.codeSent(rp, email)
		code, link := mail(t, a, email, 1)
		path := linkPath(t, a, link)

		// A scanner fetches the link: it gets a page with a button, no
		// code, and uses nothing.
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.Contains(string(body), code) || !strings.Contains(string(body), `action="`+path+`"`) {
			t.Fatalf("a plain GET of the link: %d, want the confirmation page without the code\n%.1500s", resp.StatusCode, body)
		}

		// Another browser: the code to type, no session.
		other := newVisitor(t, a)
		otherPage := other.get(path)
		r := other.submit(otherPage.form(t, path))
		if r.StatusCode != http.StatusOK || text(find(r.doc, byID("link-code"))) != code {
			t.Fatalf("the link in another browser: %d %q, want the code %s shown", r.StatusCode, text(find(r.doc, byID("link-code"))), code)
		}
		for _, ck := range r.Cookies() {
			if ck.Name == experience.SessionCookie && ck.Value != "" {
				t.Error("the link signed another browser in")
			}
		}

		// The browser that asked: signed in.
		page := v.get(path)
		if got := text(find(page.doc, byTag("h1"))); got != "Continue with your email link" {
			t.Errorf("the link's page heading is %q", got)
		}
		if gotEmail, _ := v.signedIn(v.submit(page.form(t, path))); gotEmail != email {
			t.Errorf("the link signed in %q, want %s", gotEmail, email)
		}

		// Twice: refused, opened again or confirmed from a page opened
		// before the use.
		if again := v.get(path); again.StatusCode != http.StatusBadRequest || !strings.Contains(again.alert(), "already used") {
			t.Errorf("the link opened again: %d %q, want 400 saying it was used", again.StatusCode, again.alert())
		}
		if r := other.submit(otherPage.form(t, path)); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.alert(), "already used") {
			t.Errorf("the used link confirmed in another browser: %d %q, want 400 saying it was used", r.StatusCode, r.alert())
		}

		// After the code's expiry (600 s): refused.
		late := newVisitor(t, a)
		late.codeSent(rp, email)
		_, lateLink := mail(t, a, email, 2)
		clock.Advance(601 * time.Second)
		if r := late.get(linkPath(t, a, lateLink)); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.alert(), "expired") {
			t.Errorf("an expired link: %d %q, want 400 saying it expired", r.StatusCode, r.alert())
		}

		// A sign-up's link creates the account.
		const newcomer = "linked.newcomer@example.com"
		reg := newVisitor(t, a)
		reg.start(rp, "", "register")
		wantRedirect(t, reg.submit(reg.get("/register").form(t, "/register"), "email", newcomer), "/register/verification-code")
		_, regLink := mail(t, a, newcomer, 1)
		regPath := linkPath(t, a, regLink)
		page = reg.get(regPath)
		if got, _ := reg.signedIn(reg.submit(page.form(t, regPath))); got != newcomer {
			t.Errorf("the sign-up link signed in %q, want %s", got, newcomer)
		}
	})
}

// TestAMagicLinkInTheBrowser: in a real browser, the link opened in a
// second browser profile shows the code and signs nothing in there (the
// app's login still asks who it is); opened in the browser that asked,
// after a scanner fetched it, it signs the person in.
func TestAMagicLinkInTheBrowser(t *testing.T) {
	ba := newBrowserApp(t)
	magicLinks(t, ba.a)
	const email = "lovelace@example.com"
	createUser(t, ba.a, email, "")
	ctx := ba.b.Context()
	ba.start(ctx, "", "", "/sign-in")
	ba.act(ctx, "asking for a sign-in code", "#code",
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	code, link := mail(t, ba.a, email, 1)
	linkPath(t, ba.a, link)
	if resp, err := http.Get(link); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a scanner's GET of the link: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	elsewhere := ba.b.Context()
	ba.b.Do(elsewhere, "opening the link in another browser", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	ba.b.Screenshot(elsewhere, "magic-link-confirm")
	ba.act(elsewhere, "confirming in another browser", "#link-code", chromedp.Click(chromedp.CSS("#confirm")))
	if got := ba.text(elsewhere, "#link-code"); got != code {
		t.Errorf("the other browser shows %q, want the code %s", got, code)
	}
	ba.b.Screenshot(elsewhere, "magic-link-code")
	// Signed in nowhere: the app's login there still asks who it is.
	ba.start(elsewhere, "", "", "/sign-in")

	ba.b.Do(ctx, "opening the link in the browser that asked", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	ba.act(ctx, "confirming", "", chromedp.Click(chromedp.CSS("#confirm")))
	ba.signedIn(ctx, email)
}
