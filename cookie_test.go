package oktasso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testCookies(t testing.TB, secure bool, keys ...Secret) *cookies {
	t.Helper()
	c, err := newCookies(secure, keys, "https://dev-1.okta.com 0oa1")
	if err != nil {
		t.Fatal(err)
	}
	return c
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

func TestCookieNameConfig(t *testing.T) {
	for _, tt := range []struct {
		name, cookieName, base, want, wantErr string
	}{
		{"default", "", "http://localhost:8080", "oktasso", ""},
		{"default https", "", "https://app.example", "__Host-oktasso", ""},
		{"own", "app_1", "http://localhost:8080", "app_1", ""},
		{"own https", "app_1", "https://app.example", "__Host-app_1", ""},
		{"prefix of its own", "__Secure-x", "https://app.example", "", "CookieName"},
		{"separator", "a;b", "https://app.example", "", "CookieName"},
		{"too long", strings.Repeat("c", 65), "https://app.example", "", "CookieName"},
		{"dash, the suffix separator", "foo-flow-x", "https://app.example", "", "CookieName"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(context.Background(), Config{
				Issuer:     "https://dev-1.okta.com",
				BaseURL:    tt.base,
				Logger:     quietLogger(),
				HTTPClient: &http.Client{Transport: offline{}},
				Client:     ClientConfig{ID: "0oa1"},
				Session:    SessionConfig{CookieName: tt.cookieName, Keys: []Secret{key1}},
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("New(CookieName %q) = %v; want an error naming %s", tt.cookieName, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := a.cookies.sessionName(); got != tt.want {
				t.Errorf("session cookie name = %q; want %q", got, tt.want)
			}
			if got := a.flowCookieName("s"); !strings.HasPrefix(got, tt.want+"-flow-") {
				t.Errorf("flow cookie name = %q; want the prefix %s-flow-", got, tt.want)
			}
		})
	}
}
