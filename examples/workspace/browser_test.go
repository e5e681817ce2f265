package main

// End-to-end tests in a real browser: cookies, SameSite, redirects, the back
// button and two tabs are where single sign-on breaks in practice, and only a
// browser shows it. They drive Chromium headless (Debian: apt-get install
// chromium) through the example app and the fake Okta's sign-in form.
//
// Without a browser they skip; with OKTASSO_REQUIRE_INTEGRATION=1 they fail
// instead. OKTASSO_CHROMIUM names the browser to use. With
// OKTASSO_UPDATE_SCREENSHOTS=1 the screenshots they take are written to
// docs/screenshots; otherwise to a temporary directory.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

const (
	envChromium            = "OKTASSO_CHROMIUM"
	envRequireIntegration  = "OKTASSO_REQUIRE_INTEGRATION"
	envUpdateScreenshots   = "OKTASSO_UPDATE_SCREENSHOTS"
	browserTestTimeout     = 30 * time.Second
	windowWidth            = 1024
	windowHeight           = 768
	minContrast            = 4.5 // WCAG 2 AA, normal text
	screenshotDirFromHere  = "../../docs/screenshots"
	minScreenshotWidth     = 300
	privateMarkerAccountID = "acct-0001" // alice's local account, shown only to her
	backCacheWait          = 3 * time.Second
)

// chromiumPath finds the browser: OKTASSO_CHROMIUM, else the first of
// chromium, chromium-browser and google-chrome in PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv(envChromium); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("none of chromium, chromium-browser, google-chrome is in PATH")
}

// tab is one browser tab of a test.
type tab struct {
	t   testing.TB
	ctx context.Context
}

// newBrowserTab starts a fresh headless Chromium (its own profile, bounded
// by browserTestTimeout) and returns its first tab. It skips the test when
// there is no browser, or fails it under OKTASSO_REQUIRE_INTEGRATION=1.
func newBrowserTab(t testing.TB) *tab {
	t.Helper()
	path, err := chromiumPath()
	if err != nil {
		if os.Getenv(envRequireIntegration) == "1" {
			t.Fatalf("chromiumPath() error = %v; %s=1 requires a browser", err, envRequireIntegration)
		}
		t.Skipf("no browser for the end-to-end tests (%v); install chromium or set %s", err, envChromium)
	}
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in, first-out)
	var output syncBuffer
	ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTestTimeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(windowWidth, windowHeight),
		chromedp.CombinedOutput(&output),
	)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser() // closes the browser
		cancelAlloc()   // and waits for it to exit
		cancelTimeout()
		if t.Failed() {
			t.Logf("%s output:\n%s", path, lastLines(output.String(), 30))
		}
	})
	if err := chromedp.Do(browser); err != nil { // starts the browser
		t.Fatalf("starting %s: %v\n%s", path, err, lastLines(output.String(), 30))
	}
	b := &tab{t: t, ctx: browser}
	b.fixViewport()
	return b
}

// fixViewport makes the tab's viewport windowWidth×windowHeight with no
// scrollbars, so that screenshots have the same width whatever the page's
// height, and makes the tab behave as the focused window (a headless tab
// is not), so that autofocus and :focus-visible work as for a person.
func (b *tab) fixViewport() {
	b.t.Helper()
	b.do("fixing the viewport",
		chromedp.EmulateViewport(windowWidth, windowHeight),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := cdp.Call(ctx, t, emulation.SetScrollbarsHidden, emulation.SetScrollbarsHiddenParams{Hidden: true}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, t, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
			return err
		}),
	)
}

// lastLines returns the last n lines of the browser's output, without the
// D-Bus complaints of a container that has no bus.
func lastLines(s string, n int) string {
	var lines []string
	for l := range strings.Lines(s) {
		if !strings.Contains(l, "dbus") {
			lines = append(lines, strings.TrimRight(l, "\n"))
		}
	}
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// newTab opens a second tab in the same browser: same profile, same cookies.
func (b *tab) newTab() *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("opening a second tab: %v", err)
	}
	second := &tab{t: b.t, ctx: ctx}
	second.fixViewport()
	return second
}

