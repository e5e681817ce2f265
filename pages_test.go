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
	a := &Auth{cfg: Config{BaseURL: "https://app.example.com", Logger: quietLogger()}, provider: &Provider{issuer: "https://dev-1.okta.com"}, pages: builtinPages, providerName: "Okta"}
	secretErr := errors.New("token eyJhbGciOiJSUzI1NiJ9.secret at 10.0.0.5")
	for kind := range pageTexts {
		rec := httptest.NewRecorder()
		a.fail(rec, httptest.NewRequest("GET", "/", nil), http.StatusBadRequest, secretErr, kind)
		body := rec.Body.String()
		if strings.Contains(body, "eyJhbGci") || strings.Contains(body, "10.0.0.5") {
			t.Errorf("page %d shows the error text", kind)
		}
		if title := a.naming(pageTexts[kind].title); !strings.Contains(body, "<h1>"+title+"</h1>") {
			t.Errorf("page %d lacks its title %q", kind, title)
		}
		if strings.Contains(body, "{provider}") {
			t.Errorf("page %d does not name the provider:\n%s", kind, body)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Cache-Control", "Referrer-Policy"} {
			if rec.Header().Get(h) == "" {
				t.Errorf("page %d lacks header %s", kind, h)
			}
		}
	}
}

func TestPageEscapesProviderText(t *testing.T) {
	a := &Auth{cfg: Config{BaseURL: "https://app.example.com", Logger: quietLogger()}, provider: &Provider{issuer: "https://dev-1.okta.com"}, pages: builtinPages, providerName: "Okta"}
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

// TestProviderName: OKTASSO_PROVIDER_NAME (the "oktasso-provider"
// template) names the provider on the rendered pages and the login button,
// escaped; the default is Okta.
func TestProviderName(t *testing.T) {
	tests := []struct {
		name  string
		pages func(t *testing.T) *template.Template // nil: the default
		want  string                                // as the HTML shows it
	}{
		{"default", nil, "Okta"},
		{"environment", func(t *testing.T) *template.Template {
			c, err := ConfigFromLookup(lookupFrom(map[string]string{"OKTA_DOMAIN": "dev-1.okta.com", "OKTA_CLIENT_ID": "0oa1", "OKTASSO_PROVIDER_NAME": " Keycloak "}))
			if err != nil {
				t.Fatal(err)
			}
			return c.Pages
		}, "Keycloak"},
		{"markup in the name", func(t *testing.T) *template.Template {
			p, err := pagesNaming(`AT&T <b>ID</b> {{"x"}}`)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}, `AT&amp;T &lt;b&gt;ID&lt;/b&gt; {{&#34;x&#34;}}`},
		{"a set of one's own", func(t *testing.T) *template.Template {
			return template.Must(DefaultPages().Parse(`{{define "oktasso-provider"}} Dex
{{end}}`))
		}, "Dex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				if tt.pages != nil {
					c.Pages = tt.pages(t)
				}
			})
			btn := string(h.auth.LoginButton("/"))
			if !strings.Contains(btn, ">Sign in with "+tt.want+"</a>") {
				t.Errorf("LoginButton = %s; want it to say Sign in with %s", btn, tt.want)
			}
			b := h.browser()
			h.fake.AutoLogin(alice)
			r := b.get(h.app.URL + loginPath)
			r = b.get(r.location)
			r = b.get(setParam(setParam(r.location, "error", "access_denied"), "code", ""))
			for _, want := range []string{"<h1>Sign-in was refused</h1>", tt.want + " did not complete the sign-in.", "Ask your " + tt.want + " administrator"} {
				if !strings.Contains(r.body, want) {
					t.Errorf("provider-error page lacks %q:\n%s", want, r.body)
				}
			}
			h.fake.SetDown(true)
			h.restart()
			r = b.get(h.app.URL + "/workspace")
			for _, want := range []string{"<title>" + tt.want + " is not reachable</title>", "<h1>" + tt.want + " is not reachable</h1>", "cannot reach " + tt.want + " right now"} {
				if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, want) {
					t.Errorf("GET /workspace with the provider down = %d, want 503 with %q:\n%s", r.status, want, r.body)
				}
			}
			if tt.want != "Okta" && strings.Contains(r.body+btn, "Okta") {
				t.Errorf("pages naming %s still say Okta:\n%s", tt.want, r.body)
			}
		})
	}
}

func TestProviderNameRefused(t *testing.T) {
	for _, name := range []string{strings.Repeat("x", 65), "Key\x01cloak"} {
		_, err := ConfigFromLookup(lookupFrom(map[string]string{"OKTA_DOMAIN": "dev-1.okta.com", "OKTA_CLIENT_ID": "0oa1", "OKTASSO_PROVIDER_NAME": name}))
		if err == nil || !strings.Contains(err.Error(), "OKTASSO_PROVIDER_NAME") {
			t.Errorf("OKTASSO_PROVIDER_NAME=%q: error = %v; want one naming the variable", name, err)
		}
	}
	for _, def := range []string{`{{define "oktasso-provider"}}` + strings.Repeat("y", 80) + `{{end}}`, `{{define "oktasso-provider"}}{{.Nope}}{{end}}`} {
		cfg := Config{Issuer: "https://dev-1.okta.com", Client: ClientConfig{ID: "0oa1"}, Logger: quietLogger(), Pages: template.Must(DefaultPages().Parse(def))}
		if _, err := New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "oktasso-provider") {
			t.Errorf("New with %s: error = %v; want one naming the template", def, err)
		}
	}
}
