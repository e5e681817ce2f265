package oktasso

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
	"github.com/oktasso/oktasso/store"
)

// cookieHeader is the Cookie header b sends to the app.
func (h *harness) cookieHeader(b *browser) string {
	var parts []string
	for _, c := range b.client.Jar.Cookies(mustURL(h.t, h.app.URL)) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// replay sends GET path with a raw Cookie header, as an attacker who copied
// it would.
func (h *harness) replay(t *testing.T, path, cookie string) result {
	t.Helper()
	b := h.browser()
	req, _ := http.NewRequest("GET", h.app.URL+path, nil)
	req.Header.Set("Cookie", cookie)
	return b.do(req)
}

func TestLogoutRevokesCopiedCookie(t *testing.T) {
	for _, server := range []bool{false, true} {
		t.Run(fmt.Sprintf("ServerSessions=%v", server), func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				if server {
					c.Session.Storage = SessionInStore
				}
			})
			b := h.browser()
			h.login(b, alice, "/")
			copied := h.cookieHeader(b)
			if r := h.replay(t, "/workspace", copied); r.status != http.StatusOK {
				t.Fatalf("copied cookie before sign-out = %d; want 200", r.status)
			}
			b.post(h.app.URL+LogoutPath, nil)
			if r := h.replay(t, "/workspace", copied); r.status != http.StatusFound {
				t.Errorf("copied cookie replayed after sign-out = %d; want 302 to sign in", r.status)
			}
		})
	}
}

func TestServerSessions(t *testing.T) {
	mem := store.NewMemory(nil)
	h := newHarness(t, func(c *Config) { c.Session.Storage = SessionInStore; c.Store = mem })
	b := h.browser()
	h.login(b, alice, "/")
	ck := h.sessionCookie(b)
	if ck == nil || len(ck.Value) > 400 {
		t.Fatalf("server-side session cookie = %d bytes; want a small stub", len(ck.Value))
	}
	var stub session
	if err := h.auth.cookies.openSessionValue(ck.Name, ck.Value, &stub); err != nil || !stub.Ref || stub.Email != "" || stub.IDToken != "" {
		t.Fatalf("cookie content = %+v, %v; want only a stub with the session id", stub, err)
	}
	if _, err := mem.Get(context.Background(), keySession(stub.ID)); err != nil {
		t.Fatalf("store has no session %s: %v", stub.ID, err)
	}
	if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusOK || r.body != "user:"+alice {
		t.Errorf("GET /workspace = %d %q; want alice", r.status, r.body)
	}
	// A stub whose data is gone (ended elsewhere) is no session.
	mem.Delete(context.Background(), keySession(stub.ID))
	if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusFound {
		t.Errorf("GET /workspace after the stored session was deleted = %d; want 302", r.status)
	}
}

func TestLargeSessions(t *testing.T) {
	var groups []string
	for i := 0; i < 1000; i++ {
		groups = append(groups, fmt.Sprintf("okta-group-%04d", i))
	}
	tests := []struct {
		name       string
		inStore    bool
		wantGroups int
	}{
		{"1,000 groups kept in the store", true, 1001},
		{"1,000 groups trimmed to the policy's", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				if tt.inStore {
					c.Session.Storage = SessionInStoreWhenLarge
				}
			})
			h.fake.SetGroupsClaimLimit(0) // past Okta's 100: as from a provider without the limit
			h.fake.AddUser(oktatest.User{Login: "big@example.com", Password: "p", Groups: append(groups, "Workspace Members")})
			b := h.browser()
			if r := h.login(b, "big@example.com", "/"); r.status != http.StatusFound {
				t.Fatalf("sign-in = %d %.200s", r.status, r.body)
			}
			if n := len(h.cookieHeader(b)); n > 8000 {
				t.Errorf("Cookie header = %d bytes; want under 8 KB", n)
			}
			r := b.get(h.app.URL + "/workspace")
			got, _ := strconv.Atoi(r.header.Get("X-Groups"))
			// "Everyone" comes on top of the user's groups.
			if r.status != http.StatusOK || got < tt.wantGroups {
				t.Errorf("GET /workspace = %d with %d groups; want 200 with ≥ %d", r.status, got, tt.wantGroups)
			}
		})
	}
}

