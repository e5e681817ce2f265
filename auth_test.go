package oktasso

import (
	"net/http"
	"strings"
	"testing"
)

func TestAuthURLs(t *testing.T) {
	h := newHarness(t, nil)
	checks := []struct{ name, got, want string }{
		{"RedirectURL", h.auth.RedirectURL(), h.app.URL + "/auth/callback"},
		{"PostLogoutRedirectURL", h.auth.PostLogoutRedirectURL(), h.app.URL + "/auth/logout/callback"},
		{"LoginURL", h.auth.LoginURL("/workspace?a=b"), h.app.URL + "/auth/login?return_to=%2Fworkspace%3Fa%3Db"},
		{"LoginURL off-site", h.auth.LoginURL("https://evil.com"), h.app.URL + "/auth/login?return_to=%2F"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q; want %q", c.name, c.got, c.want)
		}
	}
}

func TestHandlerRoutes(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/auth/login", http.StatusFound},
		{"POST", "/auth/login", http.StatusMethodNotAllowed},
		{"POST", "/auth/callback", http.StatusMethodNotAllowed},
		{"GET", "/auth/callback/unregistered", http.StatusNotFound},
		{"GET", "/auth/logout", http.StatusOK},
		{"PUT", "/auth/logout", http.StatusMethodNotAllowed},
		{"GET", "/auth/nope", http.StatusNotFound},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, h.app.URL+tt.path, strings.NewReader(""))
		if r := b.do(req); r.status != tt.want {
			t.Errorf("%s %s = %d; want %d", tt.method, tt.path, r.status, tt.want)
		}
	}
}

// TestHostHeaderIgnored checks that a forged Host or X-Forwarded-Host never
// reaches a redirect.
func TestHostHeaderIgnored(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	req, _ := http.NewRequest("GET", h.app.URL+"/workspace", nil)
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "https")
	r := b.do(req)
	if !strings.HasPrefix(r.location, h.app.URL+"/auth/login") {
		t.Errorf("Location with forged Host = %q; want on %s", r.location, h.app.URL)
	}
	req, _ = http.NewRequest("GET", h.app.URL+"/auth/login", nil)
	req.Header.Set("X-Forwarded-Host", "evil.example")
	r = b.do(req)
	if redirect := mustURL(t, r.location).Query().Get("redirect_uri"); redirect != h.app.URL+CallbackPath {
		t.Errorf("redirect_uri with forged X-Forwarded-Host = %q; want %s", redirect, h.app.URL+CallbackPath)
	}
}
