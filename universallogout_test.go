package oktasso

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/oktasso/oktasso/audit"
	"github.com/oktasso/oktasso/oktatest"
	"github.com/oktasso/oktasso/store"
)

// uloEvents collects the audit events of a harness.
type uloEvents struct {
	mu     sync.Mutex
	events []audit.Event
}

func (e *uloEvents) add(ev audit.Event) { e.mu.Lock(); e.events = append(e.events, ev); e.mu.Unlock() }

// take returns the events since the last take.
func (e *uloEvents) take() []audit.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.events
	e.events = nil
	return out
}

// uloToken is a Universal Logout token as Okta signs it, for h's app, with
// the fake's org key; mutate (may be nil) changes it first.
func (h *harness) uloToken(mutate func(*oktatest.Token)) string {
	now := h.clock.Now().Unix()
	t := oktatest.Token{
		Header: map[string]any{"typ": "global-token-revocation+jwt"},
		Claims: map[string]any{
			"iss": h.fake.Issuer(), "aud": h.auth.UniversalLogoutURL(), "sub": testClientID,
			"iat": now, "nbf": now, "exp": now + 300, "jti": randomString(12),
		},
	}
	if mutate != nil {
		mutate(&t)
	}
	return h.fake.SignOrgToken(t)
}

// uloRequest is one request to the Universal Logout endpoint.
type uloRequest struct {
	method, auth, contentType, body string
}

