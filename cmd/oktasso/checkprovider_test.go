package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oktasso/oktasso/oktatest"
)

// checkAgainst runs check against srv for testClientID with its secret,
// and returns the report's lines and the exit code.
func checkAgainst(t *testing.T, srv *oktatest.Server, kv ...string) ([]string, string, int) {
	t.Helper()
	base := []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTASSO_SESSION_KEYS", strongKey(t)}
	out, errOut, code := cli(t, env(append(base, kv...)...), "check")
	return checkLines(out), out + errOut, code
}

// TestCheckRedirectProbe: the redirect-URI probe passes a provider that
// answers with its own sign-in or connector page (Dex: a 200 page whose
// links carry redirect_uri, or a redirect to its login page), and fails
// only an explicit refusal of the redirect URI.
func TestCheckRedirectProbe(t *testing.T) {
	const dexPage = `<!DOCTYPE html><html><head><title>dex</title><style>.theme-btn{color:red}</style></head><body>
<h2 class="theme-heading">Log in to dex</h2>
<div><a href="/dex/auth/local?client_id=app&amp;nonce=n&amp;redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fauth%2Fcallback&amp;response_type=code&amp;scope=openid&amp;state=s">
<button class="dex-btn theme-btn-provider"><span class="dex-btn-text">Log in with Email</span></button></a></div>
<div><a href="/dex/auth/ldap?client_id=app&amp;redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fauth%2Fcallback"><button>Log in with LDAP</button></a></div>
</body></html>`
	tests := []struct {
		name   string
		answer http.HandlerFunc
		want   []string // in the line; its mark first
	}{
		{"Dex connector page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(dexPage))
		}, []string{"✓", "did not refuse", "HTTP 200"}},
		{"redirect to its own login page", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/dex/auth/local?req=4xbcjmm5&redirect_uri=x", http.StatusFound)
		}, []string{"✓", "did not refuse", "/dex/auth/local"}},
		{"Dex: unregistered redirect_uri", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`<p>Unregistered redirect_uri ("http://localhost:8080/auth/callback").</p>`))
		}, []string{"✗", "refused http://localhost:8080/auth/callback as a sign-in redirect URI", "fix: add http://localhost:8080/auth/callback"}},
		{"an error page with status 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<html><body><h1>We are sorry...</h1><p>Invalid parameter: redirect_uri</p></body></html>`))
		}, []string{"✗", "Invalid parameter: redirect_uri", "fix: add"}},
		{"a redirect to its error page", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/error?error=invalid_request&error_description=Callback+URL+mismatch.", http.StatusFound)
		}, []string{"✗", "Callback URL mismatch", "fix: add"}},
		{"Okta's error page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`<div id="okta-sign-in">The 'redirect_uri' parameter must be a Login redirect URI in the client app settings</div>`))
		}, []string{"✗", "fix: add"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			idp := httptest.NewServer(tt.answer)
			defer idp.Close()
			srv := fakeWithApp(t, "")
			srv.MutateDiscovery(func(m map[string]any) { m["authorization_endpoint"] = idp.URL + "/dex/auth" })
			lines, out, _ := checkAgainst(t, srv, "OKTA_CLIENT_SECRET", testSecret)
			l := line(lines, "sign-in redirect URI")
			if !strings.HasPrefix(l, tt.want[0]+" ") {
				t.Errorf("redirect URI line = %q; want %s\n%s", l, tt.want[0], out)
			}
			for _, w := range tt.want[1:] {
				if !strings.Contains(l, w) {
					t.Errorf("redirect URI line = %q; want it to contain %q", l, w)
				}
			}
		})
	}
}

func TestRefusesRedirectURI(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"The 'redirect_uri' parameter must be a Login redirect URI in the client app settings", true},
		{`Unregistered redirect_uri ("http://localhost:8080/auth/callback").`, true},
		{"Invalid parameter: redirect_uri", true},
		{"invalid_request Callback URL mismatch. http://x is not in the list of allowed callback URLs", true},
		{"The requested redirect_uri is missing in the client configuration.", true},
		{"redirect_uri_mismatch", true},
		{"Log in to dex Log in with Email Log in with LDAP", false},
		{"Sign in Username Password Invalid username or password. Forgot your password?", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := refusesRedirectURI(tt.text); got != tt.want {
			t.Errorf("refusesRedirectURI(%q) = %t; want %t", tt.text, got, tt.want)
		}
	}
}

