package oktasso

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
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

// writeSessionAt seals s into the session cookie(s) on w (and its ID
// token into the sign-out cookie), as the Auth does for cookie sessions.
func (c *cookies) writeSessionAt(w http.ResponseWriter, s *session, now time.Time) error {
	return c.writeSession(w, s, time.Unix(s.Expires, 0).Sub(now), 1)
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
	if err := write.writeSessionAt(rec, s, now); err != nil {
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
		if err := c.writeSessionAt(rec, testSession(now), now); err != nil {
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
	if err := c.writeSessionAt(httptest.NewRecorder(), s, now); !errors.Is(err, errSessionTooLarge) {
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
	if err := c.writeSessionAt(rec, s, now); err != nil {
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
	if err := c.writeSessionAt(rec, s, now); err != nil {
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
		{"dash", "my-app", "http://localhost:8080", "my-app", ""},
		{"dash https", "my-app", "https://app.example", "__Host-my-app", ""},
		{"dashes and underscores", "a-b_c-d", "https://app.example", "__Host-a-b_c-d", ""},
		{"leading dash", "-app", "http://localhost:8080", "-app", ""},
		{"trailing dash", "app-", "http://localhost:8080", "app-", ""},
		{"a part that only starts like flow", "app-flows", "http://localhost:8080", "app-flows", ""},
		{"a part that only starts like logout", "app-logouts", "http://localhost:8080", "app-logouts", ""},
		{"a number inside", "app-2-web", "http://localhost:8080", "app-2-web", ""},
		{"hint without logout", "app-hint", "http://localhost:8080", "app-hint", ""},
		{"a number without dash", "app2", "http://localhost:8080", "app2", ""},
		{"flow first", "flow-app", "http://localhost:8080", "flow-app", ""},
		{"64 characters", strings.Repeat("c", 63) + "-", "http://localhost:8080", strings.Repeat("c", 63) + "-", ""},
		{"prefix of its own", "__Secure-x", "https://app.example", "", "CookieName"},
		{"__Host- prefix", "__Host-x", "https://app.example", "", "CookieName"},
		{"two underscores", "__x", "http://localhost:8080", "", "CookieName"},
		{"separator", "a;b", "https://app.example", "", "CookieName"},
		{"space", "a b", "https://app.example", "", "CookieName"},
		{"equals", "a=b", "https://app.example", "", "CookieName"},
		{"dot", "a.b", "https://app.example", "", "CookieName"},
		{"not ASCII", "café", "https://app.example", "", "CookieName"},
		{"control character", "a\tb", "https://app.example", "", "CookieName"},
		{"too long", strings.Repeat("c", 65), "https://app.example", "", "CookieName"},
		{"a flow cookie's name", "foo-flow-x", "https://app.example", "", "CookieName"},
		{"ends like a flow cookie's prefix", "foo-flow", "https://app.example", "", "CookieName"},
		{"a chunk's name", "foo-1", "https://app.example", "", "CookieName"},
		{"a number part", "foo-12", "https://app.example", "", "CookieName"},
		{"the default's chunk", "oktasso-2", "http://localhost:8080", "", "CookieName"},
		{"the sign-out cookie's name", "foo-logout", "https://app.example", "", "CookieName"},
		{"the default's sign-out cookie", "oktasso-logout", "http://localhost:8080", "", "CookieName"},
		{"the default's sign-out hint cookie", "oktasso-logout-hint", "http://localhost:8080", "", "CookieName"},
		{"a sign-out hint cookie's name", "foo-logout-hint", "https://app.example", "", "CookieName"},
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

// TestCookieNamesNeverMeet: Auths on one host with different accepted
// cookie names never share a cookie name, and none takes another's cookie
// for one of its sign-in flows (which it would delete as unreadable).
func TestCookieNamesNeverMeet(t *testing.T) {
	names := []string{"", "oktasso_2", "app", "my-app", "app-", "app-flows", "app-logouts", "app-2-web", "my", "a-b_c-d", "-app", "flow-app", "app-x"}
	type auth struct {
		name  string
		a     *Auth
		names []string // every cookie name it sets
	}
	var auths []auth
	for _, name := range names {
		for _, base := range []string{"http://localhost:8080", "https://app.example"} {
			a, err := New(context.Background(), Config{
				Issuer: "https://dev-1.okta.com", BaseURL: base, Logger: quietLogger(),
				HTTPClient: &http.Client{Transport: offline{}}, Client: ClientConfig{ID: "0oa1"},
				Session: SessionConfig{CookieName: name, Keys: []Secret{key1}, MaxCookies: 4},
			})
			if err != nil {
				t.Fatalf("New(CookieName %q): %v", name, err)
			}
			own := []string{a.cookies.sessionName(), a.logoutCookieName(), a.flowCookieName("s"), a.flowCookieName("another state")}
			for i := 1; i < a.cookies.maxChunks; i++ {
				own = append(own, a.cookies.chunkName(i))
			}
			auths = append(auths, auth{name + " " + base, a, own})
		}
	}
	for _, x := range auths {
		for _, y := range auths {
			if x.name == y.name {
				continue
			}
			for _, n := range y.names {
				if slices.Contains(x.names, n) {
					t.Errorf("%s and %s both set the cookie %s", x.name, y.name, n)
				}
				if x.a.isFlowCookie(n) {
					t.Errorf("%s takes %s's cookie %s for a sign-in flow of its own", x.name, y.name, n)
				}
			}
		}
	}
}

// testFlow is a flow with every field set.
func testFlow(now time.Time) *flow {
	return &flow{State: randomString(32), Nonce: randomString(32), Verifier: randomString(32), ReturnTo: "/a?b=<c>&d",
		MaxAge: 300, HasMaxAge: true, Created: now.Unix(), ACR: []string{"urn:okta:loa:2fa:any"}, AMR: []string{"hwk"},
		Subject: "00u1abcd", Purpose: "mfa", Redirect: "/mfa/callback", Silent: silentAnonymous}
}

// reencode returns value with its decoded byte i changed by edit.
func reencode(t *testing.T, value string, i int, edit func(byte) byte) string {
	t.Helper()
	raw, err := strictBase64.DecodeString(value)
	if err != nil {
		t.Fatal(err)
	}
	raw[i] = edit(raw[i])
	return base64.RawURLEncoding.EncodeToString(raw)
}

func TestFlowCookieRoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, true, key1)
	name := "__Host-oktasso-flow-abc"
	f := testFlow(now)
	v, err := c.flow.seal(name, f, now.Add(flowTTL))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, f.State) || strings.Contains(v, "mfa") {
		t.Error("flow cookie value shows plaintext fields")
	}
	var got flow
	if err := c.flow.open(name, v, now.Add(flowTTL), &got); err != nil {
		t.Fatalf("open at the expiry = %v; want the flow", err)
	}
	if !reflect.DeepEqual(&got, f) {
		t.Errorf("opened flow = %+v; want %+v", got, *f)
	}
	ls := logoutState{State: randomString(24), Created: now.Unix()}
	lv, err := c.logout.seal("__Host-oktasso-logout", &ls, now.Add(flowTTL))
	if err != nil {
		t.Fatal(err)
	}
	var gotLS logoutState
	if err := c.logout.open("__Host-oktasso-logout", lv, now, &gotLS); err != nil || gotLS != ls {
		t.Errorf("logout state = %+v, %v; want %+v", gotLS, err, ls)
	}
}

// TestFlowCookieRefused: a flow value opens only for its own cookie name,
// kind, app and keys, unchanged and before its expiry.
func TestFlowCookieRefused(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const name = "oktasso-flow-abc"
	c := testCookies(t, false, key1)
	good, err := c.flow.seal(name, testFlow(now), now.Add(flowTTL))
	if err != nil {
		t.Fatal(err)
	}
	logoutValue, err := c.logout.seal(name, &logoutState{State: "s", Created: now.Unix()}, now.Add(flowTTL))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := c.writeSessionAt(rec, testSession(now), now); err != nil {
		t.Fatal(err)
	}
	sessionValue := rec.Result().Cookies()[0].Value
	other, err := newCookies(false, []Secret{key1}, "https://dev-1.okta.com 0oa2")
	if err != nil {
		t.Fatal(err)
	}
	otherApp, _ := other.flow.seal(name, testFlow(now), now.Add(flowTTL))
	rotatedOut, _ := testCookies(t, false, key2).flow.seal(name, testFlow(now), now.Add(flowTTL))
	tests := []struct {
		name, cookie, value string
		at                  time.Time
	}{
		{"another cookie name", "oktasso-flow-abd", good, now},
		{"the sign-out cookie's name", "oktasso-logout", good, now},
		{"expired", name, good, now.Add(flowTTL + time.Second)},
		{"long expired", name, good, now.Add(24 * time.Hour)},
		{"sealed with a key no longer listed", name, rotatedOut, now},
		{"sealed for another app with the same keys", name, otherApp, now},
		{"a sign-out value", name, logoutValue, now},
		{"a session value", name, sessionValue, now},
		{"a session value with the flow version byte", name, reencode(t, sessionValue[:strings.IndexByte(sessionValue+".", '.')], 0, func(byte) byte { return flowWireFormat }), now},
		{"another version byte", name, reencode(t, good, 0, func(b byte) byte { return b + 1 }), now},
		{"truncated", name, good[:len(good)-4], now},
		{"padded", name, good + "==", now},
		{"empty", name, "", now},
		{"oversized", name, strings.Repeat("A", maxFlowBytes+4), now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f flow
			if err := c.flow.open(tt.cookie, tt.value, tt.at, &f); err == nil {
				t.Errorf("open = %+v; want refused", f)
			}
		})
	}
	// Any byte changed anywhere (version, nonce, ciphertext, tag) is refused.
	raw, _ := strictBase64.DecodeString(good)
	for i := range raw {
		var f flow
		if err := c.flow.open(name, reencode(t, good, i, func(b byte) byte { return b ^ 0x01 }), now, &f); err == nil {
			t.Fatalf("a value with byte %d of %d flipped opened", i, len(raw))
		}
	}
	// The flow value is no sign-out value either, even under its name.
	lv, _ := c.flow.seal("oktasso-logout", &logoutState{State: "s", Created: now.Unix()}, now.Add(flowTTL))
	if err := c.logout.open("oktasso-logout", lv, now, &logoutState{}); err == nil {
		t.Error("a flow value opened as the sign-out value")
	}
}

func TestFlowCookieKeyRotation(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const name = "oktasso-flow-abc"
	old := testCookies(t, false, key1)
	rotated := testCookies(t, false, key2, key1)
	retired := testCookies(t, false, key2)
	open := func(c *cookies, v string) bool { return c.flow.open(name, v, now, &flow{}) == nil }
	v, _ := old.flow.seal(name, testFlow(now), now.Add(flowTTL))
	if !open(rotated, v) {
		t.Error("a flow sealed with an older key still listed is refused; want opened")
	}
	if open(retired, v) {
		t.Error("a flow sealed with a key no longer listed opened; want refused")
	}
	v, _ = rotated.flow.seal(name, testFlow(now), now.Add(flowTTL))
	if !open(retired, v) || open(old, v) {
		t.Error("after rotation the newest key does not seal; want a value only the new key opens")
	}
}

// TestCookieKindsHaveTheirOwnKeys: the session, flow and sign-out keys
// differ, so no kind's value opens as another's even with the same
// additional data and version byte.
func TestCookieKindsHaveTheirOwnKeys(t *testing.T) {
	c := testCookies(t, false, key1)
	sealers := map[string]*sessionSealer{"session": c.session, "flow": c.flow.ss, "logout": c.logout.ss}
	aad := []byte("the same additional data")
	for from, s := range sealers {
		v := s.sealBytes(1, []byte("plain"), aad)
		for to, o := range sealers {
			if _, ok := o.openBytes(1, v, aad); ok != (from == to) {
				t.Errorf("a %s value opens with the %s keys = %v; want %v", from, to, ok, from == to)
			}
		}
	}
}

func TestFlowCookieTooLarge(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	f := testFlow(now)
	f.ReturnTo = "/" + strings.Repeat("a", maxReturnToLen-1)
	if _, err := c.flow.seal("oktasso-flow-abc", f, now.Add(flowTTL)); !errors.Is(err, errFlowTooLarge) {
		t.Errorf("seal of a flow with a %d-byte return path = %v; want errFlowTooLarge", len(f.ReturnTo), err)
	}
	f.ReturnTo = "/" + strings.Repeat("a", 1500)
	if v, err := c.flow.seal("oktasso-flow-abc", f, now.Add(flowTTL)); err != nil || len(v) > maxFlowBytes {
		t.Errorf("seal of a flow with a 1.5 KB return path = %d bytes, %v; want it under %d", len(v), err, maxFlowBytes)
	}
}

// BenchmarkFlowCookie seals a sign-in's flow cookie (at login) and opens
// it (at the callback), with a second key listed.
func BenchmarkFlowCookie(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(b, true, key2, key1)
	const name = "__Host-oktasso-flow-0123456789abcdef"
	f := flow{State: randomString(32), Nonce: randomString(32), Verifier: randomString(32), ReturnTo: "/workspace", Created: now.Unix()}
	v, err := c.flow.seal(name, &f, now.Add(flowTTL))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.flow.seal(name, &f, now.Add(flowTTL)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(v)), "value-bytes")
	})
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var g flow
			if err := c.flow.open(name, v, now, &g); err != nil {
				b.Fatal(err)
			}
		}
	})
}
