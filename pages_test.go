package oktasso

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPagesNeverShowErrorText(t *testing.T) {
	a := &Auth{cfg: Config{BaseURL: "https://app.example.com", Logger: quietLogger()}, provider: &Provider{issuer: "https://dev-1.okta.com"}, pages: builtinPages}
	secretErr := errors.New("token eyJhbGciOiJSUzI1NiJ9.secret at 10.0.0.5")
	for kind := range pageTexts {
		rec := httptest.NewRecorder()
		a.fail(rec, httptest.NewRequest("GET", "/", nil), http.StatusBadRequest, secretErr, kind)
		body := rec.Body.String()
		if strings.Contains(body, "eyJhbGci") || strings.Contains(body, "10.0.0.5") {
			t.Errorf("page %d shows the error text", kind)
		}
		if !strings.Contains(body, "<h1>"+pageTexts[kind].title+"</h1>") {
			t.Errorf("page %d lacks its title %q", kind, pageTexts[kind].title)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Cache-Control", "Referrer-Policy"} {
			if rec.Header().Get(h) == "" {
				t.Errorf("page %d lacks header %s", kind, h)
			}
		}
	}
}

func TestPageEscapesProviderText(t *testing.T) {
	a := &Auth{cfg: Config{BaseURL: "https://app.example.com", Logger: quietLogger()}, provider: &Provider{issuer: "https://dev-1.okta.com"}, pages: builtinPages}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req = req.WithContext(WithUser(req.Context(), &User{Email: `"><img src=x onerror=alert(1)>@example.com`}))
	a.fail(rec, req, http.StatusForbidden, &Error{Code: "access_denied", Description: `<a href="https://evil">click</a>`}, pageProviderError)
	body := rec.Body.String()
	if strings.Contains(body, "<img") || strings.Contains(body, `<a href="https://evil"`) {
		t.Errorf("page shows markup from the provider or the user:\n%s", body)
	}
	if !strings.Contains(body, "Ask your Okta administrator to assign you") {
		t.Error("access_denied page lacks the hint for the user")
	}
}

func TestCustomErrorHandler(t *testing.T) {
	var gotStatus int
	var gotErr error
	h := newHarness(t, func(c *Config) {
		c.Hooks.ErrorHandler = func(w http.ResponseWriter, r *http.Request, status int, err error) {
			gotStatus, gotErr = status, err
			w.WriteHeader(status)
		}
	})
	r := h.browser().get(h.app.URL + CallbackPath + "?state=nope&code=x")
	if r.status != http.StatusBadRequest || gotStatus != http.StatusBadRequest || !errors.Is(gotErr, ErrInvalidCallback) {
		t.Errorf("custom handler got %d, %v (response %d); want 400 and ErrInvalidCallback", gotStatus, gotErr, r.status)
	}
}

func TestRestyledPages(t *testing.T) {
	pages := DefaultPages()
	template.Must(pages.New(pageTemplate).Parse(`<p data-kind="{{.Kind}}">{{.Title}}|{{.Detail}}</p>`))
	template.Must(pages.New(loginButtonTemplate).Parse(`<button-okta href="{{.URL}}">{{.Label}}</button-okta>`))
	h := newHarness(t, func(c *Config) { c.Pages = pages })
	b := h.browser()
	h.login(b, bob, "/")
	r := b.get(h.app.URL + "/workspace")
	if r.status != http.StatusForbidden || r.body != `<p data-kind="not_member">Workspace members only|</p>` {
		t.Errorf("restyled 403 = %d %q; want the custom template with kind not_member", r.status, r.body)
	}
	btn := string(h.auth.LoginButton("/webapp"))
	if btn != `<button-okta href="`+h.app.URL+`/auth/login?return_to=%2Fwebapp">Sign in with Okta</button-okta>` {
		t.Errorf("LoginButton = %q; want the custom button with the sign-in URL", btn)
	}
}

func TestDefaultLoginButton(t *testing.T) {
	h := newHarness(t, nil)
	btn := string(h.auth.LoginButton("https://evil.example/"))
	if !strings.Contains(btn, `href="`+h.app.URL+`/auth/login?return_to=%2f"`) && !strings.Contains(btn, `href="`+h.app.URL+`/auth/login?return_to=%2F"`) {
		t.Errorf("LoginButton(off-site) = %q; want a sign-in URL returning to /", btn)
	}
	if !strings.Contains(btn, ">Sign in with Okta</a>") {
		t.Errorf("LoginButton = %q; want a link labelled Sign in with Okta", btn)
	}
}

func TestPagesMustDefinePage(t *testing.T) {
	_, err := New(context.Background(), Config{Issuer: "https://dev-1.okta.com", Pages: template.New("empty"), Client: ClientConfig{ID: "x"}})
	if err == nil || !strings.Contains(err.Error(), pageTemplate) {
		t.Errorf("New with a page set lacking %s = %v; want an error naming it", pageTemplate, err)
	}
}