func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// navigate opens target and returns the status of the page it lands on,
// after redirects.
func (b *tab) navigate(target string) int64 {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(target))
	if err != nil {
		b.t.Fatalf("navigate(%s): %v", target, err)
	}
	return resp.Status
}

// press presses key on the focused element and, when that navigates, waits
// for the page it lands on and returns its status.
func (b *tab) press(key string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.KeyEvent(key))
	if err != nil {
		b.t.Fatalf("pressing %q: %v", key, err)
	}
	return resp.Status
}

// page returns the tab's URL and the text a person sees.
func (b *tab) page() (loc, text string) {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("Location(): %v", err)
	}
	text, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		b.t.Fatalf("reading the page text: %v", err)
	}
	return loc, text
}

// wantPage checks that the tab shows the page at wantURL (query ignored)
// with every one of wantText.
func (b *tab) wantPage(wantURL string, wantText ...string) {
	b.t.Helper()
	loc, text := b.page()
	if u, _, _ := strings.Cut(loc, "?"); u != wantURL {
		b.t.Fatalf("tab is on %s; want %s\n%s", loc, wantURL, text)
	}
	for _, s := range wantText {
		if !strings.Contains(text, s) {
			b.t.Errorf("page %s does not show %q\n%s", loc, s, text)
		}
	}
}

// signInWithForm signs in on the fake Okta's form as a person does: types
// into the inputs labelled Username and Password, then presses Enter. It
// returns the status of the page the browser lands on.
func (b *tab) signInWithForm(login, password string) int64 {
	b.t.Helper()
	if err := fillSignInForm(b.ctx, login, password); err != nil {
		b.t.Fatal(err)
	}
	return b.press(kb.Enter)
}