func (h *harness) ulo(t *testing.T, r uloRequest) result {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	req, err := http.NewRequest(r.method, h.auth.UniversalLogoutURL(), strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.auth != "" {
		req.Header.Set("Authorization", r.auth)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: string(body), header: resp.Header}
}

// issSub and emailBody are request bodies naming a user.
func issSub(iss, sub string) string {
	b, _ := json.Marshal(map[string]any{"sub_id": map[string]string{"format": "iss_sub", "iss": iss, "sub": sub}})
	return string(b)
}

func emailBody(email string) string {
	b, _ := json.Marshal(map[string]any{"sub_id": map[string]string{"format": "email", "email": email}})
	return string(b)
}

// alive asserts whether the browser's session still admits it.
func (h *harness) alive(t *testing.T, b *browser, who string, want bool) {
	t.Helper()
	r := b.get(h.app.URL + "/webapp")
	if got := r.status == http.StatusOK; got != want {
		t.Errorf("%s's session: GET /webapp = %d; want alive=%v", who, r.status, want)
	}
}

func (h *harness) userID(t *testing.T, login string) string {
	t.Helper()
	u, ok := h.fake.LookupUser(login)
	if !ok {
		t.Fatalf("no user %s", login)
	}
	return u.ID
}

// attackerJWT signs claims with a key of its own and embeds that key as a
// "jwk" header (the key-injection attack).
func attackerJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("global-token-revocation+jwt")
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestUniversalLogoutRefusesBadInput sends every kind of bad request for
// alice, signed in, and checks each is refused with the right status and
// one audit event, and that her session is still alive after each.
func TestUniversalLogoutRefusesBadInput(t *testing.T) {
	ev := &uloEvents{}
	h := newHarness(t, func(c *Config) { c.Hooks.OnEvent = ev.add })
	b := h.browser()
	h.login(b, alice, "/")
	h.alive(t, b, "alice", true)
	sub := h.userID(t, alice)
	good := issSub(h.fake.Issuer(), sub)
	bearer := func(mutate func(*oktatest.Token)) string { return "Bearer " + h.uloToken(mutate) }
	now := h.clock.Now().Unix()
	replayed := bearer(nil)
	if r := h.ulo(t, uloRequest{auth: replayed, contentType: "application/json", body: issSub(h.fake.Issuer(), "00unobody")}); r.status != http.StatusNoContent {
		t.Fatalf("first use of a token = %d %s; want 204", r.status, r.body)
	}
	ev.take()

	tests := []struct {
		name   string
		req    uloRequest
		status int
		reason audit.Reason // "" when no audit event is expected (the mux refuses)
	}{
		{"no Authorization", uloRequest{contentType: "application/json", body: good}, 401, audit.ReasonTokenMissing},
		{"Basic", uloRequest{auth: "Basic YWxpY2U6cGFzcw==", contentType: "application/json", body: good}, 401, audit.ReasonRequestMalformed},
		{"empty Bearer", uloRequest{auth: "Bearer ", contentType: "application/json", body: good}, 401, audit.ReasonRequestMalformed},
		{"not a JWT", uloRequest{auth: "Bearer abc.def", contentType: "application/json", body: good}, 401, audit.ReasonTokenInvalid},
		{"wrong aud", uloRequest{auth: bearer(func(t *oktatest.Token) { t.Claims["aud"] = h.app.URL + "/other" }), contentType: "application/json", body: good}, 401, audit.ReasonAudienceMismatch},
		{"wrong iss", uloRequest{auth: bearer(func(t *oktatest.Token) { t.Claims["iss"] = h.fake.CustomIssuer("default") }), contentType: "application/json", body: good}, 401, audit.ReasonIssuerMismatch},
		{"typ JWT", uloRequest{auth: bearer(func(t *oktatest.Token) { t.Header["typ"] = "JWT" }), contentType: "application/json", body: good}, 401, audit.ReasonTokenInvalid},
		{"typ logout+jwt", uloRequest{auth: bearer(func(t *oktatest.Token) { t.Header["typ"] = "logout+jwt" }), contentType: "application/json", body: good}, 401, audit.ReasonTokenInvalid},
		{"no typ", uloRequest{auth: bearer(func(t *oktatest.Token) { delete(t.Header, "typ") }), contentType: "application/json", body: good}, 401, audit.ReasonTokenInvalid},
		{"expired", uloRequest{auth: bearer(func(t *oktatest.Token) { t.Claims["exp"] = now - 600; t.Claims["iat"] = now - 900 }), contentType: "application/json", body: good}, 401, audit.ReasonTokenExpired},
		{"no exp", uloRequest{auth: bearer(func(t *oktatest.Token) { delete(t.Claims, "exp") }), contentType: "application/json", body: good}, 401, audit.ReasonTokenTimeInvalid},
		{"exp too far", uloRequest{auth: bearer(func(t *oktatest.Token) { t.Claims["exp"] = now + 86400 }), contentType: "application/json", body: good}, 401, audit.ReasonTokenTimeInvalid},
		{"nbf in the future", uloRequest{auth: bearer(func(t *oktatest.Token) { t.Claims["nbf"] = now + 600 }), contentType: "application/json", body: good}, 401, audit.ReasonTokenTimeInvalid},
		{"iat in the future", uloRequest{auth: bearer(func(t *oktatest.Token) { t.Claims["iat"] = now + 600 }), contentType: "application/json", body: good}, 401, audit.ReasonTokenTimeInvalid},
		{"no jti", uloRequest{auth: bearer(func(t *oktatest.Token) { delete(t.Claims, "jti") }), contentType: "application/json", body: good}, 401, audit.ReasonTokenInvalid},
		{"alg none", uloRequest{auth: bearer(func(t *oktatest.Token) { t.Sign = oktatest.SignNone }), contentType: "application/json", body: good}, 401, audit.ReasonTokenInvalid},
		{"HS256 with the public key", uloRequest{auth: bearer(func(t *oktatest.Token) { t.Sign = oktatest.SignHS256PublicKey }), contentType: "application/json", body: good}, 401, audit.ReasonTokenInvalid},
		{"unknown kid", uloRequest{auth: bearer(func(t *oktatest.Token) { t.Sign = oktatest.SignUnknownKey }), contentType: "application/json", body: good}, 401, audit.ReasonSignatureInvalid},
		{"wrong key, known kid", uloRequest{auth: bearer(func(t *oktatest.Token) { t.Sign = oktatest.SignWrongKeySameKid }), contentType: "application/json", body: good}, 401, audit.ReasonSignatureInvalid},
		{"embedded jwk", uloRequest{auth: "Bearer " + attackerJWT(t, map[string]any{
			"iss": h.fake.Issuer(), "aud": h.auth.UniversalLogoutURL(), "iat": now, "nbf": now, "exp": now + 300, "jti": "jwk-attack",
		}), contentType: "application/json", body: good}, 401, audit.ReasonSignatureInvalid},
		{"replayed jti", uloRequest{auth: replayed, contentType: "application/json", body: good}, 401, audit.ReasonTokenReplayed},
		{"malformed JSON", uloRequest{auth: bearer(nil), contentType: "application/json", body: `{"sub_id":{"format":"iss_sub",`}, 400, audit.ReasonRequestMalformed},
		{"two objects", uloRequest{auth: bearer(nil), contentType: "application/json", body: good + good}, 400, audit.ReasonRequestMalformed},
		{"no sub_id", uloRequest{auth: bearer(nil), contentType: "application/json", body: `{"subject":{"format":"iss_sub"}}`}, 400, audit.ReasonRequestMalformed},
		{"unknown format", uloRequest{auth: bearer(nil), contentType: "application/json", body: `{"sub_id":{"format":"opaque","id":"` + sub + `"}}`}, 400, audit.ReasonRequestMalformed},
		{"iss_sub without sub", uloRequest{auth: bearer(nil), contentType: "application/json", body: `{"sub_id":{"format":"iss_sub","iss":"` + h.fake.Issuer() + `"}}`}, 400, audit.ReasonRequestMalformed},
		{"text/plain", uloRequest{auth: bearer(nil), contentType: "text/plain", body: good}, 400, audit.ReasonRequestMalformed},
		{"form", uloRequest{auth: bearer(nil), contentType: "application/x-www-form-urlencoded", body: good}, 400, audit.ReasonRequestMalformed},
		{"1 MB body", uloRequest{auth: bearer(nil), contentType: "application/json", body: good[:len(good)-2] + `,"pad":"` + strings.Repeat("a", 1<<20) + `"}}`}, 400, audit.ReasonRequestMalformed},
		{"another issuer's user", uloRequest{auth: bearer(nil), contentType: "application/json", body: issSub("https://other.okta.com", sub)}, 404, audit.ReasonIssuerMismatch},
		{"GET", uloRequest{method: http.MethodGet, auth: bearer(nil)}, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.ulo(t, tt.req)
			if r.status != tt.status {
				t.Errorf("status = %d %s; want %d", r.status, r.body, tt.status)
			}
			if r.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			evs := ev.take()
			if tt.reason == "" {
				if len(evs) != 0 {
					t.Errorf("events = %+v; want none", evs)
				}
			} else if len(evs) != 1 || evs[0].Name != audit.EventUniversalLogout || evs[0].Reason != tt.reason {
				t.Errorf("events = %+v; want one %s with reason %s", evs, audit.EventUniversalLogout, tt.reason)
			}
			h.alive(t, b, "alice", true)
		})
	}
}

