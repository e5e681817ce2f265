package oktasso

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// outcome is what a conformance case expects of the sign-in.
type outcome int

const (
	accept      outcome = iota // 302 to the app with a session
	reject                     // a 4xx page, no session, nothing learned
	unavailable                // 503: the provider's metadata is refused
)

// conformanceCase is one line of the conformance table: the OpenID
// Foundation's RP certification test ID where one exists (Basic RP and
// Config RP plans), else a name of ours; how to set the fake up; how to
// run the flow (nil: a normal sign-in, then the callback); the outcome.
type conformanceCase struct {
	id    string
	setup func(h *harness)
	flow  func(h *harness, b *browser) result
	want  outcome
}

// TestConformance runs the relying-party conformance table through the
// fake Okta's mutators: every ID-token rule, userinfo, discovery, RFC 9207,
// state, replay and error responses (RFC 9700's advice included).
func TestConformance(t *testing.T) {
	tokenMut := func(f func(*oktatest.Token)) func(*harness) {
		return func(h *harness) { h.fake.MutateIDToken(f) }
	}
	now := func(h *harness) time.Time { return h.clock.Now() }
	cases := []conformanceCase{
		{id: "rp-response_type-code", want: accept},
		{id: "rp-token_endpoint-client_secret_basic", want: accept},
		{id: "rp-scope-userinfo-claims", setup: func(h *harness) {
			h.fake.MutateUserInfo(func(c map[string]any) { c["email"] = "from-userinfo@example.com" })
			h.fake.MutateIDToken(func(tk *oktatest.Token) { delete(tk.Claims, "email") })
		}, want: accept},
		{id: "rp-nonce-invalid", setup: tokenMut(func(tk *oktatest.Token) { tk.Claims["nonce"] = "not-the-nonce-sent" }), want: reject},
		{id: "oktasso-nonce-missing", setup: tokenMut(func(tk *oktatest.Token) { delete(tk.Claims, "nonce") }), want: reject},
		{id: "rp-id_token-aud", setup: tokenMut(func(tk *oktatest.Token) { tk.Claims["aud"] = "0oaother" }), want: reject},
		{id: "oktasso-azp-multiple-aud-missing", setup: tokenMut(func(tk *oktatest.Token) { tk.Claims["aud"] = []string{testClientID, "0oaother"} }), want: reject},
		{id: "oktasso-azp-multiple-aud-ours", setup: tokenMut(func(tk *oktatest.Token) {
			tk.Claims["aud"] = []string{testClientID, "0oaother"}
			tk.Claims["azp"] = testClientID
		}), want: accept},
		{id: "oktasso-azp-other-client", setup: tokenMut(func(tk *oktatest.Token) { tk.Claims["azp"] = "0oaother" }), want: reject},
		{id: "rp-id_token-iat", setup: tokenMut(func(tk *oktatest.Token) { delete(tk.Claims, "iat") }), want: reject},
		{id: "oktasso-iat-future", setup: func(h *harness) {
			h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["iat"] = now(h).Add(time.Hour).Unix() })
		}, want: reject},
		{id: "oktasso-exp-past", setup: func(h *harness) {
			h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["exp"] = now(h).Add(-time.Minute).Unix() })
		}, want: reject},
		{id: "oktasso-nbf-future", setup: func(h *harness) {
			h.fake.MutateIDToken(func(tk *oktatest.Token) { tk.Claims["nbf"] = now(h).Add(time.Hour).Unix() })
		}, want: reject},
		{id: "rp-id_token-sub", setup: tokenMut(func(tk *oktatest.Token) { delete(tk.Claims, "sub") }), want: reject},
		{id: "rp-id_token-issuer-mismatch", setup: tokenMut(func(tk *oktatest.Token) { tk.Claims["iss"] = "https://evil.okta.com" }), want: reject},
		{id: "rp-id_token-sig-none", setup: tokenMut(func(tk *oktatest.Token) { tk.Sign = oktatest.SignNone }), want: reject},
		{id: "oktasso-sig-None-mixed-case", setup: tokenMut(func(tk *oktatest.Token) { tk.Sign = oktatest.SignNone; tk.Header["alg"] = "nOnE" }), want: reject},
		{id: "rp-id_token-bad-sig-rs256", setup: tokenMut(func(tk *oktatest.Token) { tk.Sign = oktatest.SignCorrupt }), want: reject},
		{id: "oktasso-sig-hs256-public-key", setup: tokenMut(func(tk *oktatest.Token) { tk.Sign = oktatest.SignHS256PublicKey }), want: reject},
		{id: "oktasso-sig-unknown-key", setup: tokenMut(func(tk *oktatest.Token) { tk.Sign = oktatest.SignUnknownKey }), want: reject},
		{id: "oktasso-headers-jku-jwk-x5u-ignored", setup: tokenMut(func(tk *oktatest.Token) {
			tk.Header["jku"] = "https://evil.example/keys"
			tk.Header["x5u"] = "https://evil.example/cert"
			tk.Header["jwk"] = attackerJWK(t)
		}), want: accept},
		{id: "oktasso-jku-jwk-with-attacker-key", setup: tokenMut(func(tk *oktatest.Token) {
			tk.Sign = oktatest.SignUnknownKey
			tk.Header["jku"] = "https://evil.example/keys"
			tk.Header["jwk"] = attackerJWK(t)
		}), want: reject},
		{id: "rp-id_token-kid-absent-multiple-jwks", setup: tokenMut(func(tk *oktatest.Token) { delete(tk.Header, "kid") }), want: reject},
		{id: "rp-id_token-kid-absent-single-jwks", setup: singleKeyJWKS, want: accept},
		{id: "oktasso-jwks-unparseable-keys", setup: jwksWithJunk, want: accept},
		{id: "rp-key-rotation-op-sign-key", flow: rotateBeforeSigning, want: accept},
		{id: "rp-id_token-sig-es256", setup: signWith("ES256", nil), want: accept},
		{id: "rp-id_token-bad-sig-es256", setup: signWith("ES256", func(tk *oktatest.Token) { tk.Sign = oktatest.SignCorrupt }), want: reject},
		{id: "oktasso-sig-es256-not-advertised", setup: func(h *harness) {
			h.fake.MutateDiscovery(func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []string{"RS256"} })
			signWith("ES256", nil)(h)
		}, want: reject},
		{id: "oktasso-sig-rs256-not-advertised", setup: func(h *harness) {
			h.fake.MutateDiscovery(func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []string{"ES256", "PS256"} })
			h.restart()
		}, want: reject},
		{id: "oktasso-discovery-only-hs256-advertised", setup: func(h *harness) {
			h.fake.MutateDiscovery(func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []string{"HS256", "none"} })
			h.restart()
		}, flow: func(h *harness, b *browser) result { return b.get(h.app.URL + loginPath) }, want: unavailable},
		{id: "oktasso-at_hash-mismatch", setup: tokenMut(func(tk *oktatest.Token) { tk.Claims["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" }), want: reject},
		{id: "rp-userinfo-bad-sub-claim", setup: func(h *harness) {
			h.fake.MutateUserInfo(func(c map[string]any) { c["sub"] = "00uSomeoneElse" })
		}, want: reject},
		{id: "rp-discovery-issuer-not-matching-config", setup: func(h *harness) {
			h.fake.MutateDiscovery(func(d map[string]any) { d["issuer"] = h.fake.Issuer() + "/" })
			h.restart()
		}, flow: func(h *harness, b *browser) result { return b.get(h.app.URL + loginPath) }, want: unavailable},
		{id: "oktasso-rfc9207-iss-wrong", flow: callbackWith(func(u url.Values, h *harness) { u.Set("iss", "https://evil.example") }), want: reject},
		{id: "oktasso-rfc9207-iss-right", flow: callbackWith(func(u url.Values, h *harness) { u.Set("iss", h.fake.Issuer()) }), want: accept},
		{id: "oktasso-rfc9207-iss-absent-but-advertised", setup: func(h *harness) {
			h.fake.MutateDiscovery(func(d map[string]any) { d["authorization_response_iss_parameter_supported"] = true })
			h.restart()
		}, want: reject},
		{id: "oktasso-rfc9207-iss-absent-okta-metadata", want: accept},
		{id: "oktasso-state-missing", flow: callbackWith(func(u url.Values, _ *harness) { u.Del("state") }), want: reject},
		{id: "oktasso-state-wrong", flow: callbackWith(func(u url.Values, _ *harness) { u.Set("state", u.Get("state")+"x") }), want: reject},
		{id: "oktasso-replay", flow: func(h *harness, b *browser) result {
			victim := h.browser()
			cb := h.authorize(victim, alice, "/")
			flowCookies := victim.client.Jar.Cookies(mustURL(h.t, h.app.URL))
			victim.get(cb)
			b.client.Jar.SetCookies(mustURL(h.t, h.app.URL), flowCookies)
			return b.get(cb)
		}, want: reject},
		{id: "oktasso-error-response-with-markup", flow: func(h *harness, b *browser) result {
			state := mustURL(h.t, h.authorize(b, alice, "/")).Query().Get("state")
			q := url.Values{"state": {state}, "error": {"access_denied"}, "error_description": {`<img src=x onerror=alert(1)>`}}
			r := b.get(h.app.URL + CallbackPath + "?" + q.Encode())
			if strings.Contains(r.body, "<img") {
				h.t.Error("error page shows unescaped markup")
			}
			return r
		}, want: reject},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			h := newHarness(t, nil)
			if tc.setup != nil {
				tc.setup(h)
			}
			b := h.browser()
			flow := tc.flow
			if flow == nil {
				flow = func(h *harness, b *browser) result { return h.login(b, alice, "/") }
			}
			before := h.fake.TokenRequests()
			r := flow(h, b)
			switch tc.want {
			case accept:
				if r.status != http.StatusFound || h.sessionCookie(b) == nil {
					t.Errorf("%s = %d %.200s; want accepted (302 with a session)", tc.id, r.status, r.body)
				}
			case reject:
				if r.status < 400 || r.status > 499 || h.sessionCookie(b) != nil {
					t.Errorf("%s = %d, session %v; want a 4xx and no session", tc.id, r.status, h.sessionCookie(b) != nil)
				}
				if strings.Contains(tc.id, "state") && h.fake.TokenRequests() != before {
					t.Errorf("%s reached the token endpoint", tc.id)
				}
			case unavailable:
				if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
					t.Errorf("%s = %d; want 503 with Retry-After", tc.id, r.status)
				}
			}
		})
	}
}