func TestKeyRotationKeepsSessions(t *testing.T) {
	h := newHarness(t, nil) // signs cookies with key1
	b := h.browser()
	h.login(b, alice, "/")
	untouched := h.browser()
	h.login(untouched, alice, "/")
	oldCookie := h.cookieHeader(untouched)

	// Add key2 in front: sessions sealed with key1 still work, and are
	// sealed again with key2 when used.
	h.cfg.Session.Keys = []Secret{key2, key1}
	h.restart()
	r := b.get(h.app.URL + "/workspace")
	if r.status != http.StatusOK || len(r.header.Values("Set-Cookie")) == 0 {
		t.Fatalf("request after adding a key = %d, cookies %v; want 200 and the cookie sealed again", r.status, r.header.Values("Set-Cookie"))
	}
	// Remove key1: the migrated session lives on.
	h.cfg.Session.Keys = []Secret{key2}
	h.restart()
	if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusOK {
		t.Errorf("migrated session after removing the old key = %d; want 200", r.status)
	}
	if r := h.replay(t, "/workspace", oldCookie); r.status != http.StatusFound {
		t.Errorf("a cookie still sealed with the removed key = %d; want 302 (why sessions are migrated on use)", r.status)
	}
}

func TestFrontchannelLogout(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["sid"] = "okta-sid-1" })
	alice1, alice2, other := h.browser(), h.browser(), h.browser()
	h.login(alice1, alice, "/")
	h.login(alice2, alice, "/")
	h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["sid"] = "okta-sid-2" })
	h.login(other, bob, "/")

	for _, tt := range []struct{ name, query string }{
		{"foreign iss", url.Values{"iss": {"https://evil.okta.com"}, "sid": {"okta-sid-1"}}.Encode()},
		{"no sid", url.Values{"iss": {h.fake.Issuer()}}.Encode()},
	} {
		if r := h.browser().get(h.app.URL + frontchannelLogoutPath + "?" + tt.query); r.status != http.StatusBadRequest {
			t.Errorf("%s: front-channel logout = %d; want 400", tt.name, r.status)
		}
	}
	if r := alice1.get(h.app.URL + "/workspace"); r.status != http.StatusOK {
		t.Fatalf("after refused front-channel requests, alice = %d; want still signed in", r.status)
	}

	r := h.browser().get(h.app.URL + frontchannelLogoutPath + "?" + url.Values{"iss": {h.fake.Issuer()}, "sid": {"okta-sid-1"}}.Encode())
	if r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors "+h.fake.URL) || r.header.Get("X-Frame-Options") != "" {
		t.Fatalf("front-channel logout = %d, headers %v; want 200 frameable by the issuer only", r.status, r.header)
	}
	for i, b := range []*browser{alice1, alice2} {
		if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusFound {
			t.Errorf("alice's session %d after front-channel logout = %d; want 302", i+1, r.status)
		}
	}
	if r := other.get(h.app.URL + "/webapp"); r.status != http.StatusOK {
		t.Errorf("another Okta session after front-channel logout = %d; want untouched (200)", r.status)
	}
}

