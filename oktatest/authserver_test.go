package oktatest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

func getJSON(t *testing.T, s *Server, u string) (*http.Response, map[string]any) {
	t.Helper()
	resp, body := get(t, s.Client(), u)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("GET %s: %v in %q", u, err, body)
	}
	return resp, m
}

func TestDiscovery(t *testing.T) {
	s := newTestServer(t)
	s.AddAuthServer("aus9", "api://nine")
	tests := []struct {
		name, url, issuer, base string
	}{
		{"org", s.URL + "/.well-known/openid-configuration", s.URL, s.URL + "/oauth2/v1/"},
		{"org oauth", s.URL + "/.well-known/oauth-authorization-server", s.URL, s.URL + "/oauth2/v1/"},
		{"default", s.URL + "/oauth2/default/.well-known/openid-configuration", s.URL + "/oauth2/default", s.URL + "/oauth2/default/v1/"},
		{"custom oauth", s.URL + "/oauth2/aus9/.well-known/oauth-authorization-server", s.URL + "/oauth2/aus9", s.URL + "/oauth2/aus9/v1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, doc := getJSON(t, s, tt.url)
			if resp.Header.Get("Cache-Control") == "" {
				t.Error("discovery without Cache-Control")
			}
			if doc["issuer"] != tt.issuer {
				t.Errorf("issuer = %v; want %s", doc["issuer"], tt.issuer)
			}
			for k, ep := range map[string]string{
				"authorization_endpoint": "authorize", "token_endpoint": "token", "userinfo_endpoint": "userinfo",
				"jwks_uri": "keys", "end_session_endpoint": "logout", "revocation_endpoint": "revoke", "introspection_endpoint": "introspect",
			} {
				if doc[k] != tt.base+ep {
					t.Errorf("%s = %v; want %s", k, doc[k], tt.base+ep)
				}
			}
			if _, ok := doc["authorization_response_iss_parameter_supported"]; ok {
				t.Error("discovery advertises authorization_response_iss_parameter_supported")
			}
			for k, want := range map[string][]string{
				"response_types_supported":              {"code"},
				"code_challenge_methods_supported":      {"S256"},
				"id_token_signing_alg_values_supported": {"RS256"},
				"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"},
			} {
				if got := stringList(doc[k]); !slices.Equal(got, want) {
					t.Errorf("%s = %v; want %v", k, got, want)
				}
			}
			resp, jwks := getJSON(t, s, tt.base+"keys")
			if resp.Header.Get("Cache-Control") == "" {
				t.Error("keys without Cache-Control")
			}
			keys, _ := jwks["keys"].([]any)
			if len(keys) != 2 {
				t.Fatalf("JWKS has %d keys; want current and next", len(keys))
			}
			for _, k := range keys {
				k := k.(map[string]any)
				if k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS256" || k["kid"] == "" || len(k["n"].(string)) != 342 || k["e"] != "AQAB" {
					t.Errorf("JWK = %v; want a 2048-bit RS256 signing key with kid", k)
				}
			}
		})
	}
	for _, u := range []string{s.URL + "/oauth2/nope/.well-known/openid-configuration", s.URL + "/oauth2/nope/v1/keys"} {
		if resp, _ := get(t, s.Client(), u); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d; want 404", u, resp.StatusCode)
		}
	}

	s.MutateDiscovery(func(doc map[string]any) { doc["issuer"] = "https://evil.example" })
	if _, doc := getJSON(t, s, tests[0].url); doc["issuer"] != "https://evil.example" {
		t.Errorf("mutated issuer = %v", doc["issuer"])
	}
	s.MutateDiscovery(nil)
	if _, doc := getJSON(t, s, tests[0].url); doc["issuer"] != s.URL {
		t.Errorf("issuer after reset = %v", doc["issuer"])
	}
}

// stringList converts a decoded JSON array of strings.
func stringList(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestAddScopes(t *testing.T) {
	s := newTestServer(t)
	s.AutoLogin("alice@example.com")
	ask := func() url.Values {
		resp, body := get(t, newBrowser(t, s), authURL(s, "default", map[string]string{"client_id": "spa", "scope": "openid orders:read"}))
		return appRedirect(t, resp, body)
	}
	if q := ask(); q.Get("error") != "invalid_scope" {
		t.Errorf("authorize with an undefined scope = %v; want invalid_scope", q)
	}
	s.AddScopes("default", "orders:read", "orders:write")
	if q := ask(); q.Get("code") == "" {
		t.Errorf("authorize with a defined scope = %v; want a code", q)
	}
	for _, tt := range []struct {
		url  string
		want bool
	}{
		{s.CustomIssuer("default") + "/.well-known/openid-configuration", true},
		{s.URL + "/.well-known/openid-configuration", false},
	} {
		_, doc := getJSON(t, s, tt.url)
		got := slices.Contains(doc["scopes_supported"].([]any), any("orders:read"))
		if got != tt.want {
			t.Errorf("%s lists orders:read = %v; want %v", tt.url, got, tt.want)
		}
	}
	for name, f := range map[string]func(){
		"org server":   func() { s.AddScopes("", "x") },
		"unknown":      func() { s.AddScopes("aus404", "x") },
		"OIDC scope":   func() { s.AddScopes("default", "email") },
		"with a space": func() { s.AddScopes("default", "a b") },
		"empty":        func() { s.AddScopes("default", "") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AddScopes (%s) did not panic", name)
				}
			}()
			f()
		}()
	}
}
