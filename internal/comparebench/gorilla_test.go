package comparebench

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/sessions"
)

// The keys of the root package's benchmarks (session_test.go's key1 and
// key2), so both sides protect the session with 32-byte keys.
const (
	key1 = "0123456789abcdef0123456789abcdef"
	key2 = "fedcba9876543210fedcba9876543210"
)

// benchIDToken has the size of an Okta ID token with profile, email and a
// few groups (≈1 kB), as the root package's benchIDToken.
var benchIDToken = "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0." + randomString(520) + "." + randomString(256)

// randomString is n random bytes in base64url, as the root package's
// randomString.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
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

// BenchmarkGorillaSessions does the job of the root package's
// BenchmarkSessionCheck the way Okta's Go samples do: gorilla/sessions with
// gob, reading the session and checking the profile. "signed" is the
// samples' setup (authentication only, no encryption); "encrypted" adds a
// block key, matching oktasso's protection.
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
