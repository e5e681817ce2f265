package oktatest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ulReceiver is an application's Universal Logout endpoint, built like a
// real one: it verifies the bearer JWT with the org's JWKS (fetched from
// the fake, as an application would), checks typ, iss, aud and the time
// claims, parses the body, and answers what answer() says.
type ulReceiver struct {
	*httptest.Server
	t      testing.TB
	okta   *Server
	mu     sync.Mutex
	got    []ulRequest
	answer func(n int) int // status of the n-th request (1-based)
}

// ulRequest is one request the receiver accepted as authentic.
type ulRequest struct {
	claims map[string]any
	subID  map[string]string
	kid    string
}

func newULReceiver(t testing.TB, okta *Server, answer func(n int) int) *ulReceiver {
	t.Helper()
	ur := &ulReceiver{t: t, okta: okta, answer: answer}
	ur.Server = httptest.NewServer(http.HandlerFunc(ur.serve))
	t.Cleanup(ur.Close)
	return ur
}

func (ur *ulReceiver) serve(w http.ResponseWriter, r *http.Request) {
	ur.mu.Lock()
	n := len(ur.got) + 1
	ur.mu.Unlock()
	req, err := ur.check(r)
	if err != nil {
		ur.t.Errorf("Universal Logout receiver: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	ur.mu.Lock()
	ur.got = append(ur.got, req)
	ur.mu.Unlock()
	status := http.StatusNoContent
	if ur.answer != nil {
		status = ur.answer(n)
	}
	w.WriteHeader(status)
}

// check verifies a request as Okta's guide tells applications to.
func (ur *ulReceiver) check(r *http.Request) (ulRequest, error) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		return ulRequest{}, errors.New("want a JSON POST, got " + r.Method + " " + r.Header.Get("Content-Type"))
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ulRequest{}, errors.New("no bearer token")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return ulRequest{}, err
	}
	if typ := tok.Headers[0].ExtraHeaders[jose.HeaderType]; typ != "global-token-revocation+jwt" {
		return ulRequest{}, errors.New("typ is not global-token-revocation+jwt")
	}
	resp, err := http.Get(ur.okta.URL + "/oauth2/v1/keys") // the org authorization server's keys
	if err != nil {
		return ulRequest{}, err
	}
	var jwks jose.JSONWebKeySet
	err = json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	if err != nil {
		return ulRequest{}, err
	}
	var std jwt.Claims
	var claims map[string]any
	if err := tok.Claims(jwks, &std, &claims); err != nil {
		return ulRequest{}, err
	}
	aud := ur.URL + r.URL.Path
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: ur.okta.URL, AnyAudience: jwt.Audience{aud}, Time: ur.okta.now()}, 0); err != nil {
		return ulRequest{}, err
	}
	if std.ID == "" || std.Subject == "" || std.NotBefore == nil || std.IssuedAt == nil || std.Expiry == nil {
		return ulRequest{}, errors.New("missing jti, sub, nbf, iat or exp")
	}
	var body struct {
		SubID map[string]string `json:"sub_id"`
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err := json.Unmarshal(b, &body); err != nil || body.SubID == nil {
		return ulRequest{}, errors.New("malformed body " + string(b))
	}
	return ulRequest{claims: claims, subID: body.SubID, kid: tok.Headers[0].KeyID}, nil
}

func (ur *ulReceiver) requests() []ulRequest {
	ur.mu.Lock()
	defer ur.mu.Unlock()
	return append([]ulRequest(nil), ur.got...)
}

// deliveries waits for every Universal Logout delivery of s.
func deliveries(t testing.TB, s *Server) []UniversalLogoutDelivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ds, err := s.UniversalLogoutDeliveries(ctx)
	if err != nil {
		t.Fatalf("UniversalLogoutDeliveries = %v", err)
	}
	return ds
}

