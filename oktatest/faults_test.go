package oktatest

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// faultTarget is a request that reaches one fault endpoint.
type faultTarget struct {
	endpoint string
	do       func(t *testing.T, s *Server) *http.Response
}

func faultTargets() []faultTarget {
	getURL := func(u func(s *Server) string) func(t *testing.T, s *Server) *http.Response {
		return func(t *testing.T, s *Server) *http.Response {
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(u(s))
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
	}
	postURL := func(u func(s *Server) string) func(t *testing.T, s *Server) *http.Response {
		return func(t *testing.T, s *Server) *http.Response {
			resp, err := s.Client().PostForm(u(s), url.Values{"client_id": {"spa"}, "token": {"x"}, "grant_type": {"refresh_token"}})
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
	}
	return []faultTarget{
		{"discovery", getURL(func(s *Server) string { return s.CustomIssuer("default") + "/.well-known/openid-configuration" })},
		{"discovery", getURL(func(s *Server) string { return s.URL + "/.well-known/oauth-authorization-server" })},
		{"keys", getURL(func(s *Server) string { return s.URL + "/oauth2/v1/keys" })},
		{"authorize", getURL(func(s *Server) string { return authURL(s, "default", nil) })},
		{"signin", getURL(func(s *Server) string { return s.URL + SignInPath })},
		{"token", postURL(func(s *Server) string { return s.CustomIssuer("default") + "/v1/token" })},
		{"userinfo", getURL(func(s *Server) string { return s.URL + "/oauth2/v1/userinfo" })},
		{"logout", getURL(func(s *Server) string { return s.CustomIssuer("default") + "/v1/logout" })},
		{"revoke", postURL(func(s *Server) string { return s.URL + "/oauth2/v1/revoke" })},
		{"introspect", postURL(func(s *Server) string { return s.CustomIssuer("default") + "/v1/introspect" })},
		{"api", getURL(func(s *Server) string { return s.URL + "/api/v1/users?limit=1" })},
	}
}

func TestFaultStatusAndBody(t *testing.T) {
	s := newTestServer(t)
	for _, tt := range faultTargets() {
		t.Run(tt.endpoint, func(t *testing.T) {
			s.Fault(tt.endpoint, Fault{Status: 502, Body: []byte("<html>bad gateway</html>"), ContentType: "text/html", Times: 1})
			resp, body := readBody(t, tt.do(t, s))
			if resp.StatusCode != 502 || body != "<html>bad gateway</html>" || resp.Header.Get("Content-Type") != "text/html" {
				t.Errorf("faulted %s = %d %q %q; want 502 text/html with the body", tt.endpoint, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			resp, _ = readBody(t, tt.do(t, s))
			if resp.StatusCode == 502 {
				t.Errorf("%s still faulted after Times: 1", tt.endpoint)
			}
		})
	}
}

func TestFaultUntilCleared(t *testing.T) {
	s := newTestServer(t)
	before := s.TokenRequests()
	s.Fault("token", Fault{Body: []byte(`{"access_token":`)}) // 200, truncated JSON
	s.Fault("keys", Fault{Status: 500})
	target := faultTargets()[5]
	for range 3 {
		resp, body := readBody(t, target.do(t, s))
		if resp.StatusCode != 200 || body != `{"access_token":` || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("token with a Times: 0 fault = %d %q; want 200 with the broken body", resp.StatusCode, body)
		}
	}
	if n := s.TokenRequests(); n != before {
		t.Errorf("TokenRequests() = %d; faulted requests must not reach the endpoint (want %d)", n, before)
	}
	// SetDown wins over faults.
	s.SetDown(true)
	if resp, _ := readBody(t, target.do(t, s)); resp.StatusCode != 503 {
		t.Errorf("token while down = %d; want 503", resp.StatusCode)
	}
	s.SetDown(false)
	s.ClearFaults()
	if resp, body := readBody(t, target.do(t, s)); resp.StatusCode != 400 || !strings.Contains(body, `"invalid_grant"`) {
		t.Errorf("token after ClearFaults = %d %s; want the endpoint's own invalid_grant", resp.StatusCode, body)
	}
	if resp, _ := get(t, s.Client(), s.URL+"/oauth2/v1/keys"); resp.StatusCode != 200 {
		t.Errorf("keys after ClearFaults = %d; want 200", resp.StatusCode)
	}
}

func TestFaultHugeBody(t *testing.T) {
	s := newTestServer(t)
	const huge = 8 << 20
	s.Fault("keys", Fault{Body: []byte(`{"keys":[`), HugeBody: huge})
	resp, err := s.Client().Get(s.URL + "/oauth2/v1/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != -1 {
		t.Errorf("ContentLength = %d; want -1 (streamed)", resp.ContentLength)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != int64(len(`{"keys":[`))+huge {
		t.Errorf("read %d bytes (%v); want %d", n, err, len(`{"keys":[`)+huge)
	}
	// A client that gives up early does not hold the server.
	resp, err = s.Client().Get(s.URL + "/oauth2/v1/keys")
	if err != nil {
		t.Fatal(err)
	}
	io.CopyN(io.Discard, resp.Body, 1<<10)
	resp.Body.Close()
}

func TestFaultDelay(t *testing.T) {
	s := newTestServer(t)
	const delay = 300 * time.Millisecond
	s.Fault("discovery", Fault{Delay: delay})
	start := time.Now()
	resp, body := get(t, s.Client(), s.URL+"/.well-known/openid-configuration")
	if took := time.Since(start); took < delay || resp.StatusCode != 200 || !strings.Contains(body, `"issuer"`) {
		t.Errorf("delayed discovery = %d after %v; want the normal document after >= %v", resp.StatusCode, took, delay)
	}
	// A client with a shorter timeout gives up.
	impatient := &http.Client{Timeout: 50 * time.Millisecond}
	if _, err := impatient.Get(s.URL + "/.well-known/openid-configuration"); err == nil {
		t.Error("GET with a 50ms timeout against a 300ms delay succeeded")
	}
	// Delay and a status together: late, then the fault's answer.
	s.Fault("userinfo", Fault{Delay: 100 * time.Millisecond, Status: 504, Times: 1})
	start = time.Now()
	resp, _ = get(t, s.Client(), s.URL+"/oauth2/v1/userinfo")
	if took := time.Since(start); resp.StatusCode != 504 || took < 100*time.Millisecond {
		t.Errorf("delayed 504 = %d after %v", resp.StatusCode, took)
	}
	// Other endpoints are not delayed: with discovery held for an hour,
	// keys answers a client that waits 10 s at most.
	s.Fault("discovery", Fault{Delay: time.Hour})
	patient := *s.Client()
	patient.Timeout = 10 * time.Second
	resp, err := patient.Get(s.URL + "/oauth2/v1/keys")
	if err != nil {
		t.Fatalf("keys with discovery delayed by an hour: %v; the discovery fault leaked", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("keys with discovery delayed = %d; want 200", resp.StatusCode)
	}
}

func TestFaultPanics(t *testing.T) {
	s := NewUnstartedServer()
	defer s.Close()
	for name, f := range map[string]func(){
		"unknown endpoint": func() { s.Fault("wellknown", Fault{Status: 500}) },
		"empty fault":      func() { s.Fault("token", Fault{Times: 2}) },
		"negative delay":   func() { s.Fault("token", Fault{Delay: -1}) },
		"bad status":       func() { s.Fault("token", Fault{Status: 42}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Fault did not panic")
				}
			}()
			f()
		})
	}
}

func TestFaultEndpointNames(t *testing.T) {
	tests := map[string]string{
		"/.well-known/openid-configuration":                   "discovery",
		"/oauth2/aus1/.well-known/oauth-authorization-server": "discovery",
		"/oauth2/v1/token":                                    "token",
		"/oauth2/default/v1/token":                            "token",
		"/oauth2/default/v1/keys":                             "keys",
		"/oauth2/v1/clients":                                  "",
		"/api/v1/groups/00g/users":                            "api",
		"/apis":                                               "",
		SignInPath:                                            "signin",
		"/":                                                   "",
	}
	for path, want := range tests {
		if got := faultEndpoint(path); got != want {
			t.Errorf("faultEndpoint(%q) = %q; want %q", path, got, want)
		}
	}
}