// fillSignInForm types login and password into the fake Okta's form, found
// by their labels. It leaves the focus in the password input.
func fillSignInForm(ctx context.Context, login, password string) error {
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("form input[type=password]"))); err != nil {
		return fmt.Errorf("waiting for the sign-in form: %w", err)
	}
	for _, f := range []struct{ label, value string }{{"Username", login}, {"Password", password}} {
		id, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => {
			const l = [...document.querySelectorAll("label")].find(l => l.textContent.trim() === %q);
			return l && l.control ? l.control.id : "";
		})()`, f.label)))
		if err != nil || id == "" {
			return fmt.Errorf("no input labelled %q on the sign-in form (err %v)", f.label, err)
		}
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID(id), f.value)); err != nil {
			return fmt.Errorf("typing into %q: %w", f.label, err)
		}
	}
	return nil
}

// screenshot takes a full-page PNG of the tab, checks that it is an image
// worth looking at, and writes it to docs/screenshots/name.png when
// OKTASSO_UPDATE_SCREENSHOTS=1, else to a temporary directory.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("FullScreenshot(%s): %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		b.t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	r := img.Bounds()
	if r.Dx() < minScreenshotWidth {
		b.t.Errorf("screenshot %s is %dx%d; want at least %d wide", name, r.Dx(), r.Dy(), minScreenshotWidth)
	}
	flat := true
	first := img.At(r.Min.X, r.Min.Y)
	for y := r.Min.Y; y < r.Max.Y && flat; y += 4 {
		for x := r.Min.X; x < r.Max.X; x += 4 {
			if img.At(x, y) != first {
				flat = false
				break
			}
		}
	}
	if flat {
		b.t.Errorf("screenshot %s is a single flat colour", name)
	}
	dir := b.t.TempDir()
	if os.Getenv(envUpdateScreenshots) == "1" {
		dir = screenshotDirFromHere
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// a11yReport is what a11yScript finds on a page.
type a11yReport struct {
	Lang       string   `json:"lang"`
	H1         int      `json:"h1"`
	Unlabelled []string `json:"unlabelled"` // visible inputs, selects and textareas without a label
	Primary    string   `json:"primary"`    // the primary action's text
	Color      string   `json:"color"`      // its text colour
	Background string   `json:"background"` // the first opaque background behind it
	Contrast   float64  `json:"contrast"`   // WCAG 2 contrast ratio of the two
}

// a11yScript checks a page in the browser; %q is the primary action's CSS
// selector. Contrast uses WCAG 2's relative luminance of the computed colours.
const a11yScript = `(() => {` + colourJS + `
	const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
	const labelled = el => (el.labels && [...el.labels].some(l => l.textContent.trim() !== "")) ||
		(el.getAttribute("aria-labelledby") || "").split(/\s+/).some(id => id && document.getElementById(id)) ||
		(el.getAttribute("aria-label") || "").trim() !== "";
	const unlabelled = [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
		.filter(el => visible(el) && !labelled(el)).map(el => el.outerHTML);
	const r = {lang: document.documentElement.lang, h1: document.querySelectorAll("h1").length, unlabelled,
		primary: "", color: "", background: "", contrast: 0};
	const el = document.querySelector(%q);
	if (!el) return r;
	r.primary = el.textContent.trim();
	r.color = getComputedStyle(el).color;
	r.background = background(el);
	r.contrast = contrast(r.color, r.background);
	return r;
})()`

// focusRingScript measures the focused element's outline against the
// background around it, in an a11yReport's Color, Background and Contrast.
const focusRingScript = `(() => {` + colourJS + `
	const el = document.activeElement, s = el && getComputedStyle(el);
	if (!s || s.outlineStyle === "none" || parseFloat(s.outlineWidth) === 0) return {contrast: 0};
	const bg = background(el.parentElement);
	return {color: s.outlineColor, background: bg, contrast: contrast(s.outlineColor, bg)};
})()`

// colourJS defines rgb, background and contrast: WCAG 2's relative luminance
// and contrast ratio of computed colours, and the first opaque background
// colour at or above an element.
const colourJS = `
	const rgb = s => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null;
		const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
		return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
	const lum = c => { const f = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
		return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
	const background = el => { for (let n = el; n; n = n.parentElement) {
		const bg = getComputedStyle(n).backgroundColor, c = rgb(bg);
		if (c && c.a > 0) return bg; } return "rgb(255, 255, 255)"; };
	const contrast = (a, b) => { const l1 = lum(rgb(a)), l2 = lum(rgb(b));
		return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05); };`

// checkAccessibility checks the page in the tab: html has lang, exactly one
// h1, every visible form control has a label, the primary action's text
// contrasts at least 4.5:1 with its background, and the keyboard reaches
// firstFocus first: it is either focused on load (autofocus) or the first
// stop of Tab from the top of the page. The Tab leaves the focus there.
func (b *tab) checkAccessibility(name, primary, firstFocus string) {
	b.t.Helper()
	r, err := chromedp.Run(b.ctx, chromedp.Evaluate[a11yReport](fmt.Sprintf(a11yScript, primary)))
	if err != nil {
		b.t.Fatalf("%s: accessibility script: %v", name, err)
	}
	if r.Lang == "" {
		b.t.Errorf("%s: <html> has no lang", name)
	}
	if r.H1 != 1 {
		b.t.Errorf("%s: %d h1 elements; want exactly 1", name, r.H1)
	}
	for _, el := range r.Unlabelled {
		b.t.Errorf("%s: form control without a label: %s", name, el)
	}
	switch {
	case r.Primary == "":
		b.t.Errorf("%s: no primary action %q", name, primary)
	case r.Contrast < minContrast:
		b.t.Errorf("%s: %q is %s on %s, contrast %.2f:1; want at least %.1f:1", name, r.Primary, r.Color, r.Background, r.Contrast, minContrast)
	default:
		b.t.Logf("%s: %q is %s on %s, contrast %.2f:1", name, r.Primary, r.Color, r.Background, r.Contrast)
	}

	isFocused := fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, firstFocus)
	focused, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](isFocused))
	if err != nil {
		b.t.Fatalf("%s: reading the focus: %v", name, err)
	}
	if focused {
		b.t.Logf("%s: %s has the focus on load (autofocus)", name, firstFocus)
	} else {
		b.do(name+": pressing Tab", chromedp.KeyEvent(kb.Tab))
		if focused, err = chromedp.Run(b.ctx, chromedp.Evaluate[bool](isFocused)); err != nil {
			b.t.Fatalf("%s: reading the focus: %v", name, err)
		}
	}
	if !focused {
		got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : "nothing"`))
		b.t.Errorf("%s: the first Tab focuses %s; want %s", name, got, firstFocus)
		return
	}
	// WCAG 2.2's 1.4.11 asks 3:1 for a focus indicator against what
	// surrounds it.
	ring, err := chromedp.Run(b.ctx, chromedp.Evaluate[a11yReport](focusRingScript))
	switch {
	case err != nil:
		b.t.Errorf("%s: reading the focus ring: %v", name, err)
	case ring.Contrast > 0 && ring.Contrast < 3:
		b.t.Errorf("%s: focus ring %s on %s, contrast %.2f:1; want at least 3:1", name, ring.Color, ring.Background, ring.Contrast)
	default:
		b.t.Logf("%s: focus ring %s on %s, contrast %.2f:1", name, ring.Color, ring.Background, ring.Contrast)
	}
}