func TestBackchannelLogoutRefusesBadTokens(t *testing.T) {
	h := newHarness(t, nil)
	h.login(h.browser(), alice, "/") // discovery done
	d := h.auth.provider.cached()
	fetchesBefore := d.keys.fetches
	now := h.clock.Now().Unix()
	good := map[string]any{"iss": h.fake.Issuer(), "aud": testClientID, "iat": now, "jti": "j1", "sub": "00u1",
		"events": map[string]any{backchannelEvent: map[string]any{}}}
	mk := func(header map[string]any, edit func(map[string]any)) string {
		c := map[string]any{}
		for k, v := range good {
			c[k] = v
		}
		if edit != nil {
			edit(c)
		}
		return jwtUnsigned(header, c)
	}
	rs := map[string]any{"alg": "RS256", "typ": "logout+jwt", "kid": "k"}
	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"not a JWT", "abc"},
		{"alg none", mk(map[string]any{"alg": "none"}, nil)},
		{"alg HS256", mk(map[string]any{"alg": "HS256"}, nil)},
		{"typ of an ID token", mk(map[string]any{"alg": "RS256", "typ": "id_token+jwt"}, nil)},
		{"foreign iss", mk(rs, func(c map[string]any) { c["iss"] = "https://evil.okta.com" })},
		{"another aud", mk(rs, func(c map[string]any) { c["aud"] = "0oaother" })},
		{"old iat", mk(rs, func(c map[string]any) { c["iat"] = now - 3600 })},
		{"future iat", mk(rs, func(c map[string]any) { c["iat"] = now + 3600 })},
		{"expired", mk(rs, func(c map[string]any) { c["exp"] = now - 600 })},
		{"no sub or sid", mk(rs, func(c map[string]any) { delete(c, "sub") })},
		{"nonce", mk(rs, func(c map[string]any) { c["nonce"] = "n" })},
		{"no events", mk(rs, func(c map[string]any) { delete(c, "events") })},
		{"wrong event", mk(rs, func(c map[string]any) { c["events"] = map[string]any{"x": map[string]any{}} })},
		{"oversized", strings.Repeat("a", maxLogoutToken+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.browser().post(h.app.URL+backchannelLogoutPath, url.Values{"logout_token": {tt.token}})
			if r.status != http.StatusBadRequest || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("back-channel logout = %d (Cache-Control %q); want 400 no-store", r.status, r.header.Get("Cache-Control"))
			}
		})
	}
	// A well-formed token with a bad signature reaches the key check, but
	// none of the cheap refusals above did.
	r := h.browser().post(h.app.URL+backchannelLogoutPath, url.Values{"logout_token": {mk(rs, nil)}})
	if r.status != http.StatusBadRequest {
		t.Errorf("unsigned but well-formed token = %d; want 400", r.status)
	}
	d.keys.mu.Lock()
	fetches := d.keys.fetches - fetchesBefore
	d.keys.mu.Unlock()
	if fetches > 1 {
		t.Errorf("bad logout tokens caused %d JWKS fetches; want at most 1 (for the unknown kid)", fetches)
	}
	big := strings.NewReader("logout_token=" + strings.Repeat("a", maxLogoutBody+10))
	req, _ := http.NewRequest("POST", h.app.URL+backchannelLogoutPath, big)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := h.browser().do(req); r.status != http.StatusBadRequest {
		t.Errorf("oversized body = %d; want 400", r.status)
	}
}

// jwtUnsigned builds header.claims. with an empty signature.
func jwtUnsigned(header, claims map[string]any) string {
	return b64json(header) + "." + b64json(claims) + "."
}

func b64json(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestRefresh(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Scopes = []string{"openid", "profile", "email", "offline_access"}
		c.Session.KeepAccessToken = true
	})
	var seen sync.Map
	mux := http.NewServeMux()
	mux.Handle("/auth/", h.auth.Handler())
	mux.Handle("/token", h.auth.WebApp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := AccessTokenFrom(r.Context())
		seen.Store(at, true)
		w.Write([]byte(at))
	})))
	h.handler.Store(&mux)

	b := h.browser()
	h.login(b, alice, "/")
	first := b.get(h.app.URL + "/token").body
	if first == "" {
		t.Fatal("AccessTokenFrom = \"\"; want the access token (KeepAccessToken)")
	}
	before := h.fake.TokenRequests()

	// 56 minutes later the 1-hour access token is within the refresh margin (refreshBefore, 5 minutes):
	// 50 parallel requests with the same cookie cause exactly one refresh.
	h.clock.Add(56 * time.Minute)
	cookie := h.cookieHeader(b)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	bodies := map[string]int{}
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", h.app.URL+"/token", nil)
			req.Header.Set("Cookie", cookie)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			mu.Lock()
			statuses[resp.StatusCode]++
			bodies[string(body)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if n := h.fake.TokenRequests() - before; n != 1 {
		t.Errorf("50 parallel requests at refresh time made %d token requests; want exactly 1", n)
	}
	if statuses[http.StatusOK] != 50 {
		t.Errorf("statuses = %v; want 50 × 200", statuses)
	}
	if _, stale := bodies[first]; stale || len(bodies) != 1 {
		t.Errorf("access tokens served = %d distinct, old one among them = %v; want every request on the one new token", len(bodies), stale)
	}
	// A sibling request that still carries the old cookie later uses the
	// refreshed tokens without another refresh.
	if r := h.replay(t, "/token", cookie); r.status != http.StatusOK || r.body == first {
		t.Errorf("old cookie after the refresh = %d, old token=%v; want the new token", r.status, r.body == first)
	}
	if n := h.fake.TokenRequests() - before; n != 1 {
		t.Errorf("token requests after the sibling = %d; want still 1", n)
	}
}

