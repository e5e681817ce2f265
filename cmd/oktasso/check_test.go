package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

const (
	testBase     = "http://localhost:8080"
	testClientID = "app"
	testSecret   = "app-secret-do-not-print"
)

func strongKey(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// fakeWithApp is a fake Okta org with the app registered for testBase.
func fakeWithApp(t testing.TB, authMethod string) *oktatest.Server {
	t.Helper()
	srv := newFake(t)
	srv.AddClient(oktatest.Client{
		ID:                     testClientID,
		Secret:                 testSecret,
		AuthMethod:             authMethod,
		RedirectURIs:           []string{testBase + "/auth/callback"},
		PostLogoutRedirectURIs: []string{testBase + "/auth/logout/callback"},
	})
	return srv
}

// checkLines returns the report lines of check's text output (up to the
// blank line before "Register in Okta").
func checkLines(out string) []string {
	report, _, _ := strings.Cut(out, "\n\n")
	return strings.Split(strings.TrimSpace(report), "\n")
}

// line returns the report line about name, or "".
func line(lines []string, name string) string {
	for _, l := range lines {
		if len(l) > 2 && strings.HasPrefix(l[strings.Index(l, " ")+1:], name+":") {
			return l
		}
	}
	return ""
}

func TestCheck(t *testing.T) {
	key := strongKey(t)
	type want struct {
		name     string   // the check's name
		contains []string // each must be in its line, which starts with its mark
	}
	tests := []struct {
		name     string
		setup    func(t *testing.T) (*oktatest.Server, []string) // the fake and the environment
		edit     func(*app)
		wantCode int
		want     []want
		allGreen bool
	}{
		{
			name: "all green, org authorization server",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key}
			},
			wantCode: exitOK,
			allGreen: true,
			want: []want{
				{"issuer", []string{"✓", "org authorization server", "from OKTA_ISSUER"}},
				{"discovery", []string{"✓", "issuer matches"}},
				{"clock", []string{"✓"}},
				{"signing keys", []string{"✓", "RSA key(s) for RS256"}},
				{"PKCE", []string{"✓", "S256"}},
				{"sign-out", []string{"✓", "end_session_endpoint"}},
				{"client credentials", []string{"✓", "client credentials accepted", "client_secret_basic"}},
				{"sign-in redirect URI", []string{"✓", testBase + "/auth/callback"}},
				{"session keys", []string{"✓", "1 key(s)"}},
			},
		},
		{
			name: "custom server pasted into OKTA_DOMAIN",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				return srv, []string{"OKTA_DOMAIN", srv.URL + "/oauth2/default/", "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key}
			},
			wantCode: exitOK,
			allGreen: true,
			want: []want{
				{"issuer", []string{"✓", "/oauth2/default", `custom authorization server "default"`, "from OKTA_DOMAIN", "/oauth2/default in OKTA_DOMAIN"}},
				{"client credentials", []string{"✓"}},
			},
		},
		{
			name: "client_secret_post",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "client_secret_post")
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTA_CLIENT_AUTH_METHOD", "client_secret_post", "OKTASSO_SESSION_KEYS", key}
			},
			wantCode: exitOK,
			want:     []want{{"client credentials", []string{"✓", "client_secret_post"}}},
		},
		{
			name: "wrong secret",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", "wrong", "OKTASSO_SESSION_KEYS", key}
			},
			wantCode: exitFail,
			want:     []want{{"client credentials", []string{"✗", "Okta refused the client ID or secret", "fix: copy them again from the app's General tab"}}},
		},
		{
			name: "wrong client authentication method",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "client_secret_post")
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key}
			},
			wantCode: exitFail,
			want:     []want{{"client credentials", []string{"✗", "invalid_client", "client_secret_basic"}}},
		},
		{
			name: "wrong client ID",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", "0oa-nope", "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key}
			},
			wantCode: exitFail,
			want: []want{
				{"client credentials", []string{"✗", "client ID or secret"}},
				{"sign-in redirect URI", []string{"✗", "client ID"}},
			},
		},
		{
			name: "unknown custom authorization server",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				return srv, []string{"OKTA_ISSUER", srv.URL + "/oauth2/nope", "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key}
			},
			wantCode: exitFail,
			want: []want{
				{"issuer", []string{"✓", `custom authorization server "nope"`}},
				{"discovery", []string{"✗", "HTTP 404", "Authorization Servers"}},
				{"signing keys", []string{"- ", "skipped"}},
				{"client credentials", []string{"- ", "skipped"}},
			},
		},
		{
			name: "issuer mismatch",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				srv.MutateDiscovery(func(doc map[string]any) {
					doc["issuer"] = strings.Replace(doc["issuer"].(string), "127.0.0.1", "localhost", 1)
				})
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key}
			},
			wantCode: exitFail,
			want: []want{
				{"discovery", []string{"✗", "must match exactly", "fix: set OKTA_ISSUER=http://localhost:"}},
				{"PKCE", []string{"- ", "skipped"}},
			},
		},
		{
			name: "provider signing with ES256",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				srv.SetSigningAlg("", "ES256")
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key}
			},
			wantCode: exitOK,
			want:     []want{{"signing keys", []string{"✓", "2 EC key(s) for ES256"}}},
		},
		{
			name: "provider advertising no accepted signing algorithm",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				srv.MutateDiscovery(func(doc map[string]any) { doc["id_token_signing_alg_values_supported"] = []string{"HS256"} })
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key}
			},
			wantCode: exitFail,
			want:     []want{{"signing keys", []string{"✗", "lists HS256, none of which oktasso accepts", "fix: configure the provider", "ES256"}}},
		},
		{
			name: "endpoint prefix pasted as the issuer",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				return srv, []string{"OKTA_ISSUER", srv.URL + "/oauth2/default/v1", "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key}
			},
			wantCode: exitFail,
			want:     []want{{"issuer", []string{"✗", "endpoint prefix", "/oauth2/default\n"}}},
		},
		{
			name: "no session keys",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_BASE_URL", "https://app.example.com"}
			},
			wantCode: exitFail,
			want:     []want{{"session keys", []string{"✗", "sessions end at restart", "fix: set OKTASSO_SESSION_KEYS (oktasso keygen)"}}},
		},
		{
			name: "no session keys in local development",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret}
			},
			wantCode: exitOK,
			want:     []want{{"session keys", []string{"! ", "sessions end at restart", "local fake Okta", "fix: set OKTASSO_SESSION_KEYS"}}},
		},
		{
			name: "weak session key",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				weak := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("ab", 20)))
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key + "," + weak}
			},
			wantCode: exitFail,
			want:     []want{{"session keys", []string{"✗", "weak", "key 2 has only 2 distinct byte values"}}},
		},
		{
			name: "short session key and missing client ID",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTASSO_SESSION_KEYS", "c2hvcnQ="}
			},
			wantCode: exitFail,
			want: []want{
				{"config", []string{"✗", "OKTA_CLIENT_ID"}},
				{"discovery", []string{"✓"}},
				{"client credentials", []string{"- ", "skipped"}},
				{"session keys", []string{"- ", "skipped"}},
			},
		},
		{
			name: "redirect URI not registered",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key, "OKTASSO_BASE_URL", "https://app.example.com/"}
			},
			wantCode: exitFail,
			want: []want{
				{"base URL", []string{"✓", "https://app.example.com (from OKTASSO_BASE_URL)"}},
				{"client credentials", []string{"✓"}},
				{"sign-in redirect URI", []string{"✗", "fix: add https://app.example.com/auth/callback to the app's Sign-in redirect URIs"}},
			},
		},
		{
			name: "groups scope on a custom server",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				return srv, []string{"OKTA_ISSUER", srv.URL + "/oauth2/default", "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key, "OKTASSO_SCOPES", "openid email nonsense"}
			},
			wantCode: exitFail,
			want:     []want{{"sign-in redirect URI", []string{"✗", "Okta refused the scopes", "nonsense"}}},
		},
		{
			name: "clock skew",
			setup: func(t *testing.T) (*oktatest.Server, []string) {
				srv := fakeWithApp(t, "")
				return srv, []string{"OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key}
			},
			edit:     func(a *app) { a.now = func() time.Time { return time.Now().Add(-5 * time.Minute) } },
			wantCode: exitFail,
			want: []want{
				{"clock", []string{"✗", "5m0s behind", "fix: synchronise"}},
				{"discovery", []string{"✓"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, kv := tt.setup(t)
			out, errOut, code := cliWith(t, tt.edit, env(kv...), "check")
			if code != tt.wantCode {
				t.Errorf("check = exit %d; want %d\n%s%s", code, tt.wantCode, out, errOut)
			}
			if strings.Contains(out+errOut, testSecret) {
				t.Errorf("check printed the client secret:\n%s", out)
			}
			lines := checkLines(out)
			for _, w := range tt.want {
				l := line(lines, w.name)
				for _, s := range w.contains {
					if !strings.Contains(l+"\n", s) {
						t.Errorf("check line %q = %q; want it to contain %q\n%s", w.name, l, s, out)
					}
				}
			}
			if tt.allGreen {
				for _, l := range lines {
					if !strings.HasPrefix(l, "✓ ") {
						t.Errorf("check line %q is not ✓", l)
					}
				}
				for _, uri := range []string{
					"Sign-in redirect URI:     " + testBase + "/auth/callback",
					"Sign-out redirect URI:    " + testBase + "/auth/logout/callback",
					"Initiate login URI:       " + testBase + "/auth/initiate-login",
					"Back-channel logout URI:  " + testBase + "/auth/backchannel-logout",
					"Front-channel logout URI: " + testBase + "/auth/frontchannel-logout",
					"Universal Logout endpoint: " + testBase + "/auth/global-token-revocation",
				} {
					if !strings.Contains(out, uri) {
						t.Errorf("check output lacks %q:\n%s", uri, out)
					}
				}
			}
		})
	}
}

// TestCheckIssuerTrailingSlash: an issuer is compared with the slash it
// has or lacks; check passes when it matches the provider's, and on a
// mismatch names the variable and the exact value to set.
func TestCheckIssuerTrailingSlash(t *testing.T) {
	key := strongKey(t)
	tests := []struct {
		name          string
		providerSlash bool
		env           func(url string) []string
		want          func(url string) map[string][]string // check name → parts of its line
	}{
		{
			name: "both end in a slash", providerSlash: true,
			env: func(u string) []string { return []string{"OKTA_ISSUER", u + "/"} },
			want: func(u string) map[string][]string {
				return map[string][]string{"issuer": {"✓", u + "/ ("}, "discovery": {"✓", u + "/.well-known/openid-configuration (issuer matches)"}}
			},
		},
		{
			name: "configured with a slash the provider lacks",
			env:  func(u string) []string { return []string{"OKTA_ISSUER", u + "/"} },
			want: func(u string) map[string][]string {
				return map[string][]string{"discovery": {"✗", "differ only by a trailing slash", "fix: set OKTA_ISSUER=" + u + "\n"}}
			},
		},
		{
			name: "configured without the provider's slash", providerSlash: true,
			env: func(u string) []string { return []string{"OKTA_OAUTH2_ISSUER", u} },
			want: func(u string) map[string][]string {
				return map[string][]string{"discovery": {"✗", "differ only by a trailing slash", "fix: set OKTA_OAUTH2_ISSUER=" + u + "/\n"}}
			},
		},
		{
			name: "domain, provider with a slash", providerSlash: true,
			env: func(u string) []string { return []string{"OKTA_DOMAIN", u + "/"} },
			want: func(u string) map[string][]string {
				return map[string][]string{"discovery": {"✗", "fix: set OKTA_ISSUER=" + u + "/\n"}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeWithApp(t, "")
			if tt.providerSlash {
				srv.MutateDiscovery(func(doc map[string]any) { doc["issuer"] = doc["issuer"].(string) + "/" })
			}
			kv := append(tt.env(srv.URL), "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", testSecret, "OKTASSO_SESSION_KEYS", key)
			out, errOut, _ := cliWith(t, nil, env(kv...), "check")
			lines := checkLines(out)
			for name, parts := range tt.want(srv.URL) {
				l := line(lines, name)
				for _, p := range parts {
					if !strings.Contains(l+"\n", p) {
						t.Errorf("check line %q = %q; want it to contain %q\n%s%s", name, l, p, out, errOut)
					}
				}
			}
			if l := line(lines, "issuer"); !strings.Contains(l, "OKTA_DOMAIN") && strings.Contains(l, "stripped") {
				t.Errorf("check line issuer = %q; want no slash stripped from a non-Okta issuer", line(lines, "issuer"))
			}
		})
	}
}

// TestCheckOktaIssuerSlash: on an Okta host a pasted trailing slash is
// dropped, and check says so.
func TestCheckOktaIssuerSlash(t *testing.T) {
	srv := fakeWithApp(t, "")
	const okta = "https://dev-1.okta.com"
	srv.MutateDiscovery(func(doc map[string]any) { doc["issuer"] = okta })
	// Every request goes to the fake, whatever its host.
	fakeURL, _ := url.Parse(srv.URL)
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = fakeURL.Scheme, fakeURL.Host
		return srv.Client().Transport.RoundTrip(r)
	})}
	out, _, _ := cliWith(t, func(a *app) { a.client = client }, env("OKTA_ISSUER", okta+"/", "OKTA_CLIENT_ID", testClientID, "OKTASSO_SESSION_KEYS", strongKey(t)), "check")
	lines := checkLines(out)
	if l := line(lines, "issuer"); !strings.Contains(l, "✓ issuer: "+okta+" (") || !strings.Contains(l, "trailing slash stripped") {
		t.Errorf("check line issuer = %q; want %s with the trailing slash stripped", l, okta)
	}
	if l := line(lines, "discovery"); !strings.Contains(l, "✓ discovery: "+okta+"/.well-known/openid-configuration (issuer matches)") {
		t.Errorf("check line discovery = %q; want a match", l)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCheckHTMLDiscovery(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>Sign In</title><form></form>"))
	}))
	defer ts.Close()
	out, _, code := cli(t, env("OKTA_DOMAIN", ts.URL, "OKTA_CLIENT_ID", testClientID, "OKTASSO_SESSION_KEYS", strongKey(t)), "check")
	if code != exitFail {
		t.Errorf("check = exit %d; want %d", code, exitFail)
	}
	l := line(checkLines(out), "discovery")
	for _, s := range []string{"✗", "HTML page, not JSON", "fix: the domain is wrong"} {
		if !strings.Contains(l, s) {
			t.Errorf("discovery line = %q; want it to contain %q", l, s)
		}
	}
}

