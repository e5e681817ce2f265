package oktasso

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// benchAuth returns an Auth against a fake Okta and a request carrying a
// valid session cookie for a typical user (≈600 bytes of claims plus the
// raw ID token, as after a real sign-in). cacheSize is
// Config.Session.CacheSize (-1: no cache, so every request decrypts).
func benchAuth(b *testing.B, cacheSize int) (*Auth, *http.Request, *session) {
	b.Helper()
	fake := oktatest.NewServer()
	b.Cleanup(fake.Close)
	a, err := New(context.Background(), Config{
		Issuer:     fake.Issuer(),
		BaseURL:    "https://app.example.com",
		HTTPClient: fake.Client(),
		Logger:     quietLogger(),
		Client:     ClientConfig{ID: testClientID, Secret: "s"},
		Session:    SessionConfig{Keys: []Secret{key1}, CacheSize: cacheSize},
		Access:     AccessConfig{Workspace: RequireGroups("Engineering")},
	})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	s := testSession(now)
	s.Issuer = fake.Issuer()
	s.IDToken = benchIDToken
	rec := httptest.NewRecorder()
	if err := a.cookies.writeSession(rec, s, now); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "https://app.example.com/workspace", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	return a, req, s
}

// cacheModes are the two ways a request meets the session check: its
// cookie value seen before (hit) or not (miss: the cache is off, so every
// iteration decrypts and decodes).
var cacheModes = []struct {
	name string
	size int
}{{"miss", -1}, {"hit", defaultSessionCacheSize}}

// benchIDToken has the size of an Okta ID token with profile, email and a
// few groups (≈1 kB).
var benchIDToken = "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0." + randomString(520) + "." + randomString(256)

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkGuard is the per-request cost of oktasso on an authenticated
// request through auth.Workspace: cookie lookup, decryption and decoding
// (miss) or the cache (hit), lifetimes, revocation (in-memory store),
// policy, user in the request context.
func BenchmarkGuard(b *testing.B) {
	for _, mode := range cacheModes {
		b.Run(mode.name, func(b *testing.B) {
			a, req, _ := benchAuth(b, mode.size)
			var got *User
			h := a.Workspace(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = UserFrom(r.Context()) }))
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.ServeHTTP(w, req)
			}
			b.StopTimer()
			if got == nil || got.Subject != "00u1abcd" {
				b.Fatalf("guard did not admit the user: %+v", got)
			}
		})
	}
}

// BenchmarkSessionCheck is the session check alone (what the guard adds to
// a request before the policy): the session and user of a request, with
// lifetimes, revocation and the idle-clock decision.
func BenchmarkSessionCheck(b *testing.B) {
	for _, mode := range cacheModes {
		b.Run(mode.name, func(b *testing.B) {
			a, req, _ := benchAuth(b, mode.size)
			w := &discardWriter{h: http.Header{}}
			var u *User
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, u, _ = a.currentSession(w, req)
			}
			b.StopTimer()
			if u == nil || u.Subject != "00u1abcd" {
				b.Fatalf("session check refused the session: %+v", u)
			}
		})
	}
}

