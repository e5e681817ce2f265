package oktasso

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPagesNeverShowErrorText(t *testing.T) {
	a := &Auth{cfg: Config{BaseURL: "https://app.example.com", Logger: quietLogger()}, provider: &Provider{issuer: "https://dev-1.okta.com"}}
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
	a := &Auth{cfg: Config{BaseURL: "https://app.example.com", Logger: quietLogger()}, provider: &Provider{issuer: "https://dev-1.okta.com"}}
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
		c.ErrorHandler = func(w http.ResponseWriter, r *http.Request, status int, err error) {
			gotStatus, gotErr = status, err
			w.WriteHeader(status)
		}
	})
	r := h.browser().get(h.app.URL + CallbackPath + "?state=nope&code=x")
	if r.status != http.StatusBadRequest || gotStatus != http.StatusBadRequest || !errors.Is(gotErr, ErrInvalidCallback) {
		t.Errorf("custom handler got %d, %v (response %d); want 400 and ErrInvalidCallback", gotStatus, gotErr, r.status)
	}
}
