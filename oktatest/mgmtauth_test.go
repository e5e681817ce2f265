package oktatest

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// newBearerClient registers a client with a secret (so Bearer tokens) and
// returns a client_credentials access token of the org authorization
// server with scope.
func newBearerClient(t testing.TB, s *Server, id string, admin bool, scope string) (string, Client) {
	t.Helper()
	c := Client{ID: id, Secret: id + "-secret", AdminRole: admin}
	s.AddClient(c)
	status, m, _ := tokenRequest(t, s, s.URL+"/oauth2/v1/token",
		url.Values{"grant_type": {"client_credentials"}, "scope": {scope}},
		http.Header{"Authorization": {"Basic " + b64std(id+":"+id+"-secret")}})
	if status != 200 || m["token_type"] != "Bearer" {
		t.Fatalf("client_credentials for %s = %d %v", id, status, m)
	}
	return m["access_token"].(string), c
}

func TestAPIAuth(t *testing.T) {
	clock := newTestClock()
	clock.t = time.Now()
	s := newAPIServer(t, clock)
	s.AddUser(User{Login: "a@example.com"})
	users, _ := newBearerClient(t, s, "users", true, "okta.users.read")
	both, _ := newBearerClient(t, s, "both", true, "okta.users.manage okta.groups.read")
	noAdmin, _ := newBearerClient(t, s, "noadmin", false, "okta.users.read okta.groups.read")
	s.AddClient(Client{ID: "custom", Secret: "custom-secret", AdminRole: true})
	_, m, _ := tokenRequest(t, s, s.CustomIssuer("default")+"/v1/token",
		url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read"}},
		http.Header{"Authorization": {"Basic " + b64std("custom:custom-secret")}})
	custom := m["access_token"].(string)
	dpopApp := newServiceApp(t, s, "dpop-noadmin", false)
	dpopToken := dpopApp.token(t, s, "okta.users.read")
	auth := func(v string) http.Header { return http.Header{"Authorization": {v}} }
	tests := []struct {
		name   string
		path   string
		header http.Header
		status int
		code   string
	}{
		{"no credentials", "/api/v1/users", nil, 401, "E0000011"},
		{"SSWS", "/api/v1/users", ssws(), 200, ""},
		{"SSWS on groups", "/api/v1/groups", ssws(), 200, ""},
		{"unknown SSWS token", "/api/v1/users", auth("SSWS nope"), 401, "E0000011"},
		{"Basic", "/api/v1/users", auth("Basic " + b64std("users:users-secret")), 401, "E0000011"},
		{"Bearer with scope", "/api/v1/users", auth("Bearer " + users), 200, ""},
		{"Bearer with scope, user groups", "/api/v1/users/a@example.com/groups", auth("Bearer " + users), 200, ""},
		{"Bearer without okta.groups.read", "/api/v1/groups", auth("Bearer " + users), 403, "E0000006"},
		{"manage implies read", "/api/v1/users", auth("Bearer " + both), 200, ""},
		{"Bearer with groups scope", "/api/v1/groups", auth("Bearer " + both), 200, ""},
		{"no admin role", "/api/v1/users", auth("Bearer " + noAdmin), 403, "E0000006"},
		{"DPoP token, no admin role", "/api/v1/users", dpopApp.apiHeader(t, dpopToken, s.URL+"/api/v1/users"), 403, "E0000006"},
		{"custom authorization server token", "/api/v1/users", auth("Bearer " + custom), 401, "E0000011"},
		{"unknown token", "/api/v1/users", auth("Bearer nope"), 401, "E0000011"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := apiGet(t, s, tt.path, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("GET %s = %d %s; want %d", tt.path, resp.StatusCode, body, tt.status)
			}
			if tt.code != "" {
				if got := errorCode(t, body); got != tt.code {
					t.Errorf("errorCode = %s; want %s", got, tt.code)
				}
			}
		})
	}
	t.Run("expired token", func(t *testing.T) {
		clock.Add(tokenLifetime + time.Second)
		resp, body := apiGet(t, s, "/api/v1/users", auth("Bearer "+users))
		if resp.StatusCode != 401 || errorCode(t, body) != "E0000011" {
			t.Errorf("GET with an expired token = %d %s; want 401 E0000011", resp.StatusCode, body)
		}
	})
}

func TestClientCredentialsScopes(t *testing.T) {
	s := newAPIServer(t, nil)
	s.AddClient(Client{ID: "svc", Secret: "svc-secret"})
	basic := http.Header{"Authorization": {"Basic " + b64std("svc:svc-secret")}}
	tests := []struct {
		name, as, scope string
		want            string // error, or "" for success
	}{
		{"org, Okta scopes", "", "okta.users.read okta.groups.read", ""},
		{"org, no scope", "", "", "invalid_scope"},
		{"org, custom scope", "", "api:read", "invalid_scope"},
		{"org, openid", "", "openid", "invalid_scope"},
		{"custom, custom scope", "default", "api:read", ""},
		{"custom, Okta scope", "default", "okta.users.read", "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := s.URL + "/oauth2/v1/token"
			if tt.as != "" {
				u = s.CustomIssuer(tt.as) + "/v1/token"
			}
			status, m, _ := tokenRequest(t, s, u, url.Values{"grant_type": {"client_credentials"}, "scope": {tt.scope}}, basic)
			if (tt.want == "" && status != 200) || (tt.want != "" && m["error"] != tt.want) {
				t.Errorf("client_credentials scope %q = %d %v; want %q", tt.scope, status, m, tt.want)
			}
		})
	}
}