func TestCheckJSON(t *testing.T) {
	tests := []struct {
		name     string
		secret   string
		wantOK   bool
		wantCode int
	}{
		{name: "all green", secret: testSecret, wantOK: true, wantCode: exitOK},
		{name: "wrong secret", secret: "wrong", wantOK: false, wantCode: exitFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeWithApp(t, "")
			out, _, code := cli(t, env("OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", tt.secret, "OKTASSO_SESSION_KEYS", strongKey(t)), "check", "--json")
			if code != tt.wantCode {
				t.Errorf("check --json = exit %d; want %d", code, tt.wantCode)
			}
			var rep struct {
				OK     bool
				Checks []struct {
					Name, Detail, Fix string
					OK                bool
				}
				Register map[string]string
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("check --json printed %q: %v", out, err)
			}
			if rep.OK != tt.wantOK {
				t.Errorf("check --json ok = %t; want %t", rep.OK, tt.wantOK)
			}
			var client bool
			for _, c := range rep.Checks {
				if c.Name == "client credentials" {
					client = true
					if c.OK != tt.wantOK || (!c.OK && !strings.Contains(c.Detail, "client ID or secret")) || (!c.OK && c.Fix == "") {
						t.Errorf("check --json client credentials = %+v; want ok %t with a fix when failing", c, tt.wantOK)
					}
				}
			}
			if !client {
				t.Errorf("check --json has no client credentials check: %s", out)
			}
			if got := rep.Register["sign_in_redirect_uri"]; got != testBase+"/auth/callback" {
				t.Errorf("check --json register.sign_in_redirect_uri = %q; want %q", got, testBase+"/auth/callback")
			}
			for k, want := range map[string]string{"front_channel_logout_uri": "/auth/frontchannel-logout", "back_channel_logout_uri": "/auth/backchannel-logout", "universal_logout_uri": "/auth/global-token-revocation"} {
				if v := rep.Register[k]; v != testBase+want {
					t.Errorf("check --json register.%s = %q; want %q", k, v, testBase+want)
				}
			}
		})
	}
}

// TestCheckProviderName: with OKTASSO_PROVIDER_NAME, check's messages about
// the provider in general name it; those about Okta's console stay Okta's.
func TestCheckProviderName(t *testing.T) {
	t.Parallel()
	srv := fakeWithApp(t, "")
	out, _, code := cli(t, env("OKTA_ISSUER", srv.URL, "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", "wrong",
		"OKTASSO_SESSION_KEYS", strongKey(t), "OKTASSO_PROVIDER_NAME", "Keycloak"), "check")
	if code != exitFail {
		t.Errorf("check with a wrong secret = exit %d; want %d", code, exitFail)
	}
	if l := line(checkLines(out), "client credentials"); !strings.Contains(l, "Keycloak refused the client ID or secret") {
		t.Errorf("client credentials line = %q; want it to name Keycloak", l)
	}
	for _, want := range []string{"Register in Keycloak (the client's settings):", "(Keycloak sends ?iss=;"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Register in Okta") {
		t.Errorf("check output still registers in Okta:\n%s", out)
	}
}