// wantStyle checks the computed style property of the first element
// matching selector.
func (b *tab) wantStyle(selector, property, want string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? getComputedStyle(el)[%q] : "no element"; })()`, selector, property)
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("reading the style of %s: %v", selector, err)
	}
	if got != want {
		b.t.Errorf("%s: %s = %q; want %q (is a style blocked or missing?)", selector, property, got, want)
	}
}

// wantHeader checks that the page has the application's header, styled by
// its stylesheet (which the Content-Security-Policy let through), with the
// navigation when nav is true, and without it otherwise.
func (b *tab) wantHeader(nav bool) {
	b.t.Helper()
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
		const h = document.querySelector("header");
		if (!h || !h.querySelector(".brand")) return "no header";
		return h.querySelector("nav") ? "nav" : "no nav";
	})()`))
	if err != nil {
		b.t.Fatalf("reading the header: %v", err)
	}
	want := map[bool]string{true: "nav", false: "no nav"}[nav]
	if loc, _ := b.page(); got != want {
		b.t.Errorf("%s: header: %s; want %s", loc, got, want)
	}
	b.wantStyle("header", "borderBottomStyle", "solid")
}

// appCookie returns the app's cookie named name in the tab's browser, or nil.
func (b *tab) appCookie(e *env, name string) *network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.app.URL + "/"}})
	if err != nil {
		b.t.Fatalf("Network.getCookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestBrowserSignIn: a person opens the landing page, presses the Sign in
// with Okta button with the keyboard, signs in on the fake Okta's form with
// Enter and lands on the workspace; a reload keeps them signed in.
func TestBrowserSignIn(t *testing.T) {
	t.Parallel()
	b := newBrowserTab(t)
	e := newEnv(t)

	if status := b.navigate(e.app.URL + "/"); status != http.StatusOK {
		t.Fatalf("GET / = %d; want 200", status)
	}
	b.wantPage(e.app.URL+"/", "Sign in with Okta")
	// The stylesheet and the button's own style attribute both pass the
	// Content-Security-Policy.
	b.wantStyle("body", "backgroundColor", "rgb(245, 246, 248)")
	b.wantStyle("a.oktasso-login-button", "backgroundColor", "rgb(22, 98, 221)")
	b.screenshot("landing")
	b.checkAccessibility("landing page", "a.oktasso-login-button", "a.oktasso-login-button")

	// The Tab above left the focus on the button: Enter follows it.
	if status := b.press(kb.Enter); status != http.StatusOK {
		t.Fatalf("the sign-in form answered %d; want 200", status)
	}
	b.wantPage(e.fake.URL+oktatest.SignInPath, "Username", "Password")
	b.screenshot("signin-form")
	b.checkAccessibility("fake Okta sign-in form", "form button[type=submit]", "form input:not([type=hidden])")

	if status := b.signInWithForm("alice@example.com", "alice-password"); status != http.StatusOK {
		t.Fatalf("signing in landed with %d; want 200", status)
	}
	b.wantPage(e.app.URL+"/workspace", "alice@example.com", "Alice Example", "Internal (workspace member)", privateMarkerAccountID)
	b.wantStyle("header button[type=submit]", "backgroundColor", "rgb(11, 87, 208)")
	b.screenshot("workspace")
	b.checkAccessibility("workspace", "header button[type=submit]", "header a.brand")

	ck := b.appCookie(e, "oktasso")
	switch {
	case ck == nil:
		t.Fatal("no oktasso session cookie in the browser after sign-in")
	case !ck.HTTPOnly || ck.SameSite != network.CookieSameSiteLax || ck.Path != "/" || ck.Domain != "127.0.0.1":
		t.Errorf("session cookie: HttpOnly %v, SameSite %q, Path %q, Domain %q; want HttpOnly, Lax, /, host-only 127.0.0.1",
			ck.HTTPOnly, ck.SameSite, ck.Path, ck.Domain)
	}

	b.do("reloading /workspace", chromedp.Reload())
	b.wantPage(e.app.URL+"/workspace", "alice@example.com", privateMarkerAccountID)
	if a := accountFor(t, e, "alice@example.com"); a.Logins != 1 {
		t.Errorf("alice's sign-ins after a reload = %d; want 1 (the session carried the reload)", a.Logins)
	}
}

// TestBrowserExternalUser: bob, an external user, is admitted to the web app
// and refused from the workspace with the 403 page.
func TestBrowserExternalUser(t *testing.T) {
	t.Parallel()
	b := newBrowserTab(t)
	e := newEnv(t)

	b.navigate(e.app.URL + "/webapp")
	b.wantPage(e.fake.URL + oktatest.SignInPath)
	if status := b.signInWithForm("bob@partner.example", "bob-password"); status != http.StatusOK {
		t.Fatalf("signing in landed with %d; want 200", status)
	}
	b.wantPage(e.app.URL+"/webapp", "bob@partner.example", "Bob Partner", "External", "Partners")
	b.screenshot("webapp-bob")

	if status := b.navigate(e.app.URL + "/workspace"); status != http.StatusForbidden {
		t.Errorf("GET /workspace as bob = %d; want 403", status)
	}
	b.wantPage(e.app.URL+"/workspace", "Workspace members only", "bob@partner.example")
	b.wantHeader(true)
	b.screenshot("forbidden")
	b.checkAccessibility("403 page", "main button", "header a.brand")
}

// TestBrowserTwoTabs: two tabs of one browser each start a sign-in, then
// both complete at the same time; each lands on the workspace.
func TestBrowserTwoTabs(t *testing.T) {
	t.Parallel()
	first := newBrowserTab(t)
	second := first.newTab()
	e := newEnv(t)

	tabs := []*tab{first, second}
	for _, b := range tabs {
		b.navigate(e.app.URL + "/workspace")
		b.wantPage(e.fake.URL + oktatest.SignInPath)
	}
	if n := countFlowCookies(first, e); n != 2 {
		t.Errorf("pending sign-in flow cookies = %d; want 2, one per tab", n)
	}

	var wg sync.WaitGroup
	errs := make([]error, len(tabs))
	for i, b := range tabs {
		wg.Go(func() {
			if err := fillSignInForm(b.ctx, "alice@example.com", "alice-password"); err != nil {
				errs[i] = err
				return
			}
			if _, err := chromedp.RunResponse(b.ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
				errs[i] = fmt.Errorf("submitting the form: %w", err)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("tab %d: %v", i+1, err)
		}
	}
	for _, b := range tabs {
		b.wantPage(e.app.URL+"/workspace", "alice@example.com", privateMarkerAccountID)
	}
	// One sign-in per tab, and at most one more: the second callback ends
	// the session the first one issued (a new sign-in replaces the
	// browser's session), so when the first tab's redirect to /workspace
	// left with that cookie before the second callback's answer came back,
	// it is sent to sign in again, and Okta's session signs it in silently.
	if a := accountFor(t, e, "alice@example.com"); a.Logins != 2 && a.Logins != 3 {
		t.Errorf("alice's sign-ins = %d; want 2, one per tab (3 when the first tab's redirect raced the second callback)", a.Logins)
	}
}

func countFlowCookies(b *tab, e *env) int {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.app.URL + oktasso.CallbackPath}})
	if err != nil {
		b.t.Fatalf("Network.getCookies: %v", err)
	}
	n := 0
	for _, c := range res.Cookies {
		if strings.HasPrefix(c.Name, "oktasso-flow-") {
			n++
		}
	}
	return n
}

// TestBrowserSignOutThenBack: after signing out through the confirmation
// page, the back button shows none of alice's private pages: the workspace
// asks her to sign in again.
func TestBrowserSignOutThenBack(t *testing.T) {
	t.Parallel()
	b := newBrowserTab(t)
	e := newEnv(t)

	b.navigate(e.app.URL + "/workspace")
	b.signInWithForm("alice@example.com", "alice-password")
	b.wantPage(e.app.URL+"/workspace", "alice@example.com")
	subject := accountFor(t, e, "alice@example.com").Subject

	if status := b.navigate(e.app.URL + oktasso.LogoutPath); status != http.StatusOK {
		t.Fatalf("GET %s = %d; want 200", oktasso.LogoutPath, status)
	}
	b.wantPage(e.app.URL+oktasso.LogoutPath, "Do you want to sign out?", "alice@example.com")
	b.wantHeader(true)
	b.screenshot("signout-confirm")
	b.checkAccessibility("sign-out confirmation", "main button[type=submit]", "main button[type=submit]")

	// Sign out has the focus (autofocus): Enter posts the form.
	if status := b.press(kb.Enter); status != http.StatusOK {
		t.Fatalf("signing out landed with %d; want 200", status)
	}
	b.wantPage(e.app.URL+"/", "You are signed out.", "Sign in with Okta")
	b.wantHeader(false)
	if ck := b.appCookie(e, "oktasso"); ck != nil {
		t.Errorf("session cookie %q still in the browser after sign-out", ck.Name)
	}

	hist, err := chromedp.Run(b.ctx, chromedp.NavigationEntries())
	if err != nil {
		t.Fatal(err)
	}
	workspaceAt := int64(-1)
	for i, en := range hist.Entries[:hist.CurrentIndex] {
		if en.URL == e.app.URL+"/workspace" {
			workspaceAt = int64(i)
		}
	}
	if workspaceAt < 0 {
		t.Fatalf("no /workspace in the history %v", historyURLs(hist.Entries))
	}
	for cur := hist.CurrentIndex; cur > workspaceAt && cur > 0; cur-- {
		b.back()
		loc, text := b.page()
		private := strings.Contains(text, subject) || strings.Contains(text, privateMarkerAccountID) ||
			strings.Contains(text, "Alice Example") ||
			(strings.HasPrefix(loc, e.app.URL) && strings.Contains(text, "alice@example.com"))
		if private {
			t.Errorf("after Back, %s shows alice's private details\n%s", loc, text)
		}
		t.Logf("Back: %s", loc)
	}
	// The workspace's history entry asks her to sign in again.
	b.wantPage(e.fake.URL+oktatest.SignInPath, "Username", "Password")
}

// back presses the back button. A page restored from the back/forward
// cache fires no load event, so NavigateBack would wait for ever: after
// backCacheWait the test looks at whatever the tab shows.
func (b *tab) back() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, backCacheWait)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.NavigateBack())
	switch {
	case errors.Is(err, context.DeadlineExceeded) && b.ctx.Err() == nil:
		b.t.Logf("Back: no page load within %v; the page was likely restored from a cache (back/forward or HTTP)", backCacheWait)
	case err != nil:
		b.t.Fatalf("going back: %v", err)
	}
}

