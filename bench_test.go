package oktasso

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/gob"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/oktasso/oktasso/oktatest"
)

// benchAuth returns an Auth against a fake Okta and a request carrying a
// valid session cookie for a typical user (≈600 bytes of claims plus the
// raw ID token, as after a real sign-in).
func benchAuth(b *testing.B) (*Auth, *http.Request, *session) {
	b.Helper()
	fake := oktatest.NewServer()
	b.Cleanup(fake.Close)
	a, err := New(context.Background(), Config{
		Issuer: fake.Issuer(), ClientID: testClientID, ClientSecret: "s", BaseURL: "https://app.example.com",
		SessionKeys: []Secret{key1}, WorkspaceGroups: []string{"Engineering"}, HTTPClient: fake.Client(), Logger: quietLogger(),
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

// benchIDToken has the size of an Okta ID token with profile, email and a
// few groups (≈1 kB).
var benchIDToken = "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0." + randomString(520) + "." + randomString(256)

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkGuardAuthenticated is the per-request cost of oktasso on an
// authenticated request: cookie decode (HMAC, AES, JSON), expiry checks,
// policy, user in the context.
func BenchmarkGuardAuthenticated(b *testing.B) {
	a, req, _ := benchAuth(b)
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
}

// gorillaSample is the session Okta's Go samples keep: gorilla/sessions'
// CookieStore with gob, holding the tokens and the profile.
func gorillaSample(b *testing.B, encrypt bool) (sessions.Store, *http.Request) {
	b.Helper()
	gob.Register(map[string]any{})
	gob.Register([]any{})
	keys := [][]byte{[]byte(key1)}
	if encrypt {
		keys = append(keys, []byte(key2))
	}
	store := sessions.NewCookieStore(keys...)
	req := httptest.NewRequest("GET", "https://app.example.com/workspace", nil)
	rec := httptest.NewRecorder()
	s, _ := store.Get(req, "okta-hosted-login-session-store")
	s.Values["id_token"] = benchIDToken
	s.Values["profile"] = map[string]any{
		"sub": "00u1abcd", "email": "alice@example.com", "email_verified": true, "name": "Alice Example",
		"preferred_username": "alice@example.com", "groups": []any{"Everyone", "Engineering"},
	}
	if err := s.Save(req, rec); err != nil {
		b.Fatal(err)
	}
	req = httptest.NewRequest("GET", "https://app.example.com/workspace", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	return store, req
}

// BenchmarkGorillaSessions does the same job the way Okta's Go samples do:
// gorilla/sessions with gob, reading the session and checking the profile.
// "signed" is the samples' setup (authentication only, no encryption);
// "encrypted" adds a block key, matching oktasso's protection.
func BenchmarkGorillaSessions(b *testing.B) {
	for _, enc := range []struct {
		name    string
		encrypt bool
	}{{"signed", false}, {"encrypted", true}} {
		b.Run(enc.name, func(b *testing.B) {
			store, req := gorillaSample(b, enc.encrypt)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// gorilla/sessions caches per request in a registry; a new
				// request each time is what a server sees.
				r := req.Clone(req.Context())
				s, err := store.Get(r, "okta-hosted-login-session-store")
				if err != nil || s.IsNew {
					b.Fatalf("session not found: %v", err)
				}
				p, ok := s.Values["profile"].(map[string]any)
				if !ok || p["sub"] != "00u1abcd" {
					b.Fatal("profile missing")
				}
			}
		})
	}
}

// BenchmarkFloorAESGCM is one AES-256-GCM open of a cookie-sized value: the
// least any authenticated, encrypted cookie session can cost per request.
func BenchmarkFloorAESGCM(b *testing.B) {
	_, req, _ := benchAuth(b)
	ck, _ := req.Cookie("__Host-oktasso")
	block, _ := aes.NewCipher([]byte(key1))
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	plain := make([]byte, len(ck.Value)*3/4)
	sealed := aead.Seal(nil, nonce, plain, nil)
	buf := make([]byte, 0, len(plain))
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := aead.Open(buf[:0], nonce, sealed, nil); err != nil {
			b.Fatal(err)
		}
	}
}