// TestUniversalLogoutEndsSessions ends alice's sessions by iss_sub (the
// configured issuer and the org URL, with org and custom authorization
// servers) and by email, with cookie and stored sessions: both of hers
// end, on the next request, and bob's stays.
func TestUniversalLogoutEndsSessions(t *testing.T) {
	tests := []struct {
		name    string
		custom  bool // sign in through the custom authorization server "default"
		storage SessionStorage
		body    func(h *harness, sub string) string
	}{
		{"iss_sub, org server", false, SessionInCookie, func(h *harness, sub string) string { return issSub(h.fake.Issuer(), sub) }},
		{"iss_sub, custom server, its issuer", true, SessionInCookie, func(h *harness, sub string) string { return issSub(h.fake.CustomIssuer("default"), sub) }},
		{"iss_sub, custom server, org URL", true, SessionInCookie, func(h *harness, sub string) string { return issSub(h.fake.Issuer(), sub) }},
		{"email", false, SessionInCookie, func(*harness, string) string { return emailBody(alice) }},
		{"email, other case", true, SessionInCookie, func(*harness, string) string { return emailBody(strings.ToUpper(alice)) }},
		{"iss_sub, stored sessions", false, SessionInStore, func(h *harness, sub string) string { return issSub(h.fake.Issuer(), sub) }},
		{"email, stored sessions", false, SessionInStore, func(*harness, string) string { return emailBody(alice) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &uloEvents{}
			h := newHarness(t, func(c *Config) {
				c.Hooks.OnEvent = ev.add
				c.Session.Storage = tt.storage
			})
			if tt.custom {
				h.cfg.Issuer = h.fake.CustomIssuer("default")
				h.restart()
			}
			a1, a2, b := h.browser(), h.browser(), h.browser()
			h.login(a1, alice, "/")
			h.login(a2, alice, "/")
			h.login(b, bob, "/")
			var ids []string
			for _, br := range []*browser{a1, a2} {
				h.alive(t, br, "alice", true)
				s, _ := h.auth.peekSession(context.Background(), &http.Request{Header: http.Header{"Cookie": {h.cookieHeader(br)}}})
				if s == nil {
					t.Fatal("no session in alice's cookie")
				}
				ids = append(ids, s.ID)
			}
			ev.take()
			r := h.ulo(t, uloRequest{auth: "Bearer " + h.uloToken(nil), contentType: "application/json", body: tt.body(h, h.userID(t, alice))})
			if r.status != http.StatusNoContent {
				t.Fatalf("Universal Logout = %d %s; want 204", r.status, r.body)
			}
			if evs := ev.take(); len(evs) != 1 || evs[0].Reason != audit.ReasonOK {
				t.Errorf("events = %+v; want one %s ok", evs, audit.EventUniversalLogout)
			}
			h.alive(t, a1, "alice (1)", false)
			h.alive(t, a2, "alice (2)", false)
			h.alive(t, b, "bob", true)
			for _, id := range ids {
				if _, err := h.auth.cfg.Store.Get(context.Background(), keySession(id)); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("stored session %s after Universal Logout: %v; want ErrNotFound", id, err)
				}
			}
			// A new sign-in after the mark's second works.
			h.clock.Add(2 * time.Second)
			a3 := h.browser()
			h.login(a3, alice, "/")
			h.alive(t, a3, "alice's new session", true)
		})
	}
}