// TestCheckNoEndSession: a provider without end_session_endpoint (RP
// logout is optional) is a warning, not a ✗: check still passes.
func TestCheckNoEndSession(t *testing.T) {
	t.Parallel()
	srv := fakeWithApp(t, "")
	srv.MutateDiscovery(func(m map[string]any) { delete(m, "end_session_endpoint") })
	lines, out, code := checkAgainst(t, srv, "OKTA_CLIENT_SECRET", testSecret)
	if code != exitOK {
		t.Errorf("check = exit %d; want %d\n%s", code, exitOK, out)
	}
	l := line(lines, "sign-out")
	if !strings.HasPrefix(l, "! ") || !strings.Contains(l, "no end_session_endpoint") || !strings.Contains(l, "fix:") {
		t.Errorf("sign-out line = %q; want a warning (!) saying there is no end_session_endpoint, with what to do", l)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "✗") {
			t.Errorf("check line %q fails", l)
		}
	}
	out2, _, _ := cli(t, env("OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", strongKey(t)), "check", "--json")
	var rep struct {
		OK     bool
		Checks []result
	}
	if err := json.Unmarshal([]byte(out2), &rep); err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if c.Name == "sign-out" && (!c.OK || !c.Warning) {
			t.Errorf("check --json sign-out = %+v; want ok and warning", c)
		}
	}
	if !rep.OK {
		t.Errorf("check --json ok = false; want true")
	}
}

// keygenEnv runs keygen --jwk and returns the JWK set to register and the
// environment lines it prints, as name, value pairs.
func keygenEnv(t *testing.T) (jwks []byte, kv []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pem")
	out, errOut, code := cli(t, env(), "keygen", "--jwk", "--out", path)
	if code != exitOK {
		t.Fatalf("keygen --jwk = %d, %s", code, errOut)
	}
	i, j := strings.Index(out, "\n{"), strings.Index(out, "\n}")
	jwks = []byte(`{"keys":[` + out[i+1:j+2] + `]}`)
	_, rest, _ := strings.Cut(out, "Environment for private_key_jwt")
	for _, l := range strings.Split(rest, "\n")[1:] {
		if name, value, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			kv = append(kv, name, value)
		}
	}
	return jwks, kv
}

// TestCheckPrivateKeyJWT: a private_key_jwt client is probed with a client
// assertion, as the app will authenticate; the lines keygen --jwk prints,
// pasted as they are, make a working setup; a wrong key or a key without
// the method get the fix that applies.
func TestCheckPrivateKeyJWT(t *testing.T) {
	jwks, pasted := keygenEnv(t)
	otherJWKS, _ := keygenEnv(t)
	tests := []struct {
		name     string
		jwks     []byte
		kv       func([]string) []string
		wantCode int
		want     []string
	}{
		{"keygen's lines", jwks, func(kv []string) []string { return kv }, exitOK,
			[]string{"✓", "client credentials accepted (private_key_jwt"}},
		{"key not registered", otherJWKS, func(kv []string) []string { return kv }, exitFail,
			[]string{"✗", "refused the client ID or its key", "fix: register the public key of OKTA_PRIVATE_KEY", "OKTA_PRIVATE_KEY_ID"}},
		{"key without the method", jwks, func(kv []string) []string {
			var out []string
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] != "OKTA_CLIENT_AUTH_METHOD" {
					out = append(out, kv[i], kv[i+1])
				}
			}
			return out
		}, exitFail, []string{"✗", "none (public client", "fix: set OKTA_CLIENT_AUTH_METHOD=private_key_jwt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			srv.AddClient(oktatest.Client{ID: testClientID, AuthMethod: "private_key_jwt", JWKS: tt.jwks,
				RedirectURIs: []string{testBase + "/auth/callback"}, PostLogoutRedirectURIs: []string{testBase + "/auth/logout/callback"}})
			lines, out, code := checkAgainst(t, srv, tt.kv(pasted)...)
			if code != tt.wantCode {
				t.Errorf("check = exit %d; want %d\n%s", code, tt.wantCode, out)
			}
			l := line(lines, "client credentials")
			if !strings.HasPrefix(l, tt.want[0]+" ") {
				t.Errorf("client credentials line = %q; want %s\n%s", l, tt.want[0], out)
			}
			for _, w := range tt.want[1:] {
				if !strings.Contains(l, w) {
					t.Errorf("client credentials line = %q; want it to contain %q", l, w)
				}
			}
		})
	}
}