func TestRefreshFailureEndsSessionCleanly(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Scopes = []string{"openid", "email", "offline_access"} })
	b := h.browser()
	h.login(b, alice, "/")
	// Okta down 56 minutes in: the token still lasts, the session goes on.
	h.clock.Add(56 * time.Minute)
	h.fake.SetDown(true)
	if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusOK {
		t.Errorf("refresh during an outage, token still valid = %d; want 200 (kept)", r.status)
	}
	// Past the token's expiry with Okta still down: the session ends, and
	// the user is sent to sign in (503 while Okta is down), never a 500.
	h.clock.Add(10 * time.Minute)
	if r := b.get(h.app.URL + "/webapp"); r.status >= 500 && r.status != http.StatusServiceUnavailable {
		t.Errorf("refresh failure past expiry = %d; want a redirect to sign in or 503", r.status)
	}
	h.fake.SetDown(false)
	h.clock.Add(maxRetryBackoff)
	if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusFound {
		t.Errorf("after the failed refresh = %d; want 302 to sign in (session ended)", r.status)
	}
}

func TestRefreshRefusedEndsSession(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Scopes = []string{"openid", "email", "offline_access"} })
	b := h.browser()
	h.login(b, alice, "/")
	ck := h.sessionCookie(b)
	var s session
	if err := h.auth.cookies.openSessionValue(ck.Name, ck.Value, &s); err != nil || s.RefreshToken == "" {
		t.Fatalf("session = %v, %v; want a refresh token", s.RefreshToken != "", err)
	}
	// The refresh token is revoked at Okta (an admin, a password change).
	form := url.Values{"token": {s.RefreshToken}, "token_type_hint": {"refresh_token"}}
	req, _ := http.NewRequest("POST", h.fake.Issuer()+"/oauth2/v1/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, "test-secret")
	if resp, err := h.fake.Client().Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("revoking at the fake: %v %v", resp, err)
	}
	h.clock.Add(56 * time.Minute)
	if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusFound {
		t.Errorf("request after the refresh was refused = %d; want 302 to sign in, no 500", r.status)
	}
	if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusFound {
		t.Errorf("next request = %d; want still signed out", r.status)
	}
}

func TestRefreshedIDTokenForAnotherSubjectEndsSession(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Scopes = []string{"openid", "email", "offline_access"} })
	b := h.browser()
	h.login(b, alice, "/")
	h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["sub"] = "00uSomeoneElse" })
	h.clock.Add(56 * time.Minute)
	if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusFound {
		t.Errorf("refresh returning another subject's ID token = %d; want the session ended (302)", r.status)
	}
}

// TestRevocationKeys checks the keys the revocation check builds in one
// buffer against the keys logouts write (markKey, keyRevoked), emails in
// any case included.
func TestRevocationKeys(t *testing.T) {
	a := &Auth{marks: markPrefix("client|oktasso|", "https://dev-1.okta.com")}
	tests := []struct {
		name string
		s    session
		want []string
	}{
		{"user only", session{ID: "id1", Subject: "00u1"},
			[]string{keyRevoked("id1"), a.markKey(markUser, "00u1")}},
		{"unverified email is no key", session{ID: "id1", Subject: "00u1", Email: "a@example.com"},
			[]string{keyRevoked("id1"), a.markKey(markUser, "00u1")}},
		{"sid and email", session{ID: "id2", Subject: "00u2", SID: "102abc", Email: "Alice.B@Example.COM", Verified: true},
			[]string{keyRevoked("id2"), a.markKey(markUser, "00u2"), a.markKey(markSID, "102abc"), a.markKey(markEmail, "alice.b@example.com")}},
		{"non-ASCII email", session{ID: "id3", Subject: "00u3", Email: "ÉLODIE@Exemple.fr", Verified: true},
			[]string{keyRevoked("id3"), a.markKey(markUser, "00u3"), a.markKey(markEmail, strings.ToLower("ÉLODIE@Exemple.fr"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rk := a.revocationKeys(&tt.s)
			if got := rk.keys(); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("revocationKeys = %q; want %q", got, tt.want)
			}
		})
	}
}
