package oktasso

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// cookieOf returns b's cookie called name at the app, or nil.
func (h *harness) cookieOf(b *browser, name string) *http.Cookie {
	for _, c := range b.client.Jar.Cookies(mustURL(h.t, h.app.URL)) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestCallbackBadFlowCookie: a flow cookie that does not open (sealed for
// another name or as another kind, expired, changed, a session value) makes
// the callback a 400 page before any token request, never a 5xx; the same
// flow sealed properly signs in.
func TestCallbackBadFlowCookie(t *testing.T) {
	h := newHarness(t, nil)
	_, sessionCk, _ := h.signedIn(t)
	seal := func(fs *flowSealer, name string, f any, expires time.Time) string {
		v, err := fs.seal(name, f, expires)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		// value is the flow cookie presented, from the genuine one's
		// name, value and flow.
		value func(name, genuine string, f *flow) string
		want  int
	}{
		{"resealed as it was (control)", func(name, _ string, f *flow) string {
			return seal(h.auth.cookies.flow, name, f, h.clock.Now().Add(flowTTL))
		}, http.StatusFound},
		{"sealed for another cookie name", func(name, _ string, f *flow) string {
			return seal(h.auth.cookies.flow, h.auth.flowCookieName("another state"), f, h.clock.Now().Add(flowTTL))
		}, http.StatusBadRequest},
		{"expired", func(name, _ string, f *flow) string {
			return seal(h.auth.cookies.flow, name, f, h.clock.Now().Add(-time.Second))
		}, http.StatusBadRequest},
		{"sealed as a sign-out value", func(name, _ string, f *flow) string {
			return seal(h.auth.cookies.logout, name, f, h.clock.Now().Add(flowTTL))
		}, http.StatusBadRequest},
		{"a byte changed", func(_, genuine string, _ *flow) string {
			return reencode(t, genuine, len(genuine)/2, func(b byte) byte { return b ^ 0x20 })
		}, http.StatusBadRequest},
		{"a session cookie's value", func(string, string, *flow) string { return sessionCk.Value }, http.StatusBadRequest},
		{"garbage", func(string, string, *flow) string { return "not-a-cookie" }, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h.browser()
			genuine := h.authorize(b, alice, "/")
			name := h.auth.flowCookieName(mustURL(t, genuine).Query().Get("state"))
			ck := h.cookieOf(b, name)
			if ck == nil {
				t.Fatalf("no flow cookie %s after /auth/login", name)
			}
			var f flow
			if err := h.auth.cookies.flow.open(name, ck.Value, h.clock.Now(), &f); err != nil {
				t.Fatalf("the genuine flow cookie does not open: %v", err)
			}
			before := h.fake.TokenRequests()
			visitor := h.browser()
			r := visitor.get(genuine, "Cookie", name+"="+tt.value(name, ck.Value, &f))
			if r.status != tt.want {
				t.Fatalf("callback = %d %.200s; want %d", r.status, r.body, tt.want)
			}
			if tt.want != http.StatusBadRequest {
				return
			}
			if !strings.Contains(r.body, "Sign-in could not be completed") {
				t.Errorf("callback page = %.300s; want the bad-callback page", r.body)
			}
			if n := h.fake.TokenRequests() - before; n != 0 {
				t.Errorf("token endpoint called %d times; want 0", n)
			}
			if h.sessionCookie(visitor) != nil {
				t.Error("session issued")
			}
		})
	}
}

// TestFlowValueIsNoSession: a flow cookie's value presented as the session
// cookie is no session: a guarded page asks to sign in, without a 5xx.
func TestFlowValueIsNoSession(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	genuine := h.authorize(b, alice, "/")
	name := h.auth.flowCookieName(mustURL(t, genuine).Query().Get("state"))
	ck := h.cookieOf(b, name)
	if ck == nil {
		t.Fatal("no flow cookie after /auth/login")
	}
	asSession, err := h.auth.cookies.flow.seal(h.auth.cookies.sessionName(), &flow{State: "s"}, h.clock.Now().Add(flowTTL))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{ck.Value, asSession} {
		r := h.browser().get(h.app.URL+"/workspace", "Cookie", h.auth.cookies.sessionName()+"="+v)
		if r.status != http.StatusFound || !strings.Contains(r.location, loginPath) {
			t.Errorf("GET /workspace with a flow value as the session = %d to %q; want 302 to sign in", r.status, r.location)
		}
	}
}

// TestCallbackFlowKeyRotation: a flow started before a key rotation
// completes while its key is still listed, and is refused (400) once the
// key is gone.
func TestCallbackFlowKeyRotation(t *testing.T) {
	h := newHarness(t, nil) // Keys: key1
	kept, dropped := h.browser(), h.browser()
	keptURL, droppedURL := h.authorize(kept, alice, "/"), h.authorize(dropped, alice, "/")

	h.cfg.Session.Keys = []Secret{key2, key1}
	h.restart()
	if r := kept.get(keptURL); r.status != http.StatusFound || h.sessionCookie(kept) == nil {
		t.Errorf("callback of a flow sealed with an older key still listed = %d %.200s; want 302 and a session", r.status, r.body)
	}

	h.cfg.Session.Keys = []Secret{key2}
	h.restart()
	if r := dropped.get(droppedURL); r.status != http.StatusBadRequest || h.sessionCookie(dropped) != nil {
		t.Errorf("callback of a flow sealed with a key no longer listed = %d %.200s; want 400 and no session", r.status, r.body)
	}
}

// TestLogoutCallbackBadCookie: a sign-out cookie that does not open (sealed
// for another name or as a flow, expired, changed) makes the post-logout
// callback its 400 page, never a redirect or a 5xx.
func TestLogoutCallbackBadCookie(t *testing.T) {
	h := newHarness(t, nil)
	name := h.auth.logoutCookieName()
	seal := func(fs *flowSealer, name string, ls *logoutState, expires time.Time) string {
		v, err := fs.seal(name, ls, expires)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		value func(genuine string, ls *logoutState) string
		want  int
	}{
		{"resealed as it was (control)", func(_ string, ls *logoutState) string {
			return seal(h.auth.cookies.logout, name, ls, h.clock.Now().Add(flowTTL))
		}, http.StatusSeeOther},
		{"sealed for another cookie name", func(_ string, ls *logoutState) string {
			return seal(h.auth.cookies.logout, name+"x", ls, h.clock.Now().Add(flowTTL))
		}, http.StatusBadRequest},
		{"expired", func(_ string, ls *logoutState) string {
			return seal(h.auth.cookies.logout, name, ls, h.clock.Now().Add(-time.Second))
		}, http.StatusBadRequest},
		{"sealed as a flow", func(_ string, ls *logoutState) string {
			return seal(h.auth.cookies.flow, name, ls, h.clock.Now().Add(flowTTL))
		}, http.StatusBadRequest},
		{"a byte changed", func(genuine string, _ *logoutState) string {
			return reencode(t, genuine, len(genuine)/2, func(b byte) byte { return b ^ 0x20 })
		}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h.browser()
			h.login(b, alice, "/")
			r := b.post(h.app.URL+LogoutPath, nil)
			state := mustURL(t, r.location).Query().Get("state")
			ck := h.cookieOf(b, name)
			if ck == nil || state == "" {
				t.Fatalf("POST /auth/logout = %d to %q, cookie %v; want a sign-out state and cookie", r.status, r.location, ck)
			}
			var ls logoutState
			if err := h.auth.cookies.logout.open(name, ck.Value, h.clock.Now(), &ls); err != nil || ls.State != state {
				t.Fatalf("the genuine sign-out cookie = %+v, %v; want state %q", ls, err, state)
			}
			got := h.browser().get(h.app.URL+logoutCallbackPath+"?state="+state, "Cookie", name+"="+tt.value(ck.Value, &ls))
			if got.status != tt.want {
				t.Errorf("post-logout callback = %d to %q %.200s; want %d", got.status, got.location, got.body, tt.want)
			}
		})
	}
}

