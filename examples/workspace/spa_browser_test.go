package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/oktasso/oktasso/oktatest"
)

// waitText waits until the element sel is visible and returns its text.
func (b *tab) waitText(sel string) string {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		loc, text := b.page()
		b.t.Fatalf("waiting for %s on %s: %v\n%s", sel, loc, err, text)
	}
	text, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return text
}

// clickInPage clicks the element sel, which does not navigate, and waits
// until the element wait is visible with want in its text.
func (b *tab) clickInPage(sel, wait, want string) string {
	b.t.Helper()
	b.do("clicking "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
	js := "(() => { const el = document.querySelector(" + jsString(wait) + "); return !!el && !el.closest('[hidden]') && el.textContent.includes(" + jsString(want) + "); })()"
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js)); err != nil {
		loc, text := b.page()
		b.t.Fatalf("after clicking %s, %s never showed %q on %s: %v\n%s", sel, wait, want, loc, err, text)
	}
	return b.waitText(wait)
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// TestBrowserSPA: the single-page app signs alice in at the fake's
// "default" authorization server by itself (PKCE, the fake's sign-in form),
// calls the API with the access token and shows the token's claims; a call
// without the token shows the 401 challenge; signing out ends the session
// at the fake too, so the next sign-in asks for the password again.
func TestBrowserSPA(t *testing.T) {
	t.Parallel()
	b := newBrowserTab(t)
	e := startSPAApp(t, startFake(t), nil)
	page := e.app.URL + spaPath

	if status := b.navigate(page); status != http.StatusOK {
		t.Fatalf("GET %s = %d; want 200", spaPath, status)
	}
	if got := b.waitText("#spa-signin"); got != "Sign in with Okta" {
		t.Errorf("sign-in button = %q; want Sign in with Okta", got)
	}
	b.wantPage(page, "Single-page app and API", "Not signed in.")
	b.wantHeader(false)

	if status := b.click("#spa-signin"); status != http.StatusOK {
		t.Fatalf("the sign-in button led to a %d; want the sign-in form", status)
	}
	b.wantPage(e.fake.URL+oktatest.SignInPath, "Username", "Password")
	b.signInWithForm("alice@example.com", "alice-password")
	b.waitText("#spa-call")
	b.wantPage(page, "Signed in: this tab holds an access token.")
	if loc, _ := b.page(); loc != page {
		t.Errorf("after sign-in the address is %s; want %s (no code or state left in it)", loc, page)
	}

	got := b.clickInPage("#spa-call", "#api-result", "200 OK")
	for _, want := range []string{`"sub": "alice@example.com"`, `"cid": "` + devSPAClientID + `"`, `"` + apiScope + `"`} {
		if !strings.Contains(got, want) {
			t.Errorf("API result does not show %s:\n%s", want, got)
		}
	}
	b.screenshot("spa")

	got = b.clickInPage("#spa-call-anon", "#api-result", "401")
	if !strings.Contains(got, `WWW-Authenticate: Bearer realm="api"`) || strings.Contains(got, "error=") {
		t.Errorf("API result without a token:\n%s\nwant 401 with a bare Bearer challenge", got)
	}

	if status := b.click("#spa-signout"); status != http.StatusOK {
		t.Fatalf("signing out landed with %d; want 200", status)
	}
	if got := b.waitText("#spa-signin"); got == "" {
		t.Error("no sign-in button after signing out")
	}
	b.wantPage(page, "You are signed out.")
	stored, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`sessionStorage.length`))
	if err != nil || stored != 0 {
		t.Errorf("sessionStorage holds %d items after sign-out (err %v); want 0", stored, err)
	}
	// The fake's session ended too: signing in again asks for the password.
	b.click("#spa-signin")
	b.wantPage(e.fake.URL+oktatest.SignInPath, "Username", "Password")
}