// TestUniversalLogoutStoredRefreshTokens: a session whose tokens were
// refreshed keeps its refresh token in the store; Universal Logout
// deletes it.
func TestUniversalLogoutStoredRefreshTokens(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Scopes = []string{"openid", "profile", "email", "offline_access"} })
	b := h.browser()
	h.login(b, alice, "/")
	s, _ := h.auth.peekSession(context.Background(), &http.Request{Header: http.Header{"Cookie": {h.cookieHeader(b)}}})
	if s == nil || s.RefreshToken == "" {
		t.Fatalf("session = %+v; want one with a refresh token", s)
	}
	h.clock.Add(56 * time.Minute) // within 5 minutes of the access token's expiry
	h.alive(t, b, "alice", true)
	if _, err := h.auth.cfg.Store.Get(context.Background(), keyFresh(s.ID)); err != nil {
		t.Fatalf("refreshed session in the store: %v; want it there", err)
	}
	r := h.ulo(t, uloRequest{auth: "Bearer " + h.uloToken(nil), contentType: "application/json", body: issSub(h.fake.Issuer(), h.userID(t, alice))})
	if r.status != http.StatusNoContent {
		t.Fatalf("Universal Logout = %d %s; want 204", r.status, r.body)
	}
	if _, err := h.auth.cfg.Store.Get(context.Background(), keyFresh(s.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refreshed session (its refresh token) after Universal Logout: %v; want ErrNotFound", err)
	}
	h.alive(t, b, "alice", false)
}

// TestUniversalLogoutUnknownUser: Hooks.UserExists makes an unknown user
// a 404 (its sessions, if any, still end); an error counts as known.
func TestUniversalLogoutUnknownUser(t *testing.T) {
	tests := []struct {
		name   string
		exists func(ctx context.Context, iss, sub, email string) (bool, error)
		status int
	}{
		{"unknown", func(context.Context, string, string, string) (bool, error) { return false, nil }, 404},
		{"known", func(context.Context, string, string, string) (bool, error) { return true, nil }, 204},
		{"hook fails", func(context.Context, string, string, string) (bool, error) { return false, errors.New("db down") }, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			h := newHarness(t, func(c *Config) {
				c.Hooks.UserExists = func(ctx context.Context, iss, sub, email string) (bool, error) {
					got = []string{iss, sub, email}
					return tt.exists(ctx, iss, sub, email)
				}
			})
			b := h.browser()
			h.login(b, alice, "/")
			sub := h.userID(t, alice)
			r := h.ulo(t, uloRequest{auth: "Bearer " + h.uloToken(nil), contentType: "application/json; charset=utf-8", body: issSub(h.fake.Issuer(), sub)})
			if r.status != tt.status {
				t.Errorf("status = %d %s; want %d", r.status, r.body, tt.status)
			}
			if want := []string{h.auth.Provider().Issuer(), sub, ""}; strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("UserExists got %q; want %q", got, want)
			}
			h.alive(t, b, "alice", false)
		})
	}
}

// failingStore is a store.Memory whose writes fail while fail is set.
type failingStore struct {
	*store.Memory
	mu   sync.Mutex
	fail bool
}

var errStoreDown = errors.New("store down")

func (f *failingStore) failing() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.fail }
func (f *failingStore) set(v bool)    { f.mu.Lock(); f.fail = v; f.mu.Unlock() }

func (f *failingStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if f.failing() {
		return errStoreDown
	}
	return f.Memory.Set(ctx, key, value, ttl)
}

