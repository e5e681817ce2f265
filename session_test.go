package oktasso

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var (
	key1 = Secret("0123456789abcdef0123456789abcdef")
	key2 = Secret("fedcba9876543210fedcba9876543210")
)

func testSession(now time.Time) *session {
	u := &User{Issuer: "https://dev-1.okta.com", Subject: "00u1abcd", Email: "alice@example.com", EmailVerified: true,
		Name: "Alice Example", Username: "alice@example.com", Groups: []string{"Everyone", "Engineering"}, Internal: true,
		AuthTime: now.Add(-time.Minute)}
	return sessionFor(u, "eyJhbGciOi.fake.token", now, 24*time.Hour)
}

func TestSessionRoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	got := roundTrip(t, c, c, testSession(now), now, now.Add(time.Hour), 8*time.Hour)
	if got == nil {
		t.Fatal("readSession = nil; want the session")
	}
	u := got.user()
	if u.Subject != "00u1abcd" || u.Email != "alice@example.com" || !u.Internal || len(u.Groups) != 2 || !u.AuthTime.Equal(now.Add(-time.Minute)) {
		t.Errorf("user = %+v; want alice's claims", u)
	}
}

func TestSessionExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	tests := []struct {
		name string
		at   time.Time
		idle time.Duration
		ok   bool
	}{
		{"fresh", now, time.Hour, true},
		{"just inside idle", now.Add(59 * time.Minute), time.Hour, true},
		{"idle expired", now.Add(61 * time.Minute), time.Hour, false},
		{"absolute expired", now.Add(25 * time.Hour), 48 * time.Hour, false},
		{"from the future", now.Add(-time.Hour), time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundTrip(t, c, c, testSession(now), now, tt.at, tt.idle)
			if (got != nil) != tt.ok {
				t.Errorf("readSession at %v = %v; want ok=%v", tt.at.Sub(now), got != nil, tt.ok)
			}
		})
	}
}

func TestSessionBadCookies(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	rec := httptest.NewRecorder()
	if err := c.writeSessionAt(rec, testSession(now), now); err != nil {
		t.Fatal(err)
	}
	good := rec.Result().Cookies()[0].Value
	flip := []byte(good)
	flip[len(flip)/2] ^= 1
	flowValue, _ := c.flow.seal("oktasso-flow-x", &flow{State: "s"}, now.Add(flowTTL))
	flowAsSession, _ := c.flow.seal("oktasso", &flow{State: "s"}, now.Add(flowTTL))
	logoutAsSession, _ := c.logout.seal("oktasso", &logoutState{State: "s"}, now.Add(flowTTL))
	tests := []struct{ name, value string }{
		{"empty", ""},
		{"garbage", "not-a-cookie"},
		{"truncated", good[:len(good)/2]},
		{"one bit flipped", string(flip)},
		{"oversized", strings.Repeat("A", 5000)},
		{"flow cookie presented as session", flowValue},
		{"flow value sealed under the session's name", flowAsSession},
		{"flow value with the session version byte", reencode(t, flowAsSession, 0, func(byte) byte { return sessionWireFormat })},
		{"sign-out value with the session version byte", reencode(t, logoutAsSession, 0, func(byte) byte { return sessionWireFormat })},
		{"pipes", "a|b|c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(&http.Cookie{Name: "oktasso", Value: tt.value})
			if s := c.readSession(req, now, time.Hour); s != nil {
				t.Errorf("readSession(%q) = %+v; want nil", tt.value, s)
			}
		})
	}
}

// FuzzSessionCookie feeds arbitrary cookie values to the decoder: it must
// never panic and never accept a value it did not seal.
func FuzzSessionCookie(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(f, false, key1)
	rec := httptest.NewRecorder()
	if err := c.writeSessionAt(rec, testSession(now), now); err != nil {
		f.Fatal(err)
	}
	good := rec.Result().Cookies()[0].Value
	legacy := legacySeal(c, "oktasso", testSession(now))
	hot, cold, _ := strings.Cut(legacy, ".")
	f.Add(good)
	f.Add(legacy)
	f.Add(good[:100])
	f.Add(hot)
	f.Add(hot + "." + cold[:len(cold)/2])
	f.Add(good + "." + cold)
	f.Add(legacy + "." + cold)
	f.Add(relabelled(c, "oktasso", testSession(now), 3))
	f.Add("")
	f.Add("MTgwMDAwMDAwMHx8")
	f.Fuzz(func(t *testing.T, v string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", "oktasso="+v)
		s := c.readSession(req, now, time.Hour)
		if s != nil && (s.Subject != "00u1abcd" || (s.IDToken != "" && s.IDToken != "eyJhbGciOi.fake.token")) {
			t.Fatalf("readSession accepted a value it did not seal: %q", v)
		}
		// The session check's open (the ID token left sealed) accepts
		// exactly what the full open accepts, and its ID token opens to
		// the same.
		hot, _, err := c.openSessionHot("oktasso", v)
		full, _, errFull := c.openSession("oktasso", v)
		if (err == nil) != (errFull == nil) {
			t.Fatalf("openSessionHot err = %v, openSession err = %v; want both to accept or refuse %q", err, errFull, v)
		}
		if err == nil && c.idToken(hot) != full.IDToken {
			t.Fatalf("ID token left sealed opens to %q; the full open gives %q", c.idToken(hot), full.IDToken)
		}
	})
}
