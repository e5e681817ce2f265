package comparebench

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/oktasso/oktasso/oktatest"
	"golang.org/x/oauth2"
)

// idClaims are the claims oktasso reads from an ID token (the root
// package's idClaims), which go-oidc's side decodes into a struct.
type idClaims struct {
	Subject           string   `json:"sub"`
	AuthorizedParty   string   `json:"azp"`
	AuthTime          int64    `json:"auth_time"`
	Email             string   `json:"email"`
	EmailVerified     bool     `json:"email_verified"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
	SessionID         string   `json:"sid"`
	ACR               string   `json:"acr"`
	AMR               []string `json:"amr"`
	Nonce             string   `json:"nonce"`
}

// BenchmarkVerifyIDToken is the comparison of the root package's
// BenchmarkVerifyIDToken (its "oktasso" sub-benchmarks): "go-oidc" is
// oidc.IDTokenVerifier.Verify and the claims into a struct, on an
// equivalent token: alice's ID token from the fake Okta's org
// authorization server after a sign-in with the scopes oktasso asks for
// there (openid, profile, email, groups) and a nonce of oktasso's size (32
// random bytes, base64url), signed with the fake's RSA-2048 key. The verifier uses go-oidc's own key set, its JWKS
// fetched once.
func BenchmarkVerifyIDToken(b *testing.B) {
	s := newFake(b)
	s.AutoLogin("alice@example.com")
	f := newGoOIDC(b, s, s.Issuer())
	f.nonce = oauth2.GenerateVerifier() // 32 random bytes, base64url
	raw := rawIDToken(b, f.login(b, newBrowser(b, s)))
	var disco struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := f.provider.Claims(&disco); err != nil {
		b.Fatal(err)
	}
	v := oidc.NewVerifier(s.Issuer(), oidc.NewRemoteKeySet(f.ctx, disco.JWKSURI), &oidc.Config{ClientID: "web", SupportedSigningAlgs: []string{oidc.RS256}})
	if _, err := v.Verify(f.ctx, raw); err != nil { // fetches the JWKS
		b.Fatal(err)
	}
	b.Run("go-oidc", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			tok, err := v.Verify(f.ctx, raw)
			if err != nil {
				b.Fatal(err)
			}
			var c idClaims
			if err := tok.Claims(&c); err != nil || c.Nonce != f.nonce {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGoOIDCAccessToken is the comparison of package bearer's
// BenchmarkBearerVerifyMiss: go-oidc's verifier (signature, iss, exp; no
// audience or cid checks, no cache) on an equivalent token, a user access
// token of the fake's default custom authorization server for a public
// client, with scopes openid, profile and email.
func BenchmarkGoOIDCAccessToken(b *testing.B) {
	s := newFake(b)
	s.AutoLogin("alice@example.com")
	tok := spaAccessToken(b, s)
	ctx := oidc.ClientContext(context.Background(), s.Client())
	p, err := oidc.NewProvider(ctx, s.CustomIssuer("default"))
	if err != nil {
		b.Fatal(err)
	}
	v := p.Verifier(&oidc.Config{SkipClientIDCheck: true})
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// spaAccessToken returns a fresh access token of the default custom
// authorization server for the public client "spa", signed in by AutoLogin,
// with scopes openid, profile and email: the token of package bearer's
// benchmarks.
func spaAccessToken(t testing.TB, s *oktatest.Server) string {
	t.Helper()
	issuer := s.CustomIssuer("default")
	verifier := oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {"spa"}, "redirect_uri": {spaRedirect}, "response_type": {"code"},
		"scope": {"openid profile email"}, "state": {"st"}, "nonce": {"n"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	c := &http.Client{Transport: s.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(issuer + "/v1/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize = %d to %q; want a redirect with a code", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.PostForm(issuer+"/v1/token", url.Values{
		"grant_type": {"authorization_code"}, "client_id": {"spa"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {spaRedirect}, "code_verifier": {verifier},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); resp.StatusCode != http.StatusOK || err != nil || body.AccessToken == "" {
		t.Fatalf("token = %d, %v; want an access token", resp.StatusCode, err)
	}
	return body.AccessToken
}