// TestUniversalLogoutStoreFailure: when the store cannot write the mark,
// the answer is 422, nothing changed, and the sender's retry with the
// same token succeeds once the store is back.
func TestUniversalLogoutStoreFailure(t *testing.T) {
	fs := &failingStore{}
	ev := &uloEvents{}
	h := newHarness(t, func(c *Config) {
		fs.Memory = store.NewMemory(c.Now)
		c.Store = fs
		c.Hooks.OnEvent = ev.add
	})
	b := h.browser()
	h.login(b, alice, "/")
	ev.take()
	tok := "Bearer " + h.uloToken(nil)
	req := uloRequest{auth: tok, contentType: "application/json", body: issSub(h.fake.Issuer(), h.userID(t, alice))}
	fs.set(true)
	if r := h.ulo(t, req); r.status != http.StatusUnprocessableEntity {
		t.Errorf("Universal Logout with a failing store = %d %s; want 422", r.status, r.body)
	}
	if evs := ev.take(); len(evs) != 1 || evs[0].Reason != audit.ReasonStoreUnavailable {
		t.Errorf("events = %+v; want one with reason %s", evs, audit.ReasonStoreUnavailable)
	}
	fs.set(false)
	h.alive(t, b, "alice", true)
	if err := h.auth.EndSessions(context.Background(), h.fake.Issuer(), "00unobody"); err != nil {
		t.Fatalf("EndSessions with the store back: %v", err)
	}
	fs.set(true)
	if err := h.auth.EndSessions(context.Background(), h.fake.Issuer(), h.userID(t, alice)); !errors.Is(err, errStoreDown) {
		t.Errorf("EndSessions with a failing store = %v; want an error wrapping the store's", err)
	}
	fs.set(false)
	h.alive(t, b, "alice", true)
	if r := h.ulo(t, req); r.status != http.StatusNoContent {
		t.Errorf("retry with the same token = %d %s; want 204", r.status, r.body)
	}
	h.alive(t, b, "alice", false)
}

// TestEndSessions ends a user's sessions from Go with either issuer, and
// refuses a foreign issuer or an empty subject without changing anything.
func TestEndSessions(t *testing.T) {
	tests := []struct {
		name    string
		issuer  func(h *harness) string
		subject func(h *harness, t *testing.T) string
		wantErr bool
	}{
		{"configured issuer", func(h *harness) string { return h.auth.Provider().Issuer() }, func(h *harness, t *testing.T) string { return h.userID(t, alice) }, false},
		{"org URL of a custom server", func(h *harness) string { return h.fake.Issuer() }, func(h *harness, t *testing.T) string { return h.userID(t, alice) }, false},
		{"foreign issuer", func(*harness) string { return "https://other.okta.com" }, func(h *harness, t *testing.T) string { return h.userID(t, alice) }, true},
		{"empty subject", func(h *harness) string { return h.fake.Issuer() }, func(*harness, *testing.T) string { return "" }, true},
		{"unknown subject", func(h *harness) string { return h.fake.Issuer() }, func(*harness, *testing.T) string { return "00unobody" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &uloEvents{}
			h := newHarness(t, func(c *Config) { c.Hooks.OnEvent = ev.add })
			h.cfg.Issuer = h.fake.CustomIssuer("default")
			h.restart()
			a, b := h.browser(), h.browser()
			h.login(a, alice, "/")
			h.login(b, bob, "/")
			ev.take()
			sub := tt.subject(h, t)
			err := h.auth.EndSessions(context.Background(), tt.issuer(h), sub)
			if (err != nil) != tt.wantErr {
				t.Fatalf("EndSessions = %v; want error %v", err, tt.wantErr)
			}
			ended := !tt.wantErr && sub == h.userID(t, alice)
			h.alive(t, a, "alice", !ended)
			h.alive(t, b, "bob", true)
			if evs := ev.take(); !tt.wantErr && (len(evs) != 1 || evs[0].Name != audit.EventSessionsEnded) {
				t.Errorf("events = %+v; want one %s", evs, audit.EventSessionsEnded)
			}
		})
	}
}