// callbackWith runs a sign-in and edits the callback's parameters before
// the browser delivers it.
func callbackWith(edit func(url.Values, *harness)) func(*harness, *browser) result {
	return func(h *harness, b *browser) result {
		u := mustURL(h.t, h.authorize(b, alice, "/"))
		q := u.Query()
		edit(q, h)
		u.RawQuery = q.Encode()
		return b.get(u.String())
	}
}

// jwksOverride serves a JWKS derived from the fake's and points discovery
// at it; edit receives the fake's keys and the kid that signs tokens, and
// then (if not nil) changes each ID token.
func jwksOverride(h *harness, edit func(keys []json.RawMessage, signingKid string) []json.RawMessage, then func(*oktatest.Token)) {
	var mu sync.Mutex
	signingKid := ""
	h.fake.MutateIDToken(func(tk *oktatest.Token) {
		mu.Lock()
		signingKid, _ = tk.Header["kid"].(string)
		mu.Unlock()
		if then != nil {
			then(tk)
		}
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := h.fake.Client().Get(h.fake.Issuer() + "/oauth2/v1/keys")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var doc struct {
			Keys []json.RawMessage `json:"keys"`
		}
		body, _ := io.ReadAll(resp.Body)
		json.Unmarshal(body, &doc)
		mu.Lock()
		kid := signingKid
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"keys": edit(doc.Keys, kid)})
	}))
	h.t.Cleanup(srv.Close)
	h.fake.MutateDiscovery(func(d map[string]any) { d["jwks_uri"] = srv.URL })
	h.cfg.HTTPClient = http.DefaultClient // reaches both the fake and the override
	h.restart()
}

