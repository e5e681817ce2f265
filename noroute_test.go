package oktasso

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestNoRoute: a path under /auth/ that no route takes gets a 404 page in
// the application's look (or JSON for an API client) that never shows the
// path back, and a route's path asked with another method a 405 naming
// the allowed one.
func TestNoRoute(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name       string
		method     string
		path       string
		accept     string
		wantStatus int
		wantAllow  string
		wantBody   string
	}{
		{"unknown path", "GET", "/auth/no-such-page", "text/html", http.StatusNotFound, "", "Page not found"},
		{"unknown path, markup in it", "GET", "/auth/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "text/html", http.StatusNotFound, "", "Page not found"},
		{"unknown path, API client", "GET", "/auth/no-such-page", "application/json", http.StatusNotFound, "", `"error":"not_found"`},
		{"unknown path, POST", "POST", "/auth/no-such-page", "text/html", http.StatusNotFound, "", "Page not found"},
		{"GET-only route with POST", "POST", "/auth/login", "text/html", http.StatusMethodNotAllowed, "GET", ""},
		{"POST-only route with GET", "GET", "/auth/global-token-revocation", "text/html", http.StatusMethodNotAllowed, "POST", ""},
		{"route with PUT", "PUT", "/auth/logout", "text/html", http.StatusMethodNotAllowed, "GET, POST", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, h.app.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", tt.accept)
			r := h.browser().do(req)
			if r.status != tt.wantStatus {
				t.Fatalf("%s %s = %d; want %d", tt.method, tt.path, r.status, tt.wantStatus)
			}
			if got := r.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q; want %q", got, tt.wantAllow)
			}
			if !strings.Contains(r.body, tt.wantBody) {
				t.Errorf("body does not contain %q:\n%s", tt.wantBody, r.body)
			}
			if strings.Contains(r.body, "no-such-page") || strings.Contains(r.body, "<script>") {
				t.Errorf("the body shows the path back:\n%s", r.body)
			}
		})
	}
}

// TestNoRouteErrorHandler: with Hooks.ErrorHandler set, the 404 goes to it.
func TestNoRouteErrorHandler(t *testing.T) {
	var gotStatus int
	var gotErr error
	h := newHarness(t, func(c *Config) {
		c.Hooks.ErrorHandler = func(w http.ResponseWriter, r *http.Request, status int, err error) {
			gotStatus, gotErr = status, err
			w.WriteHeader(status)
		}
	})
	r := h.browser().get(h.app.URL + "/auth/no-such-page")
	if r.status != http.StatusNotFound || gotStatus != http.StatusNotFound || !errors.Is(gotErr, errNoRoute) {
		t.Errorf("GET /auth/no-such-page = %d; ErrorHandler got %d, %v; want 404 and errNoRoute", r.status, gotStatus, gotErr)
	}
}