// TestUniversalLogoutTriggers: each admin action that Okta answers with
// Universal Logout sends one request per application with an endpoint the
// user is assigned to, signed with the org's keys even for an application
// that signs in through a custom authorization server, and identifying the
// user as the application asked.
func TestUniversalLogoutTriggers(t *testing.T) {
	tests := []struct {
		name      string
		act       func(s *Server, alice User)
		wantEvent string
		wantUser  string // ACTIVE, SUSPENDED, DEPROVISIONED or "" (deleted)
	}{
		{"EndSession", func(s *Server, a User) { s.EndSession(a.Login) }, "clear_sessions", "ACTIVE"},
		{"ClearUserSessions", func(s *Server, a User) { s.ClearUserSessions(a.ID, false) }, "clear_sessions", "ACTIVE"},
		{"SetUserStatus SUSPENDED", func(s *Server, a User) { s.SetUserStatus(a.ID, "SUSPENDED") }, "suspend", "SUSPENDED"},
		{"SetUserStatus DEPROVISIONED", func(s *Server, a User) { s.SetUserStatus(a.ID, "DEPROVISIONED") }, "deactivate", "DEPROVISIONED"},
		{"UpdateUser status SUSPENDED", func(s *Server, a User) { a.Status = "SUSPENDED"; s.UpdateUser(a) }, "suspend", "SUSPENDED"},
		{"DeleteUser of an active user", func(s *Server, a User) { s.DeleteUser(a.ID) }, "deactivate", ""},
		{"API suspend", func(s *Server, a User) { apiCall(t, s, "POST", "/api/v1/users/"+a.ID+"/lifecycle/suspend", 200) }, "suspend", "SUSPENDED"},
		{"API deactivate", func(s *Server, a User) { apiCall(t, s, "POST", "/api/v1/users/"+a.Login+"/lifecycle/deactivate", 200) }, "deactivate", "DEPROVISIONED"},
		{"API clear sessions", func(s *Server, a User) { apiCall(t, s, "DELETE", "/api/v1/users/"+a.ID+"/sessions", 204) }, "clear_sessions", "ACTIVE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t)
			s.AddAPIToken("00admin")
			alice, _ := s.LookupUser("alice@example.com")
			ur := newULReceiver(t, s, nil)
			s.AddClient(Client{ID: "org-app", Secret: "x", RedirectURIs: []string{webRedirect}, UniversalLogoutURI: ur.URL + "/org"})
			s.AddClient(Client{ID: "custom-app", Secret: "x", RedirectURIs: []string{webRedirect}, UniversalLogoutURI: ur.URL + "/custom", UniversalLogoutEmail: true})
			s.AddClient(Client{ID: "bob-only", Secret: "x", RedirectURIs: []string{webRedirect}, UniversalLogoutURI: ur.URL + "/bob", AssignedUsers: []string{"bob@partner.example"}})
			s.AddClient(Client{ID: "no-endpoint", Secret: "x", RedirectURIs: []string{webRedirect}})
			// custom-app signs in through a custom authorization server; the
			// request is still signed by the org's keys.
			s.AutoLogin(alice.Login)
			f := newFlow(t, s, s.CustomIssuer("default"))
			f.config.ClientID, f.config.ClientSecret = "custom-app", "x"
			f.login(t, s, newBrowser(t, s))

			tt.act(s, alice)
			ds := deliveries(t, s)
			if len(ds) != 2 {
				t.Fatalf("deliveries = %+v; want 2 (org-app, custom-app)", ds)
			}
			orgKid := s.org.cur.kid
			for i, want := range []struct{ client, path, format string }{{"custom-app", "/custom", "email"}, {"org-app", "/org", "iss_sub"}} {
				d := ds[i]
				if d.ClientID != want.client || d.URI != ur.URL+want.path || d.Event != tt.wantEvent || d.UserID != alice.ID ||
					d.Status != http.StatusNoContent || d.Attempts != 1 || d.Err != nil {
					t.Errorf("delivery %d = %+v; want %s %s, event %s, 204 at the first attempt", i, d, want.client, want.path, tt.wantEvent)
				}
				var body map[string]map[string]string
				json.Unmarshal([]byte(d.Body), &body)
				wantSub := map[string]string{"format": "iss_sub", "iss": s.URL, "sub": alice.ID}
				if want.format == "email" {
					wantSub = map[string]string{"format": "email", "email": alice.Email}
				}
				if len(body["sub_id"]) != len(wantSub) {
					t.Errorf("body = %s; want sub_id %v", d.Body, wantSub)
				}
				for k, v := range wantSub {
					if body["sub_id"][k] != v {
						t.Errorf("body = %s; want sub_id %v", d.Body, wantSub)
					}
				}
			}
			got := ur.requests()
			if len(got) != 2 {
				t.Fatalf("receiver accepted %d requests; want 2", len(got))
			}
			for _, r := range got {
				if r.kid != orgKid {
					t.Errorf("kid = %q; want the org server's signing key %q", r.kid, orgKid)
				}
				if r.claims["sub"] != "org-app" && r.claims["sub"] != "custom-app" {
					t.Errorf("sub = %v; want the client ID", r.claims["sub"])
				}
			}
			if u, ok := s.LookupUser(alice.ID); ok != (tt.wantUser != "") || u.Status != tt.wantUser {
				t.Errorf("alice after %s = %q (exists %v); want %q", tt.name, u.Status, ok, tt.wantUser)
			}
		})
	}
}