// singleKeyJWKS publishes only the signing key and drops kid from tokens:
// with one key, a kid-less token is accepted.
func singleKeyJWKS(h *harness) {
	jwksOverride(h, func(keys []json.RawMessage, kid string) []json.RawMessage {
		for _, k := range keys {
			var m map[string]any
			json.Unmarshal(k, &m)
			if m["kid"] == kid {
				delete(m, "kid")
				b, _ := json.Marshal(m)
				return []json.RawMessage{b}
			}
		}
		return nil
	}, func(tk *oktatest.Token) { delete(tk.Header, "kid") })
}

// jwksWithJunk adds keys that cannot be parsed or used next to the real ones.
func jwksWithJunk(h *harness) {
	jwksOverride(h, func(keys []json.RawMessage, _ string) []json.RawMessage {
		junk := []string{`{"kty":"RSA","kid":"broken","n":"!!","e":"AQAB"}`, `{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}`, `"not an object"`, `{"kty":"EC","kid":"ec-bad","crv":"P-256","x":"AA","y":"AA"}`}
		out := make([]json.RawMessage, 0, len(keys)+len(junk))
		for _, j := range junk {
			out = append(out, json.RawMessage(j))
		}
		return append(out, keys...)
	}, nil)
}

// attackerJWK is a public key the attacker controls, as a JWK header.
func attackerJWK(t testing.TB) map[string]any {
	k := testRSAKeys(t)[2]
	b, _ := json.Marshal(pubJWK(k, "attacker"))
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// signWith makes the fake's org authorization server sign with alg, and
// then (if not nil) changes each ID token.
func signWith(alg string, then func(*oktatest.Token)) func(*harness) {
	return func(h *harness) {
		h.fake.SetSigningAlg("", alg)
		if then != nil {
			h.fake.MutateIDToken(then)
		}
		h.restart()
	}
}

// rotateBeforeSigning signs in once (keys cached), then rotates the fake's
// keys twice, so the next token is signed by a key published after the
// cache was filled: the relying party must refetch and accept it.
func rotateBeforeSigning(h *harness, b *browser) result {
	h.login(h.browser(), alice, "/")
	h.fake.Rotate("")
	h.fake.Rotate("")
	h.clock.Add(jwksRefreshInterval + time.Second)
	return h.login(b, alice, "/")
}
