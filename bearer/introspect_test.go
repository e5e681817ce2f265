package bearer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"github.com/oktasso/oktasso/audit"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/internal/clientauth"
	"github.com/oktasso/oktasso/oktatest"
)

// newECKeyPEM returns a P-256 key and its PKCS#8 PEM.
func newECKeyPEM(t testing.TB) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// revoke revokes token at the authorization server of issuer as clientID
// (a public client).
func revoke(t testing.TB, fake *oktatest.Server, issuer, clientID, token string) {
	t.Helper()
	resp, err := fake.Client().PostForm(endpointOf(issuer, "revoke"), url.Values{"client_id": {clientID}, "token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke = %d; want 200", resp.StatusCode)
	}
}

// orgGuard returns a Guard for the fake's org authorization server that
// introspects as the single-page app (a public client may introspect its
// own tokens).
func (f *apiFixture) orgGuard() *Guard {
	org := f.fake.Issuer()
	return f.guard(func(c *Config) {
		c.Issuer, c.Audiences, c.ClientIDs = org, []string{org}, []string{spaClientID}
		c.Introspection = &Introspection{ClientID: spaClientID}
	})
}

// TestIntrospectionOrgServer: with the org authorization server, whose
// tokens only Okta can validate, every token is introspected; answers are
// cached (active ones for MaxCacheAge at most, inactive ones briefly).
func TestIntrospectionOrgServer(t *testing.T) {
	f := newAPIFixture(t)
	org := f.fake.Issuer()
	g := f.orgGuard()
	aliceUser, _ := f.fake.LookupUser(alice)
	tok := userToken(t, f.fake, org, spaClientID, nil)
	otherApp := userToken(t, f.fake, org, otherClientID, nil)

	steps := []struct {
		name      string
		do        func()
		token     string
		wantCode  int
		wantBody  string
		wantCalls int64 // introspection requests so far
	}{
		{"active", nil, tok, 200, "sub=" + aliceUser.ID + " login=" + alice + " cid=" + spaClientID + " introspected=true", 1},
		{"cached", nil, tok, 200, "introspected=true", 1},
		{"revoked, still cached", func() { revoke(t, f.fake, org, spaClientID, tok) }, tok, 200, "introspected=true", 1},
		{"revoked, after MaxCacheAge", func() { f.clock.Add(5*time.Minute + time.Second) }, tok, 401, "not active", 2},
		{"inactive answer cached", nil, tok, 401, "not active", 2},
		{"after NegativeCacheAge", func() { f.clock.Add(11 * time.Second) }, tok, 401, "not active", 3},
		{"unknown opaque token", nil, "opaque-garbage", 401, "not active", 4},
		{"token of another client", nil, otherApp, 401, "not active", 5},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		rec := callAPI(g, nil, "Bearer "+st.token)
		if rec.Code != st.wantCode || !strings.Contains(rec.Body.String(), st.wantBody) {
			t.Errorf("%s: = %d %s; want %d with %q", st.name, rec.Code, rec.Body, st.wantCode, st.wantBody)
		}
		if n := f.introspections.Load(); n != st.wantCalls {
			t.Errorf("%s: %d introspection requests; want %d", st.name, n, st.wantCalls)
		}
	}
}

