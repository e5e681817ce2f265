package bearer

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"github.com/oktasso/oktasso/audit"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
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

// junkInactive answers the introspection of a token starting "junk-" as
// the provider does (inactive) without a round trip, and passes every
// other request on.
type junkInactive struct{ next http.RoundTripper }

func (j junkInactive) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/v1/introspect") {
		return j.next.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(form.Get("token"), "junk-") {
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		return j.next.RoundTrip(r)
	}
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"active":false}`)), Request: r,
	}, nil
}

// TestIntrospectionJunkFlood: a flood of distinct junk tokens, each
// refused by the provider, does not evict a real user's cached answer: the
// real token is still answered without a call afterwards, even when the
// flood is ten times the size of the cache.
func TestIntrospectionJunkFlood(t *testing.T) {
	f := newAPIFixture(t)
	org := f.fake.Issuer()
	g := f.guard(func(c *Config) {
		c.Issuer, c.Audiences, c.ClientIDs = org, []string{org}, []string{spaClientID}
		c.Introspection = &Introspection{ClientID: spaClientID}
		c.CacheSize = 1_000
		// The fake's answer to junk, without the round trip.
		c.HTTPClient = &http.Client{Transport: countingTransport{n: &f.introspections, next: junkInactive{f.fake.Client().Transport}, suffix: "/v1/introspect"}}
	})
	tok := userToken(t, f.fake, org, spaClientID, nil)
	if rec := callAPI(g, nil, "Bearer "+tok); rec.Code != 200 {
		t.Fatalf("real token = %d %s; want 200", rec.Code, rec.Body)
	}
	const junk = 10_000
	for i := range junk {
		if rec := callAPI(g, nil, "Bearer junk-"+strconv.Itoa(i)+"-"+randomString(12)); rec.Code != 401 {
			t.Fatalf("junk token %d = %d %s; want 401", i, rec.Code, rec.Body)
		}
	}
	calls := f.introspections.Load()
	if calls != 1+junk {
		t.Errorf("%d introspection requests; want %d (one per distinct token)", calls, 1+junk)
	}
	if rec := callAPI(g, nil, "Bearer "+tok); rec.Code != 200 {
		t.Errorf("real token after %d junk tokens = %d %s; want 200", junk, rec.Code, rec.Body)
	}
	if n := f.introspections.Load(); n != calls {
		t.Errorf("real token after %d junk tokens made %d introspection requests; want 0 (a cache hit)", junk, n-calls)
	}
	if n := g.cache.len(); n != 1 {
		t.Errorf("the cache of verified tokens holds %d entries; want 1 (refusals kept apart)", n)
	}
	if n := g.intro.refused.len(); n == 0 || n > refusalCacheSize {
		t.Errorf("the refusal cache holds %d entries; want 1..%d", n, refusalCacheSize)
	}
}

// gatedTransport holds every introspection request until gate is closed,
// counting those in flight on the provider's side and reporting each
// arrival on arrived.
type gatedTransport struct {
	next          http.RoundTripper
	gate          chan struct{}
	arrived       chan<- struct{}
	inFlight, max atomic.Int64
}

func (g *gatedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/v1/introspect") {
		return g.next.RoundTrip(r)
	}
	n := g.inFlight.Add(1)
	for m := g.max.Load(); n > m && !g.max.CompareAndSwap(m, n); m = g.max.Load() {
	}
	g.arrived <- struct{}{}
	<-g.gate
	defer g.inFlight.Add(-1)
	return g.next.RoundTrip(r)
}

// gatedGuard returns a Guard for the fake's org authorization server,
// introspecting with at most maxConcurrent calls (0: the default) through
// a gatedTransport reporting on events.
func (f *apiFixture) gatedGuard(maxConcurrent int, events chan<- struct{}) (*Guard, *gatedTransport) {
	f.t.Helper()
	gt := &gatedTransport{next: f.fake.Client().Transport, gate: make(chan struct{}), arrived: events}
	g := f.guard(func(c *Config) {
		org := f.fake.Issuer()
		c.Issuer, c.Audiences, c.ClientIDs = org, []string{org}, []string{spaClientID}
		c.Introspection = &Introspection{ClientID: spaClientID, MaxConcurrent: maxConcurrent}
		c.HTTPClient = &http.Client{Transport: countingTransport{n: &f.introspections, next: gt, suffix: "/v1/introspect"}}
	})
	if _, err := g.provider.Endpoint(context.Background(), "introspection_endpoint"); err != nil {
		f.t.Fatal(err)
	}
	return g, gt
}

// TestIntrospectionBoundedCalls: 200 concurrent distinct junk tokens
// against a slow provider make at most MaxConcurrent introspection calls
// at once; the rest are answered 503 with Retry-After instead of
// queueing, and the slots are free again afterwards.
func TestIntrospectionBoundedCalls(t *testing.T) {
	tests := []struct {
		name          string
		maxConcurrent int
		want          int
	}{
		{"default", 0, defaultMaxConcurrent},
		{"MaxConcurrent 4", 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPIFixture(t)
			const n = 200
			events := make(chan struct{}, 2*n) // an arrival at the provider, or an answer
			g, gt := f.gatedGuard(tt.maxConcurrent, events)
			recs := make(chan *httptest.ResponseRecorder, n)
			for range n {
				go func() {
					recs <- callAPI(g, nil, "Bearer junk-"+randomString(16))
					events <- struct{}{}
				}()
			}
			// Until the provider answers, every request either reached it
			// or was answered: one event each. (Those waiting for a slot
			// are answered when their wait ends, since no slot frees up.)
			for range n {
				<-events
			}
			if got := gt.max.Load(); got != int64(tt.want) {
				t.Errorf("%d introspection calls in flight at most; want %d", got, tt.want)
			}
			close(gt.gate)
			var unavailable, refused int
			for range n {
				rec := <-recs
				switch {
				case rec.Code == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") != "" && strings.Contains(rec.Body.String(), "temporarily_unavailable"):
					unavailable++
				case rec.Code == http.StatusUnauthorized && strings.Contains(rec.Body.String(), "not active"):
					refused++
				default:
					t.Errorf("junk token = %d %q %s; want 401 not active, or 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
				}
			}
			if refused != tt.want || unavailable != n-tt.want {
				t.Errorf("%d junk tokens: %d refused by the provider, %d answered 503; want %d and %d", n, refused, unavailable, tt.want, n-tt.want)
			}
			if got := f.introspections.Load(); got != int64(tt.want) {
				t.Errorf("%d introspection requests; want %d", got, tt.want)
			}
			if len(g.intro.slots) != 0 || len(g.intro.waiters) != 0 || len(g.intro.calls) != 0 {
				t.Errorf("after the flood: %d slots taken, %d waiting, %d calls registered; want none", len(g.intro.slots), len(g.intro.waiters), len(g.intro.calls))
			}
			// The slots are free: a real token is introspected.
			tok := userToken(t, f.fake, f.fake.Issuer(), spaClientID, nil)
			if rec := callAPI(g, nil, "Bearer "+tok); rec.Code != 200 {
				t.Errorf("real token after the flood = %d %s; want 200", rec.Code, rec.Body)
			}
		})
	}
}

// TestIntrospectionSlotWait: with every slot taken, as many requests as
// there are slots wait for one and get it when a call ends; one more is
// answered 503 at once.
func TestIntrospectionSlotWait(t *testing.T) {
	f := newAPIFixture(t)
	events := make(chan struct{}, 8)
	g, gt := f.gatedGuard(1, events)
	g.intro.wait = time.Hour // a slot frees up long before
	verify := func(tok string) <-chan error {
		done := make(chan error, 1)
		go func() { _, err := g.Verify(context.Background(), tok); done <- err }()
		return done
	}
	first := verify("junk-first")
	<-events // at the provider, holding the only slot
	second := verify("junk-second")
	for len(g.intro.waiters) == 0 {
		runtime.Gosched()
	}
	if _, err := g.Verify(context.Background(), "junk-third"); !errors.Is(err, errBusy) || !errors.Is(err, oktasso.ErrProviderUnavailable) {
		t.Errorf("Verify with the slot taken and a request waiting = %v; want errBusy, an ErrProviderUnavailable", err)
	}
	close(gt.gate)
	for name, done := range map[string]<-chan error{"first": first, "second": second} {
		if err := <-done; !errors.Is(err, oktasso.ErrInvalidToken) {
			t.Errorf("Verify(%s) = %v; want the provider's refusal", name, err)
		}
	}
	if got := f.introspections.Load(); got != 2 || gt.max.Load() != 1 {
		t.Errorf("%d introspection requests, %d at most in flight; want 2, 1", got, gt.max.Load())
	}
}
