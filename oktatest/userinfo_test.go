package oktatest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestUserInfo(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	s.AddScopes("default", "groups")
	s.SetGroupsClaim("default", GroupsClaim{})
	f := newFlow(t, s, s.CustomIssuer("default"))
	f.config.Scopes = append(f.config.Scopes, "groups")
	tok := f.login(t, s, newBrowser(t, s))
	org := newFlow(t, s, s.Issuer())
	orgTok := org.login(t, s, newBrowser(t, s))
	endpoint := s.CustomIssuer("default") + "/v1/userinfo"
	tests := []struct {
		name, method, auth string
		wantStatus         int
	}{
		{"no token", "GET", "", 401},
		{"bad token", "GET", "Bearer not-a-token", 401},
		{"basic scheme", "GET", "Basic " + b64std("web:web-secret"), 401},
		{"other authorization server's token", "GET", "Bearer " + orgTok.AccessToken, 401},
		{"id token", "GET", "Bearer " + rawIDToken(t, tok), 401},
		{"GET", "GET", "Bearer " + tok.AccessToken, 200},
		{"POST", "POST", "Bearer " + tok.AccessToken, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, endpoint, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := readBody(t, resp)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s userinfo = %d %s; want %d", tt.method, resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantStatus == 401 {
				if h := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, `Bearer error="invalid_token"`) {
					t.Errorf("WWW-Authenticate = %q", h)
				}
				return
			}
			var m map[string]any
			json.Unmarshal([]byte(body), &m)
			if m["sub"] != jwtClaims(t, tok.AccessToken)["uid"] || m["email"] != "alice@example.com" || m["preferred_username"] != "alice@example.com" {
				t.Errorf("userinfo = %v", m)
			}
			groups, _ := m["groups"].([]any)
			if len(groups) != 3 || groups[0] != "Everyone" {
				t.Errorf("userinfo groups = %v; want Everyone plus alice's two", m["groups"])
			}
		})
	}

	s.MutateUserInfo(func(c map[string]any) { c["sub"] = "00uSOMEONEELSE" })
	info, err := f.userInfo(tok)
	if err != nil || info["sub"] != "00uSOMEONEELSE" {
		t.Errorf("mutated userinfo = %v, %v; want sub 00uSOMEONEELSE", info, err)
	}
	s.MutateUserInfo(nil)
}
