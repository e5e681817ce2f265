package oktatest

import (
	"net/http"
	"strings"
	"testing"
)

// TestCORS: a trusted origin's requests to the endpoints single-page apps
// call get CORS headers, preflights included; other origins and other
// endpoints get none.
func TestCORS(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.AddTrustedOrigin("http://spa.example:8080")
	const trusted, other = "http://spa.example:8080", "http://evil.example"
	tests := []struct {
		name, method, path, origin string
		preflight                  bool
		wantStatus                 int
		wantAllow                  string
	}{
		{"discovery", "GET", "/oauth2/default/.well-known/openid-configuration", trusted, false, 200, trusted},
		{"org discovery", "GET", "/.well-known/openid-configuration", trusted, false, 200, trusted},
		{"keys", "GET", "/oauth2/default/v1/keys", trusted, false, 200, trusted},
		{"token error still readable", "POST", "/oauth2/default/v1/token", trusted, false, 401, trusted},
		{"token preflight", "OPTIONS", "/oauth2/default/v1/token", trusted, true, 204, trusted},
		{"userinfo preflight", "OPTIONS", "/oauth2/v1/userinfo", trusted, true, 204, trusted},
		{"untrusted origin", "GET", "/oauth2/default/v1/keys", other, false, 200, ""},
		{"untrusted preflight", "OPTIONS", "/oauth2/default/v1/token", other, true, 405, ""},
		{"authorize is a navigation", "GET", "/oauth2/default/v1/authorize", trusted, false, 400, ""},
		{"no origin", "GET", "/oauth2/default/v1/keys", "", false, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.URL+tt.path, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.preflight {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "content-type")
			}
			if tt.method == "POST" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("%s %s = %d; want %d", tt.method, tt.path, resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
				t.Errorf("Access-Control-Allow-Origin = %q; want %q", got, tt.wantAllow)
			}
			if tt.preflight && tt.wantAllow != "" && !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
				t.Errorf("preflight Access-Control-Allow-Headers = %q; want Content-Type in it", resp.Header.Get("Access-Control-Allow-Headers"))
			}
		})
	}
}

func TestAddTrustedOriginPanicsOnNonOrigin(t *testing.T) {
	s := NewUnstartedServer()
	for _, bad := range []string{"", "spa.example", "ftp://spa.example", "http://spa.example/app", "http://spa.example?x=1", "http://u@spa.example"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AddTrustedOrigin(%q) did not panic", bad)
				}
			}()
			s.AddTrustedOrigin(bad)
		}()
	}
}