// apiCall makes a Management API call with the SSWS token "00admin".
func apiCall(t testing.TB, s *Server, method, path string, want int) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, nil)
	req.Header.Set("Authorization", "SSWS 00admin")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := readBody(t, resp)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s; want %d", method, path, resp.StatusCode, body, want)
	}
}

// TestUniversalLogoutRetries: a real sender retries transient failures
// (5xx, 429, no answer) a bounded number of times, and gives up at once on
// an answer that says the request itself is wrong (4xx).
func TestUniversalLogoutRetries(t *testing.T) {
	tests := []struct {
		name         string
		answer       func(n int) int
		wantAttempts int
		wantStatus   int
	}{
		{"204 at once", func(int) int { return 204 }, 1, 204},
		{"503 then 204", func(n int) int { return map[bool]int{true: 503, false: 204}[n < 3] }, 3, 204},
		{"429 then 204", func(n int) int { return map[bool]int{true: 429, false: 204}[n == 1] }, 2, 204},
		{"500 forever", func(int) int { return 500 }, ulMaxAttempts, 500},
		{"404 unknown user is final", func(int) int { return 404 }, 1, 404},
		{"400 is final", func(int) int { return 400 }, 1, 400},
		{"401 is final", func(int) int { return 401 }, 1, 401},
		{"422 is final", func(int) int { return 422 }, 1, 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t)
			ur := newULReceiver(t, s, tt.answer)
			s.AddClient(Client{ID: "app", Secret: "x", RedirectURIs: []string{webRedirect}, UniversalLogoutURI: ur.URL + "/gtr"})
			s.EndSession("alice@example.com")
			ds := deliveries(t, s)
			if len(ds) != 1 || ds[0].Attempts != tt.wantAttempts || ds[0].Status != tt.wantStatus || ds[0].Err != nil {
				t.Fatalf("deliveries = %+v; want one with %d attempts ending %d", ds, tt.wantAttempts, tt.wantStatus)
			}
			got := ur.requests()
			if len(got) != tt.wantAttempts {
				t.Errorf("receiver saw %d requests; want %d", len(got), tt.wantAttempts)
			}
			jtis := map[any]bool{}
			for _, r := range got {
				jtis[r.claims["jti"]] = true
			}
			if len(jtis) != len(got) {
				t.Errorf("%d attempts carried %d distinct jti; want each attempt signed anew", len(got), len(jtis))
			}
		})
	}
}

func TestUniversalLogoutUnreachable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/gtr"
	dead.Close()
	s := newTestServer(t)
	s.AddClient(Client{ID: "app", Secret: "x", RedirectURIs: []string{webRedirect}, UniversalLogoutURI: deadURL})
	s.ClearUserSessions("alice@example.com", false)
	ds := deliveries(t, s)
	if len(ds) != 1 || ds[0].Err == nil || ds[0].Status != 0 || ds[0].Attempts != ulMaxAttempts {
		t.Errorf("delivery to a closed port = %+v; want %d attempts, Err set, Status 0", ds, ulMaxAttempts)
	}
}

