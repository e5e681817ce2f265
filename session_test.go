package oktasso

import (
	"errors"
	"fmt"
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

func testCookies(t testing.TB, secure bool, keys ...Secret) *cookies {
	t.Helper()
	c, err := newCookies(secure, keys, "https://dev-1.okta.com 0oa1")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testSession(now time.Time) *session {
	u := &User{Issuer: "https://dev-1.okta.com", Subject: "00u1abcd", Email: "alice@example.com", EmailVerified: true,
		Name: "Alice Example", Username: "alice@example.com", Groups: []string{"Everyone", "Engineering"}, Internal: true,
		AuthTime: now.Add(-time.Minute)}
	return sessionFor(u, "eyJhbGciOi.fake.token", now, 24*time.Hour)
}

// writeSession seals s into the session cookie(s) on w, as the Auth does
// for cookie sessions.
func (c *cookies) writeSession(w http.ResponseWriter, s *session, now time.Time) error {
	return c.writeChunks(w, c.sealSession(c.sessionName(), s), time.Unix(s.Expires, 0).Sub(now), 1)
}

// openSessionValue opens a session cookie (or store) value into s.
func (c *cookies) openSessionValue(name, value string, s *session) error {
	got, _, err := c.openSession(name, value)
	if err == nil {
		*s = *got
	}
	return err
}

// readSession reads and checks the session cookie(s) of r, or nil.
func (c *cookies) readSession(r *http.Request, now time.Time, idle time.Duration) *session {
	v, n := c.readChunks(r)
	if n == 0 {
		return nil
	}
	s, _, err := c.openSession(c.sessionName(), v)
	if err != nil || !s.valid(now, idle) {
		return nil
	}
	return s
}

// roundTrip writes s with w and reads it back through a request carrying
// the cookies that were set.
func roundTrip(t testing.TB, write, read *cookies, s *session, now, at time.Time, idle time.Duration) *session {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := write.writeSession(rec, s, now); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	return read.readSession(req, at, idle)
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

func TestSessionKeyRotation(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	old := testCookies(t, false, key1)
	rotated := testCookies(t, false, key2, key1)
	other := testCookies(t, false, key2)
	if roundTrip(t, old, rotated, testSession(now), now, now, time.Hour) == nil {
		t.Error("a cookie sealed with the old key is refused after rotation; want accepted")
	}
	if roundTrip(t, rotated, old, testSession(now), now, now, time.Hour) != nil {
		t.Error("a cookie sealed with the new key is readable with only the old key; want refused")
	}
	if roundTrip(t, old, other, testSession(now), now, now, time.Hour) != nil {
		t.Error("a cookie sealed with a foreign key was accepted")
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	now := time.Now()
	for _, secure := range []bool{false, true} {
		c := testCookies(t, secure, key1)
		rec := httptest.NewRecorder()
		if err := c.writeSession(rec, testSession(now), now); err != nil {
			t.Fatal(err)
		}
		ck := rec.Result().Cookies()[0]
		wantName := "oktasso"
		if secure {
			wantName = "__Host-oktasso"
		}
		if ck.Name != wantName || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" || ck.Secure != secure {
			t.Errorf("secure=%v: cookie %q HttpOnly=%v SameSite=%v Path=%q Domain=%q Secure=%v; want %s HttpOnly Lax / no domain Secure=%v",
				secure, ck.Name, ck.HttpOnly, ck.SameSite, ck.Path, ck.Domain, ck.Secure, wantName, secure)
		}
		if ck.MaxAge < 23*3600 || ck.MaxAge > 24*3600 {
			t.Errorf("MaxAge = %d; want the session's remaining absolute lifetime (~86400)", ck.MaxAge)
		}
		if strings.Contains(ck.Value, "alice") {
			t.Error("cookie value shows plaintext claims")
		}
	}
}

func TestSessionBadCookies(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	rec := httptest.NewRecorder()
	if err := c.writeSession(rec, testSession(now), now); err != nil {
		t.Fatal(err)
	}
	good := rec.Result().Cookies()[0].Value
	flip := []byte(good)
	flip[len(flip)/2] ^= 1
	flowValue, _ := c.seal(c.flow, "oktasso-flow-x", &flow{State: "s"})
	tests := []struct{ name, value string }{
		{"empty", ""},
		{"garbage", "not-a-cookie"},
		{"truncated", good[:len(good)/2]},
		{"one bit flipped", string(flip)},
		{"oversized", strings.Repeat("A", 5000)},
		{"flow cookie presented as session", flowValue},
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

func TestSessionTooLarge(t *testing.T) {
	now := time.Now()
	c := testCookies(t, false, key1)
	s := testSession(now)
	for i := 0; i < 300; i++ {
		s.Groups = append(s.Groups, "a-rather-long-okta-group-name")
	}
	if err := c.writeSession(httptest.NewRecorder(), s, now); !errors.Is(err, errSessionTooLarge) {
		t.Errorf("writeSession of a ~9 kB session = %v; want errSessionTooLarge", err)
	}
}

// FuzzSessionCookie feeds arbitrary cookie values to the decoder: it must
// never panic and never accept a value it did not seal.
func FuzzSessionCookie(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(f, false, key1)
	rec := httptest.NewRecorder()
	if err := c.writeSession(rec, testSession(now), now); err != nil {
		f.Fatal(err)
	}
	good := rec.Result().Cookies()[0].Value
	hot, cold, _ := strings.Cut(good, ".")
	f.Add(good)
	f.Add(good[:100])
	f.Add(hot)
	f.Add(hot + "." + cold[:len(cold)/2])
	f.Add(good + "." + cold)
	f.Add(relabelled(c, "oktasso", testSession(now), 3))
	f.Add("")
	f.Add("MTgwMDAwMDAwMHx8")
	f.Fuzz(func(t *testing.T, v string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", "oktasso="+v)
		s := c.readSession(req, now, time.Hour)
		if s != nil && (s.Subject != "00u1abcd" || s.IDToken != "eyJhbGciOi.fake.token") {
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

func TestSessionBoundToIssuerAndClient(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	mk := func(context string) *cookies {
		c, err := newCookies(false, []Secret{key1}, context)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := mk("https://dev-1.okta.com 0oaA")
	for _, other := range []string{"https://dev-1.okta.com 0oaB", "https://dev-2.okta.com 0oaA"} {
		if roundTrip(t, a, mk(other), testSession(now), now, now, time.Hour) != nil {
			t.Errorf("a session of %q decoded for %q with the same keys", "https://dev-1.okta.com 0oaA", other)
		}
	}
}

// largeSession is a ~5 kB session: two cookie chunks.
func largeSession(now time.Time) *session {
	s := testSession(now)
	for i := 0; i < 120; i++ {
		s.Groups = append(s.Groups, fmt.Sprintf("group-%03d-with-a-longer-name", i))
	}
	return s
}

func TestChunkedCookies(t *testing.T) {
	c := testCookies(t, true, key1)
	now := time.Now()
	s := largeSession(now)
	rec := httptest.NewRecorder()
	if err := c.writeSession(rec, s, now); err != nil {
		t.Fatalf("writeSession of a ~5 kB session = %v; want two chunks", err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	var header int
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			continue
		}
		if len(ck.String()) > 4000 {
			t.Errorf("cookie %s is %d bytes; want under 4000", ck.Name, len(ck.String()))
		}
		req.AddCookie(ck)
		header += len(ck.Name) + len(ck.Value) + 2
	}
	if header > 8000 {
		t.Errorf("Cookie header = %d bytes; want under 8 KB", header)
	}
	got := c.readSession(req, now, time.Hour)
	if got == nil || len(got.Groups) != len(s.Groups) {
		t.Fatalf("reassembled session = %v; want %d groups", got, len(s.Groups))
	}
}

func TestForgedChunks(t *testing.T) {
	c := testCookies(t, false, key1)
	now := time.Now()
	s := largeSession(now)
	rec := httptest.NewRecorder()
	if err := c.writeSession(rec, s, now); err != nil {
		t.Fatal(err)
	}
	var first, second *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		switch ck.Name {
		case "oktasso":
			first = ck
		case "oktasso-1":
			second = ck
		}
	}
	tests := []struct {
		name    string
		cookies []*http.Cookie
	}{
		{"count over the cap", []*http.Cookie{{Name: "oktasso", Value: "~9" + first.Value[2:]}, second}},
		{"count of one", []*http.Cookie{{Name: "oktasso", Value: "~1" + first.Value[2:]}, second}},
		{"count not a digit", []*http.Cookie{{Name: "oktasso", Value: "~x" + first.Value[2:]}, second}},
		{"missing chunk", []*http.Cookie{first}},
		{"short first chunk", []*http.Cookie{{Name: "oktasso", Value: first.Value[:100]}, second}},
		{"oversized chunk", []*http.Cookie{first, {Name: "oktasso-1", Value: strings.Repeat("A", 5000)}}},
		{"chunks swapped with another session's", []*http.Cookie{first, {Name: "oktasso-1", Value: second.Value[:len(second.Value)-4] + "AAAA"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			for _, ck := range tt.cookies {
				req.AddCookie(ck)
			}
			if got := c.readSession(req, now, time.Hour); got != nil {
				t.Error("forged chunks accepted")
			}
		})
	}
}