// TestIntrospectionPrivateKeyJWT: a confidential client authenticates to
// the introspection endpoint with private_key_jwt; a wrong key is the
// operator's problem (503), not the caller's.
func TestIntrospectionPrivateKeyJWT(t *testing.T) {
	f := newAPIFixture(t)
	key, keyPEM := newECKeyPEM(t)
	_, wrongPEM := newECKeyPEM(t)
	f.fake.AddClient(oktatest.Client{ID: "0oaintro", PublicKeys: []oktatest.PublicKey{{KeyID: "k1", Key: &key.PublicKey}}, RedirectURIs: []string{spaRedirect}})
	custom := f.fake.CustomIssuer("default")
	introCreds, err := clientauth.New("0oaintro", "", "", keyPEM, "k1", "", f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	tok := userToken(t, f.fake, custom, "0oaintro", introCreds)
	tests := []struct {
		name     string
		key      string
		token    string
		wantCode int
		wantBody string
	}{
		// JWTs are verified locally even with introspection on.
		{"JWT", keyPEM, tok, 200, "introspected=false"},
		{"opaque token, introspected", keyPEM, "opaque-token", 401, "not active"},
		{"wrong key", wrongPEM, "opaque-token", 503, "temporarily_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := f.guard(func(c *Config) {
				c.ClientIDs = []string{"0oaintro"}
				c.Introspection = &Introspection{ClientID: "0oaintro", PrivateKey: oktasso.Secret(tt.key), PrivateKeyID: "k1"}
			})
			rec := callAPI(g, nil, "Bearer "+tt.token)
			if rec.Code != tt.wantCode || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("= %d %s; want %d with %q", rec.Code, rec.Body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestFromIntrospection(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	g := &Guard{cfg: Config{Issuer: "https://dev-1.okta.com", Audiences: []string{"https://dev-1.okta.com"}, ClientIDs: []string{"0oa1"}, Leeway: time.Minute, GroupsClaim: "groups"}}
	ok := func() introspection {
		return introspection{Active: true, TokenType: "Bearer", ClientID: "0oa1", Sub: "a@example.com", UID: "00u1",
			Aud: []string{"https://dev-1.okta.com"}, Iss: "https://dev-1.okta.com", Exp: now.Add(time.Hour), Scope: "openid orders:read"}
	}
	tests := []struct {
		name string
		edit func(*introspection)
		want audit.Reason // reason, "" for accepted
	}{
		{"active", func(*introspection) {}, ""},
		{"inactive", func(i *introspection) { i.Active = false }, audit.ReasonTokenInactive},
		{"refresh token", func(i *introspection) { i.TokenType = "refresh_token" }, audit.ReasonTokenInvalid},
		{"other issuer", func(i *introspection) { i.Iss = "https://evil.okta.com" }, audit.ReasonIssuerMismatch},
		{"other client", func(i *introspection) { i.ClientID = "0oa2" }, audit.ReasonClientNotAllowed},
		{"other audience", func(i *introspection) { i.Aud = []string{"api://x"} }, audit.ReasonAudienceMismatch},
		{"expired", func(i *introspection) { i.Exp = now.Add(-2 * time.Minute) }, audit.ReasonTokenExpired},
		{"no exp", func(i *introspection) { i.Exp = time.Time{} }, audit.ReasonTokenTimeInvalid},
		{"not yet valid", func(i *introspection) { i.Nbf = now.Add(2 * time.Minute) }, audit.ReasonTokenTimeInvalid},
	}
	for _, tt := range tests {
		in := ok()
		tt.edit(&in)
		tok, err := g.fromIntrospection(&in, now)
		var reason audit.Reason
		if te, isTE := errors.AsType[*oktasso.TokenError](err); isTE {
			reason = te.Reason
		} else if err != nil {
			reason = audit.Reason(err.Error())
		}
		if reason != tt.want {
			t.Errorf("%s: fromIntrospection() reason = %q; want %q", tt.name, reason, tt.want)
		}
		if tt.want == "" && (tok.User().Subject != "00u1" || tok.User().Username != "a@example.com" || !tok.HasScope("orders:read")) {
			t.Errorf("%s: token = %+v, user %+v; want uid as subject and the orders:read scope", tt.name, tok, tok.User())
		}
	}
}

func TestIntrospectionNoEndpoint(t *testing.T) {
	f := newAPIFixture(t)
	f.fake.MutateDiscovery(func(doc map[string]any) { delete(doc, "introspection_endpoint") })
	g := f.guard(func(c *Config) { c.Introspection = &Introspection{ClientID: spaClientID} })
	_, err := g.Verify(context.Background(), "opaque")
	if err == nil || !strings.Contains(err.Error(), "no introspection_endpoint") {
		t.Errorf("Verify without an introspection endpoint = %v; want a provider error", err)
	}
	if rec := callAPI(g, nil, "Bearer opaque"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("= %d; want 503", rec.Code)
	}
}

// TestIntrospectionSingleFlight: parallel requests with the same new token
// share one introspection call.
func TestIntrospectionSingleFlight(t *testing.T) {
	f := newAPIFixture(t)
	org := f.fake.Issuer()
	g := f.orgGuard()
	tok := userToken(t, f.fake, org, spaClientID, nil)
	if _, err := g.provider.Endpoint(context.Background(), "introspection_endpoint"); err != nil {
		t.Fatal(err)
	}
	f.fake.Fault("introspect", oktatest.Fault{Delay: 200 * time.Millisecond})
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := g.Verify(context.Background(), tok)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Verify = %v; want ok", err)
		}
	}
	if got := f.introspections.Load(); got != 1 {
		t.Errorf("%d parallel Verify calls made %d introspection requests; want 1", n, got)
	}
}