// TestUniversalLogoutAsync: the admin call returns while the application
// is still answering; the deliveries report it once it has.
func TestUniversalLogoutAsync(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	s := newTestServer(t)
	s.AddClient(Client{ID: "app", Secret: "x", RedirectURIs: []string{webRedirect}, UniversalLogoutURI: slow.URL})
	s.SetUserStatus(s.logins["alice@example.com"], "SUSPENDED") // returns although the app has not answered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ds, err := s.UniversalLogoutDeliveries(ctx); !errors.Is(err, context.Canceled) || len(ds) != 0 {
		t.Errorf("UniversalLogoutDeliveries(cancelled) while in flight = %+v, %v; want none and context.Canceled", ds, err)
	}
	close(release)
	if ds := deliveries(t, s); len(ds) != 1 || ds[0].Status != http.StatusNoContent || ds[0].Event != "suspend" {
		t.Errorf("deliveries = %+v; want one suspend answered 204", ds)
	}
}

// TestClearUserSessionsTokens: clearing sessions ends the SSO session; with
// oauthTokens the user's tokens stop working too; without, they keep
// working, as with Okta's API.
func TestClearUserSessionsTokens(t *testing.T) {
	for _, oauthTokens := range []bool{false, true} {
		name := map[bool]string{false: "sessions only", true: "oauthTokens"}[oauthTokens]
		t.Run(name, func(t *testing.T) {
			s := newTestServer(t)
			s.AddAPIToken("00admin")
			s.AutoLogin("alice@example.com")
			f := newFlow(t, s, s.CustomIssuer("default"))
			f.config.Scopes = append(f.config.Scopes, "offline_access")
			browser := newBrowser(t, s)
			tok := f.login(t, s, browser)
			s.AutoLogin("")
			path := "/api/v1/users/" + s.logins["alice@example.com"] + "/sessions"
			if oauthTokens {
				path += "?oauthTokens=true"
			}
			apiCall(t, s, "DELETE", path, 204)
			resp, body := get(t, browser, authURL(s, "default", map[string]string{"prompt": "none"}))
			if q := appRedirect(t, resp, body); q.Get("error") != "login_required" {
				t.Errorf("prompt=none after clearing sessions = %v; want login_required", q)
			}
			status, m, _ := tokenCall(t, s, map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, true)
			if (status == 200) == oauthTokens {
				t.Errorf("refresh after clearing sessions = %d %v; want it to work only without oauthTokens", status, m)
			}
		})
	}
}

func TestLifecycleAPIErrors(t *testing.T) {
	s := newTestServer(t)
	s.AddAPIToken("00admin")
	bob := s.logins["bob@partner.example"]
	apiCall(t, s, "POST", "/api/v1/users/"+bob+"/lifecycle/unsuspend", 400) // not suspended
	apiCall(t, s, "POST", "/api/v1/users/"+bob+"/lifecycle/suspend", 200)
	apiCall(t, s, "POST", "/api/v1/users/"+bob+"/lifecycle/suspend", 400) // not active
	apiCall(t, s, "POST", "/api/v1/users/"+bob+"/lifecycle/unsuspend", 200)
	apiCall(t, s, "POST", "/api/v1/users/"+bob+"/lifecycle/explode", 404)
	apiCall(t, s, "POST", "/api/v1/users/00unobody/lifecycle/suspend", 404)
	apiCall(t, s, "DELETE", "/api/v1/users/00unobody/sessions", 404)
	if u, _ := s.LookupUser(bob); u.Status != "ACTIVE" {
		t.Errorf("bob = %s after suspend and unsuspend; want ACTIVE", u.Status)
	}
	// A read-only OAuth token may not suspend anyone.
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/users/"+bob+"/lifecycle/suspend", nil)
	req.Header.Set("Authorization", "SSWS wrong")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("suspend with a bad token = %d; want 401", resp.StatusCode)
	}
}

// TestDevSetupUniversalLogout: dev mode registers oktasso's Universal
// Logout endpoint for the development application.
func TestDevSetupUniversalLogout(t *testing.T) {
	s := newTestServer(t)
	s.DevSetup(DevApp{RedirectURIs: []string{"http://localhost:9999/auth/callback"}})
	s.mu.Lock()
	got := s.clients["oktasso-dev"].UniversalLogoutURI
	s.mu.Unlock()
	if got != "http://localhost:9999/auth/global-token-revocation" {
		t.Errorf("dev client UniversalLogoutURI = %q; want http://localhost:9999/auth/global-token-revocation", got)
	}
}