// FuzzFlowCookie feeds arbitrary values to the flow and sign-out openers:
// no panic, and nothing opens but what was sealed for that name and kind.
func FuzzFlowCookie(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(f, false, key2, key1)
	const name = "oktasso-flow-abc"
	// Fixed values: the seeds are made in every fuzzing process.
	sealed := testFlow(now)
	sealed.State, sealed.Nonce, sealed.Verifier = "state", "nonce", "verifier"
	sealedLS := logoutState{State: sealed.State, Created: now.Unix()}
	good, err := c.flow.seal(name, sealed, now.Add(flowTTL))
	if err != nil {
		f.Fatal(err)
	}
	older, _ := testCookies(f, false, key1).flow.seal(name, sealed, now.Add(flowTTL))
	logoutValue, _ := c.logout.seal(name, &sealedLS, now.Add(flowTTL))
	rec := httptest.NewRecorder()
	if err := c.writeSessionAt(rec, testSession(now), now); err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(older)
	f.Add(logoutValue)
	f.Add(rec.Result().Cookies()[0].Value)
	f.Add(good[:len(good)/2])
	f.Add(good + "A")
	f.Add("AQ")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		var got flow
		if err := c.flow.open(name, v, now, &got); err == nil && !reflect.DeepEqual(&got, sealed) {
			t.Fatalf("opened a flow it did not seal: %q gave %+v", v, got)
		}
		var ls logoutState
		if err := c.logout.open(name, v, now, &ls); err == nil && ls != sealedLS {
			t.Fatalf("opened a sign-out value it did not seal: %q gave %+v", v, ls)
		}
	})
}

// FuzzFlowAtCallback sends the callback of a real pending sign-in with
// arbitrary flow cookie values: no input may cause a 5xx, and a session is
// issued only for a value that opens as the flow.
func FuzzFlowAtCallback(f *testing.F) {
	h := newHarness(f, nil)
	b := h.browser()
	genuine := mustURL(f, h.authorize(b, alice, "/"))
	name := h.auth.flowCookieName(genuine.Query().Get("state"))
	ck := h.cookieOf(b, name)
	if ck == nil {
		f.Fatal("no flow cookie after /auth/login")
	}
	f.Add(ck.Value)
	f.Add(ck.Value[:len(ck.Value)-1])
	f.Add(ck.Value[1:])
	f.Add("AQ" + ck.Value[2:])
	f.Add("not-a-cookie")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		req := httptest.NewRequest("GET", genuine.RequestURI(), nil)
		req.Header.Set("Cookie", name+"="+v)
		rec := httptest.NewRecorder()
		h.auth.Handler().ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusBadGateway {
			t.Fatalf("callback with flow cookie %q = %d; want 4xx", v, rec.Code)
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == h.auth.cookies.sessionName() && c.MaxAge >= 0 && h.auth.cookies.flow.open(name, v, h.clock.Now(), &flow{}) != nil {
				t.Fatalf("callback with flow cookie %q issued a session", v)
			}
		}
	})
}