func historyURLs(entries []*cdppage.NavigationEntry) []string {
	var urls []string
	for _, e := range entries {
		urls = append(urls, e.URL)
	}
	return urls
}

// TestBrowserDashboardTile: the Okta dashboard's tile opens the app's
// initiate-login URI; the person signs in and lands on target_link_uri. A
// link naming another issuer is refused with its own page.
func TestBrowserDashboardTile(t *testing.T) {
	t.Parallel()
	b := newBrowserTab(t)
	e := newEnv(t)

	foreign := e.auth.InitiateLoginURL() + "?" + url.Values{
		"iss":             {"https://dev-000000.okta.com"},
		"target_link_uri": {e.app.URL + "/webapp"},
	}.Encode()
	if status := b.navigate(foreign); status != http.StatusBadRequest {
		t.Errorf("initiate-login from a foreign issuer = %d; want 400", status)
	}
	b.wantPage(e.app.URL+"/auth/initiate-login", "Sign-in link not recognised")
	b.wantHeader(false)
	b.screenshot("foreign-issuer")
	b.checkAccessibility("foreign-issuer page", "main a", "header a.brand")

	tile := e.auth.InitiateLoginURL() + "?" + url.Values{
		"iss":             {e.fake.Issuer()},
		"target_link_uri": {e.app.URL + "/webapp"},
	}.Encode()
	b.navigate(tile)
	b.wantPage(e.fake.URL + oktatest.SignInPath)
	if status := b.signInWithForm("bob@partner.example", "bob-password"); status != http.StatusOK {
		t.Fatalf("signing in from the tile landed with %d; want 200", status)
	}
	b.wantPage(e.app.URL+"/webapp", "bob@partner.example", "External")
}

