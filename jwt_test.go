package oktasso

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/oktasso/oktasso/audit"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const jwtTestIssuer = "https://dev-1.okta.com/oauth2/default"

// signJWT signs claims with key and alg, with the given kid and typ
// headers ("" leaves one out).
func signJWT(t testing.TB, key any, alg jose.SignatureAlgorithm, kid, typ string, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jwtProvider returns a Provider for jwtTestIssuer that is discovered
// already, with the JWKS of srv, on clock.
func jwtProvider(t testing.TB, srv *jwksServer, clock *fakeClock) *Provider {
	t.Helper()
	p, err := NewProvider(jwtTestIssuer, srv.Client(), clock.Now, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	p.ready.Store(&discovered{keys: newKeySet(srv.URL, defaultAlgs, srv.Client(), clock.Now, quietLogger())})
	return p
}

// TestVerifyJWTHeaderRules: the alg list, the typ of each kind and the
// key's type are enforced for every kind of token, each refusal a
// *TokenError matching ErrInvalidToken.
func TestVerifyJWTHeaderRules(t *testing.T) {
	keys := testRSAKeys(t)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecJWK := jose.JSONWebKey{Key: &ecKey.PublicKey, KeyID: "ec", Use: "sig"}
	srv := newJWKSServer(t, pubJWK(keys[0], "k0"))
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	p := jwtProvider(t, srv, clock)
	now := clock.Now().Unix()
	claims := func(kind tokenKind) map[string]any {
		c := map[string]any{"iss": jwtTestIssuer, "aud": testClientID, "iat": now, "exp": now + 3600, "sub": "00u1"}
		if kind == logoutToken {
			delete(c, "exp")
			c["events"] = map[string]any{backchannelEvent: map[string]any{}}
		}
		return c
	}
	verify := func(kind tokenKind, raw string) error {
		var err error
		switch kind {
		case idToken:
			var c idTokenClaims
			_, _, err = p.verifyJWT(context.Background(), raw, expect{kind: idToken, audience: testClientID, now: clock.Now()}, &c)
		case logoutToken:
			var c logoutClaims
			_, _, err = p.verifyJWT(context.Background(), raw, expect{kind: logoutToken, audience: testClientID, now: clock.Now()}, &c)
		case accessToken:
			_, err = p.VerifyAccessToken(context.Background(), raw)
		}
		return err
	}
	tests := []struct {
		name       string
		kind       tokenKind
		key        any
		alg        jose.SignatureAlgorithm
		kid, typ   string
		wantReason audit.Reason // "" for accepted
	}{
		{"ID token, typ JWT", idToken, keys[0], jose.RS256, "k0", "JWT", ""},
		{"ID token, no typ", idToken, keys[0], jose.RS256, "k0", "", ""},
		{"ID token, typ logout+jwt", idToken, keys[0], jose.RS256, "k0", "logout+jwt", audit.ReasonTokenInvalid},
		{"ID token, typ at+jwt", idToken, keys[0], jose.RS256, "k0", "at+jwt", audit.ReasonTokenInvalid},
		{"logout token, typ logout+jwt", logoutToken, keys[0], jose.RS256, "k0", "logout+jwt", ""},
		{"logout token, typ application/logout+jwt", logoutToken, keys[0], jose.RS256, "k0", "application/logout+jwt", ""},
		{"logout token, no typ", logoutToken, keys[0], jose.RS256, "k0", "", ""},
		{"logout token, typ at+jwt", logoutToken, keys[0], jose.RS256, "k0", "at+jwt", audit.ReasonTokenInvalid},
		{"access token, typ at+jwt", accessToken, keys[0], jose.RS256, "k0", "at+jwt", ""},
		{"access token, typ JWT", accessToken, keys[0], jose.RS256, "k0", "JWT", ""},
		{"access token, typ logout+jwt", accessToken, keys[0], jose.RS256, "k0", "logout+jwt", audit.ReasonTokenInvalid},
		{"access token, typ global-token-revocation+jwt", accessToken, keys[0], jose.RS256, "k0", "global-token-revocation+jwt", audit.ReasonTokenInvalid},
		{"HS256 keyed with a secret", idToken, []byte("0123456789abcdef0123456789abcdef"), jose.HS256, "k0", "JWT", audit.ReasonTokenInvalid},
		{"PS256, not in the list", accessToken, keys[0], jose.PS256, "k0", "", audit.ReasonTokenInvalid},
		{"unknown kid", accessToken, keys[1], jose.RS256, "k9", "", audit.ReasonSignatureInvalid},
		{"another key with our kid", logoutToken, keys[1], jose.RS256, "k0", "logout+jwt", audit.ReasonSignatureInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verify(tt.kind, signJWT(t, tt.key, tt.alg, tt.kid, tt.typ, claims(tt.kind)))
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("verify = %v; want ok", err)
				}
				return
			}
			te, ok := errors.AsType[*TokenError](err)
			if !ok || te.Reason != tt.wantReason || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("verify = %v; want a *TokenError with reason %s matching ErrInvalidToken", err, tt.wantReason)
			}
		})
	}
	// A typ that is not a string is not taken for an absent one.
	numTyp := jwtUnsigned(map[string]any{"alg": "RS256", "kid": "k0", "typ": 5}, claims(idToken)) + "c2ln"
	if err := verify(idToken, numTyp); err == nil || !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "typ") {
		t.Errorf("verify(typ 5) = %v; want refused for its typ", err)
	}
	// A key whose type does not fit the alg is never used, even under the
	// token's kid.
	ks := newKeySet(srv.URL, defaultAlgs, srv.Client(), clock.Now, quietLogger())
	ks.keys, ks.fetched = []jose.JSONWebKey{ecJWK}, clock.Now()
	if _, err := verifySig(context.Background(), ks, signJWT(t, keys[0], jose.RS256, "ec", "", map[string]any{})); err == nil {
		t.Error("an RS256 token verified with an EC key's kid; want refused")
	}
}