// BenchmarkFloor is the least any encrypted cookie session can cost per
// request, on the very bytes of the benchmarks' session cookie: "aesgcm"
// opens all its sealed bytes with AES-256-GCM (both parts: the session's
// fields and its ID token; the floor), "base64+aesgcm" adds the
// base64url decode a cookie value needs first. "first-part" is the
// cryptography the session check does: base64 and AES-GCM over the first
// part, whose AAD covers the second part's text (see sessioncodec.go).
// "new-session" is no cryptography at all: allocating the session and
// User a check hands to the request (a miss must; the cache keeps them),
// the cost of memory on this machine that every miss pays on top.
func BenchmarkFloor(b *testing.B) {
	a, req, s := benchAuth(b, -1)
	value := cookieValue(req.Header, a.cookies.sessionName())
	hot, cold, ok := strings.Cut(value, ".")
	rawHot, err1 := base64.RawURLEncoding.DecodeString(hot)
	rawCold, err2 := base64.RawURLEncoding.DecodeString(cold)
	if !ok || err1 != nil || err2 != nil || rawHot[0] != sessionWireFormat {
		b.Fatalf("session cookie is not a two-part v4 value: %v %v", err1, err2)
	}
	aead := a.cookies.session.aeads[0]
	hotAAD := append(sessionAAD(a.cookies.sessionName()), cold...)
	coldAAD := idTokenAAD(s.ID)
	buf := make([]byte, max(len(rawHot), len(rawCold)))
	plain := make([]byte, 0, len(buf))
	openHot := func(raw []byte) {
		if _, err := aead.Open(plain[:0], raw[1:1+gcmNonceSize], raw[1+gcmNonceSize:], hotAAD); err != nil {
			b.Fatal(err)
		}
	}
	openCold := func(raw []byte) {
		if _, err := aead.Open(plain[:0], raw[:gcmNonceSize], raw[gcmNonceSize:], coldAAD); err != nil {
			b.Fatal(err)
		}
	}
	decode := func(part string) []byte {
		n, err := strictBase64.Decode(buf, []byte(part))
		if err != nil {
			b.Fatal(err)
		}
		return buf[:n]
	}
	b.Run("aesgcm", func(b *testing.B) {
		b.SetBytes(int64(len(rawHot) + len(rawCold)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			openHot(rawHot)
			openCold(rawCold)
		}
	})
	b.Run("base64+aesgcm", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			openHot(decode(hot))
			openCold(decode(cold))
		}
	})
	b.Run("first-part", func(b *testing.B) {
		b.SetBytes(int64(len(value)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			openHot(decode(hot))
		}
	})
	b.Run("new-session", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			sinkSession, sinkUser = new(session), new(User)
		}
	})
}

// Sinks keep the compiler from dropping what a benchmark builds.
var (
	sinkSession *session
	sinkUser    *User
)

// BenchmarkVerifyIDToken measures oktasso's ID-token verification
// (verifyJWT: alg, typ, iss, aud, exp, nbf, iat and the signature; then sub,
// azp, nonce, at_hash and the claims oktasso reads) on an ID token signed by
// the fake Okta. The map of every claim (User.Claims) is decoded only when
// Config.Hooks.OnLogin is set: "oktasso+all-claims". Its comparison,
// "go-oidc" (oidc.IDTokenVerifier.Verify and the claims into a struct, on an
// equivalent token), is BenchmarkVerifyIDToken in internal/comparebench, so
// that go-oidc stays out of this module; make bench runs both.
func BenchmarkVerifyIDToken(b *testing.B) {
	h := newHarness(b, nil)
	_, _, s := h.signedIn(b)
	raw := s.IDToken
	var claims struct {
		Nonce string `json:"nonce"`
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	json.Unmarshal(payload, &claims)
	ctx := context.Background()
	p := h.auth.provider
	if _, err := p.discover(ctx); err != nil {
		b.Fatal(err)
	}
	for _, all := range []bool{false, true} {
		name := "oktasso"
		if all {
			name = "oktasso+all-claims" // with Config.Hooks.OnLogin: User.Claims too
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, _, err := p.verifyIDToken(ctx, raw, verifyRequest{clientID: testClientID, nonce: claims.Nonce, allClaims: all}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoginRoundTrip is a whole sign-in through oktasso and the fake
// Okta over loopback HTTP: GET /auth/login, the authorize endpoint (auto
// sign-in), the callback (code exchange, ID-token verification, userinfo,
// the session), then the first guarded request with the new cookie.
func BenchmarkLoginRoundTrip(b *testing.B) {
	h := newHarness(b, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		br := h.browser()
		h.login(br, alice, "/workspace")
		if r := br.get(h.app.URL + "/workspace"); r.status != http.StatusOK {
			b.Fatalf("GET /workspace after sign-in = %d", r.status)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkOpenSession decodes the benchmarks' session cookie (format 4:
// base64, AES-GCM, tag-length-value, the ID token sealed apart) as the
// session check does ("v4": the ID token left sealed) and as sign-out does
// ("v4+idtoken").
func BenchmarkOpenSession(b *testing.B) {
	a, _, s := benchAuth(b, -1)
	name := a.cookies.sessionName()
	v4 := a.cookies.sealSession(name, s)
	for _, tt := range []struct {
		format, value string
		open          func(name, value string) (*session, bool, error)
	}{
		{"v4", v4, a.cookies.openSessionHot},
		{"v4+idtoken", v4, a.cookies.openSession},
	} {
		b.Run(tt.format, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, _, err := tt.open(name, tt.value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