// TestBrowserNotFound: an unknown path gets a 404 page in the application's
// look, signed out and signed in.
func TestBrowserNotFound(t *testing.T) {
	t.Parallel()
	b := newBrowserTab(t)
	e := newEnv(t)

	if status := b.navigate(e.app.URL + "/no/such/page"); status != http.StatusNotFound {
		t.Errorf("GET /no/such/page = %d; want 404", status)
	}
	b.wantPage(e.app.URL+"/no/such/page", "Page not found", "Go to the home page")
	b.wantHeader(false)

	b.navigate(e.app.URL + "/workspace")
	b.signInWithForm("alice@example.com", "alice-password")
	if status := b.navigate(e.app.URL + "/no/such/page"); status != http.StatusNotFound {
		t.Errorf("GET /no/such/page signed in = %d; want 404", status)
	}
	b.wantPage(e.app.URL+"/no/such/page", "Page not found", "Workspace", "Web app", "Sign out")
	b.wantHeader(true)
}

// TestBrowserUniversalLogout: alice and bob are signed in, each in their
// own browser; the fake suspends alice through the Management API, its
// Universal Logout request reaches the app (204), and alice's next
// navigation to /workspace is sent to sign in while bob's session still
// works.
func TestBrowserUniversalLogout(t *testing.T) {
	t.Parallel()
	alice := newBrowserTab(t)
	bob := newBrowserTab(t)
	e := newEnv(t)
	e.fake.AddAPIToken(testAPIToken)

	alice.navigate(e.app.URL + "/workspace")
	alice.wantPage(e.fake.URL + oktatest.SignInPath)
	if status := alice.signInWithForm("alice@example.com", "alice-password"); status != http.StatusOK {
		t.Fatalf("alice's sign-in landed with %d; want 200", status)
	}
	alice.wantPage(e.app.URL+"/workspace", "alice@example.com", privateMarkerAccountID)
	bob.navigate(e.app.URL + "/webapp")
	bob.wantPage(e.fake.URL + oktatest.SignInPath)
	if status := bob.signInWithForm("bob@partner.example", "bob-password"); status != http.StatusOK {
		t.Fatalf("bob's sign-in landed with %d; want 200", status)
	}
	bob.wantPage(e.app.URL+"/webapp", "bob@partner.example")

	suspendInOkta(t, e.fake, "alice@example.com")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	got, err := e.fake.UniversalLogoutDeliveries(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("Universal Logout deliveries = %+v, %v; want one", got, err)
	}
	if d := got[0]; d.Status != http.StatusNoContent || d.Event != "suspend" || d.URI != e.app.URL+"/auth/global-token-revocation" {
		t.Fatalf("delivery: event %q to %s answered %d (err %v); want suspend to the app's endpoint answered 204", d.Event, d.URI, d.Status, d.Err)
	}

	alice.navigate(e.app.URL + "/workspace")
	loc, text := alice.page()
	if strings.HasPrefix(loc, e.app.URL+"/workspace") || strings.Contains(text, privateMarkerAccountID) {
		t.Fatalf("alice's browser is on %s after her suspension; want the sign-in page\n%s", loc, text)
	}
	alice.wantPage(e.fake.URL + oktatest.SignInPath)

	if status := bob.navigate(e.app.URL + "/webapp"); status != http.StatusOK {
		t.Errorf("bob's GET /webapp after alice's suspension = %d; want 200", status)
	}
	bob.wantPage(e.app.URL+"/webapp", "bob@partner.example")
}