// TestCookieSignInWritesNoIndex: a cookie-only sign-in leaves nothing in
// the store that lasts as long as the session: no logout index by sid or
// by user (issue 20), yet back-channel, front-channel and Universal Logout
// still end it.
func TestCookieSignInWritesNoIndex(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	h.login(b, alice, "/")
	s, _ := h.auth.peekSession(context.Background(), &http.Request{Header: http.Header{"Cookie": {h.cookieHeader(b)}}})
	if s == nil {
		t.Fatal("no session")
	}
	ss := h.auth.cfg.Store.(store.SetStore)
	for _, key := range []string{keyBySub(h.auth.indexApp(), s.Issuer, s.Subject), keyBySID(h.auth.indexApp(), s.Issuer, s.SID), keyByEmail(h.auth.indexApp(), alice)} {
		if m, _ := ss.Members(context.Background(), key); len(m) != 0 {
			t.Errorf("index %q = %v after a cookie sign-in; want nothing", key, m)
		}
	}
	// After MaxAge nothing of the sign-in is left to expire but the
	// flow's state lock; the session is still ended by a mark.
	if err := h.auth.EndSessions(context.Background(), s.Issuer, s.Subject); err != nil {
		t.Fatal(err)
	}
	h.alive(t, b, "alice", false)
}

// TestLegacyIndexHonoured: a session indexed by sid and user as 0.1 did
// still ends by back- or front-channel logout.
func TestLegacyIndexHonoured(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	h.login(b, alice, "/")
	s, _ := h.auth.peekSession(context.Background(), &http.Request{Header: http.Header{"Cookie": {h.cookieHeader(b)}}})
	ss := h.auth.cfg.Store.(store.SetStore)
	if err := ss.AddToSet(context.Background(), keyBySID("", s.Issuer, "legacy-sid"), s.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := h.auth.endSID(context.Background(), s.Issuer, "legacy-sid"); err != nil {
		t.Fatal(err)
	}
	h.alive(t, b, "alice", false)
}

// TestRevocationMarkTimes: a mark ends the sessions signed in at or before
// its second, not later ones; a mark that cannot be read ends them all.
func TestRevocationMarkTimes(t *testing.T) {
	tests := []struct {
		mark    string
		created int64
		ended   bool
	}{
		{"100", 99, true}, {"100", 100, true}, {"100", 101, false},
		{"", 101, true}, {"x1", 101, true}, {"99999999999999999999", 1, true}, {"-5", 1, true},
	}
	for _, tt := range tests {
		if got := markTime([]byte(tt.mark)) >= tt.created; got != tt.ended {
			t.Errorf("mark %q, created %d: ended = %v; want %v", tt.mark, tt.created, got, tt.ended)
		}
	}
}

// FuzzRevocationRequest: any body parses to an error or a subject of a
// known format whose parts are non-empty printable text, never a panic.
func FuzzRevocationRequest(f *testing.F) {
	for _, s := range []string{
		issSub("https://dev-1.okta.com", "00u1"), emailBody("a@example.com"), `{}`, `{"sub_id":null}`,
		`{"sub_id":{"format":"iss_sub","iss":"x","sub":"\u0000"}}`, `{"sub_id":{"format":"email","email":["a"]}}`, `[]`, `{"sub_id":{}} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, err := parseRevocationRequest(body)
		if err != nil {
			if !errors.Is(err, errRevocationRequest) {
				t.Errorf("error %v does not wrap errRevocationRequest", err)
			}
			return
		}
		switch id.Format {
		case "iss_sub":
			if !subjectPart(id.Issuer) || !subjectPart(id.Subject) || id.Email != "" {
				t.Errorf("iss_sub %+v", id)
			}
		case "email":
			if !subjectPart(id.Email) || id.Issuer != "" || id.Subject != "" {
				t.Errorf("email %+v", id)
			}
		default:
			t.Errorf("format %q accepted", id.Format)
		}
	})
}

// TestUniversalLogoutEmailWithoutEmailScope: when the sign-in does not ask
// for the email scope, no session carries an email an email-format request
// could match; the answer is 422 (so the failure shows at Okta), not a 204
// that ends nothing, and the session is untouched.
func TestUniversalLogoutEmailWithoutEmailScope(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Scopes = []string{"openid", "profile"} })
	b := h.browser()
	h.login(b, alice, "/")
	r := h.ulo(t, uloRequest{auth: "Bearer " + h.uloToken(nil), contentType: "application/json", body: emailBody(alice)})
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("email format without the email scope = %d %s; want 422", r.status, r.body)
	}
	h.alive(t, b, "alice", true)
	// The same app still ends sessions by issuer and subject.
	r = h.ulo(t, uloRequest{auth: "Bearer " + h.uloToken(nil), contentType: "application/json", body: issSub(h.fake.Issuer(), h.userID(t, alice))})
	if r.status != http.StatusNoContent {
		t.Errorf("iss_sub format = %d %s; want 204", r.status, r.body)
	}
	h.alive(t, b, "alice", false)
}