func TestKeyFits(t *testing.T) {
	keys := testRSAKeys(t)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		key  jose.JSONWebKey
		alg  string
		want bool
	}{
		{jose.JSONWebKey{Key: &keys[0].PublicKey}, "RS256", true},
		{jose.JSONWebKey{Key: &keys[0].PublicKey}, "PS384", true},
		{jose.JSONWebKey{Key: &keys[0].PublicKey, Algorithm: "RS512"}, "RS256", false},
		{jose.JSONWebKey{Key: &keys[0].PublicKey}, "ES256", false},
		{jose.JSONWebKey{Key: &p256.PublicKey}, "ES256", true},
		{jose.JSONWebKey{Key: &p384.PublicKey}, "ES256", false},
		{jose.JSONWebKey{Key: &p384.PublicKey}, "ES384", true},
		{jose.JSONWebKey{Key: edPub}, "EdDSA", true},
		{jose.JSONWebKey{Key: edPub}, "RS256", false},
		{jose.JSONWebKey{Key: []byte("secret")}, "HS256", false},
	}
	for _, tt := range tests {
		if got := keyFits(&tt.key, tt.alg); got != tt.want {
			t.Errorf("keyFits(%T, %s) = %v; want %v", tt.key.Key, tt.alg, got, tt.want)
		}
	}
}

// TestVerifyJWTIssuerBeforeKeys: a token of another issuer is refused
// without a key fetch.
func TestVerifyJWTIssuerBeforeKeys(t *testing.T) {
	keys := testRSAKeys(t)
	srv := newJWKSServer(t, pubJWK(keys[0], "k0"))
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	p := jwtProvider(t, srv, clock)
	raw := signJWT(t, keys[0], jose.RS256, "k9", "", map[string]any{"iss": "https://evil.okta.com/oauth2/default", "sub": "x"})
	_, err := p.VerifyAccessToken(context.Background(), raw)
	if te, ok := errors.AsType[*TokenError](err); !ok || te.Reason != audit.ReasonIssuerMismatch {
		t.Errorf("VerifyAccessToken(other issuer) = %v; want an issuer_mismatch TokenError", err)
	}
	if n := srv.fetches.Load(); n != 0 {
		t.Errorf("a token of another issuer caused %d key fetches; want 0", n)
	}
}

// TestIDTokenClaimRules covers the time rules verifyJWT applies to ID
// tokens: exp without leeway, nbf and iat at most clockSkew ahead.
func TestIDTokenClaimRules(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	base := func() *idTokenClaims {
		return &idTokenClaims{jwtClaims: jwtClaims{Issuer: jwtTestIssuer, Audience: stringList{testClientID},
			IssuedAt: float64(now.Unix()), Expiry: float64(now.Add(time.Hour).Unix())}}
	}
	tests := []struct {
		name string
		edit func(*idTokenClaims)
		want audit.Reason
	}{
		{"valid", func(*idTokenClaims) {}, ""},
		{"another audience", func(c *idTokenClaims) { c.Audience = stringList{"0oaother"} }, audit.ReasonAudienceMismatch},
		{"no exp", func(c *idTokenClaims) { c.Expiry = 0 }, audit.ReasonTokenTimeInvalid},
		{"expired a second ago", func(c *idTokenClaims) { c.Expiry = float64(now.Unix() - 1) }, audit.ReasonTokenExpired},
		{"nbf within the skew", func(c *idTokenClaims) { c.NotBefore = float64(now.Add(clockSkew).Unix()) }, ""},
		{"nbf beyond the skew", func(c *idTokenClaims) { c.NotBefore = float64(now.Add(clockSkew + time.Second).Unix()) }, audit.ReasonTokenTimeInvalid},
		{"no iat", func(c *idTokenClaims) { c.IssuedAt = 0 }, audit.ReasonTokenTimeInvalid},
		{"iat beyond the skew", func(c *idTokenClaims) { c.IssuedAt = float64(now.Add(clockSkew + time.Second).Unix()) }, audit.ReasonTokenTimeInvalid},
	}
	for _, tt := range tests {
		c := base()
		tt.edit(c)
		err := checkClaims(expect{kind: idToken, audience: testClientID, now: now}, c)
		var got audit.Reason
		if te, ok := errors.AsType[*TokenError](err); ok {
			got = te.Reason
		} else if err != nil {
			t.Fatalf("%s: checkClaims = %v; want a *TokenError", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: checkClaims reason = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestTokenHashMatches(t *testing.T) {
	// OpenID Connect Core 1.0, appendix A.3.
	const tok, hash = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "77QmUPtjPfzWtF2AnpK9RQ"
	if !tokenHashMatches(hash, tok, "RS256") {
		t.Errorf("tokenHashMatches(spec example, RS256) = false; want true")
	}
	if tokenHashMatches(hash, tok, "RS512") || tokenHashMatches(hash, tok+"x", "RS256") || tokenHashMatches(hash, tok, "none") {
		t.Errorf("tokenHashMatches accepted a wrong token or alg")
	}
}

func TestTokenError(t *testing.T) {
	cause := errors.New("bad signature")
	var err error = &TokenError{Reason: audit.ReasonSignatureInvalid, Err: cause}
	if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, cause) || err.Error() != "oktasso: invalid token: bad signature" {
		t.Errorf("TokenError = %q; want it to match ErrInvalidToken and its cause", err)
	}
	if got := (&TokenError{Reason: audit.ReasonTokenExpired}).Error(); got != "oktasso: invalid token: token_expired" {
		t.Errorf("TokenError without Err = %q", got)
	}
	if got := reasonOf(fmt.Errorf("callback: %w", err)); got != audit.ReasonSignatureInvalid {
		t.Errorf("reasonOf(wrapped TokenError) = %q; want signature_invalid", got)
	}
}

// TestVerifyJWTAdvertisedAlgs: every algorithm of signingAlgs verifies
// when the provider advertises it, with a key of the fitting type; an
// algorithm it does not advertise is refused before any key fetch.
func TestVerifyJWTAdvertisedAlgs(t *testing.T) {
	rsaKey := testRSAKeys(t)[0]
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	srv := newJWKSServer(t,
		jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "rsa", Use: "sig"},
		jose.JSONWebKey{Key: &p256.PublicKey, KeyID: "p256", Use: "sig"},
		jose.JSONWebKey{Key: &p384.PublicKey, KeyID: "p384", Use: "sig"},
		jose.JSONWebKey{Key: &p521.PublicKey, KeyID: "p521", Use: "sig"},
		jose.JSONWebKey{Key: edPub, KeyID: "ed", Use: "sig"},
	)
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	now := clock.Now().Unix()
	claims := map[string]any{"iss": jwtTestIssuer, "aud": testClientID, "iat": now, "exp": now + 3600, "sub": "00u1"}
	providerWith := func(advertised ...string) *Provider {
		algs, err := providerAlgs(advertised)
		if err != nil {
			t.Fatal(err)
		}
		p := jwtProvider(t, srv, clock)
		p.ready.Store(&discovered{keys: newKeySet(srv.URL, algs, srv.Client(), clock.Now, quietLogger())})
		return p
	}
	verify := func(p *Provider, raw string) error {
		var c idTokenClaims
		_, _, err := p.verifyJWT(context.Background(), raw, expect{kind: idToken, audience: testClientID, now: clock.Now()}, &c)
		return err
	}
	signers := map[jose.SignatureAlgorithm]struct {
		key any
		kid string
	}{
		jose.RS256: {rsaKey, "rsa"}, jose.RS384: {rsaKey, "rsa"}, jose.RS512: {rsaKey, "rsa"},
		jose.PS256: {rsaKey, "rsa"}, jose.PS384: {rsaKey, "rsa"}, jose.PS512: {rsaKey, "rsa"},
		jose.ES256: {p256, "p256"}, jose.ES384: {p384, "p384"}, jose.ES512: {p521, "p521"},
		jose.EdDSA: {edKey, "ed"},
	}
	all := make([]string, len(signingAlgs))
	for i, a := range signingAlgs {
		all[i] = string(a)
	}
	everything := providerWith(all...)
	for _, alg := range signingAlgs {
		s := signers[alg]
		if err := verify(everything, signJWT(t, s.key, alg, s.kid, "JWT", claims)); err != nil {
			t.Errorf("%s advertised: verify = %v; want ok", alg, err)
		}
	}

	es256Only := providerWith("ES256")
	fetches := srv.fetches.Load()
	tests := []struct {
		name string
		raw  string
		want audit.Reason // "" for accepted
	}{
		{"ES256, advertised", signJWT(t, p256, jose.ES256, "p256", "JWT", claims), ""},
		{"RS256, not advertised", signJWT(t, rsaKey, jose.RS256, "rsa", "JWT", claims), audit.ReasonTokenInvalid},
		{"ES384, not advertised", signJWT(t, p384, jose.ES384, "p384", "JWT", claims), audit.ReasonTokenInvalid},
		{"HS256", signJWT(t, []byte("0123456789abcdef0123456789abcdef"), jose.HS256, "p256", "JWT", claims), audit.ReasonTokenInvalid},
		{"alg none", jwtUnsigned(map[string]any{"alg": "none", "kid": "p256"}, claims), audit.ReasonTokenInvalid},
		{"ES256 header, P-384 key's kid", signJWT(t, p256, jose.ES256, "p384", "JWT", claims), audit.ReasonSignatureInvalid},
	}
	for _, tt := range tests {
		err := verify(es256Only, tt.raw)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: verify = %v; want ok", tt.name, err)
			}
			continue
		}
		if te, ok := errors.AsType[*TokenError](err); !ok || te.Reason != tt.want {
			t.Errorf("%s: verify = %v; want a *TokenError with reason %s", tt.name, err, tt.want)
		}
	}
	// One fetch for the provider's first token; refused algs cost none.
	if n := srv.fetches.Load() - fetches; n != 1 {
		t.Errorf("JWKS fetches for the ES256-only provider = %d; want 1", n)
	}
}

func TestProviderAlgs(t *testing.T) {
	tests := []struct {
		advertised []string
		want       string // algList of the result, or a part of the error
		wantErr    bool
	}{
		{nil, "RS256", false},
		{[]string{"RS256"}, "RS256", false},
		{[]string{"ES256", "RS256", "HS256", "none"}, "RS256, ES256", false},
		{[]string{"EdDSA", "PS384", "foo"}, "PS384, EdDSA", false},
		{[]string{"HS256", "none"}, "lists HS256, none, none of which oktasso accepts", true},
		{[]string{"RS1"}, "lists RS1", true},
	}
	for _, tt := range tests {
		algs, err := providerAlgs(tt.advertised)
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("providerAlgs(%q) = %v, %v; want an error containing %q", tt.advertised, algs, err, tt.want)
			}
			continue
		}
		if err != nil || algList(algs) != tt.want {
			t.Errorf("providerAlgs(%q) = %q, %v; want %q", tt.advertised, algList(algs), err, tt.want)
		}
	}
}
