package oktasso

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// TestJunkCallbacks sends 10,000 malformed and forged callbacks: none may
// answer 5xx, issue a session or reach the token endpoint, and memory must
// not grow with them.
func TestJunkCallbacks(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	genuine := mustURL(t, h.authorize(b, alice, "/"))
	flowCookies := b.client.Jar.Cookies(mustURL(t, h.app.URL))
	handler := h.auth.Handler()
	before := h.fake.TokenRequests()

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	send := func(i int) int {
		q := url.Values{}
		switch i % 5 {
		case 0:
			q.Set("state", randomString(32))
			q.Set("code", randomString(20))
		case 1:
			q.Set("state", genuine.Query().Get("state")+fmt.Sprint(i))
			q.Set("code", "x")
		case 2:
			q.Set("error", "access_denied")
			q.Set("state", randomString(8))
		case 3:
			q.Set("state", string(rune(i%0x10ffff)))
		case 4:
			q.Set("code", randomString(3000))
		}
		req := httptest.NewRequest("GET", "/auth/callback?"+q.Encode(), nil)
		if i%2 == 0 {
			for _, c := range flowCookies {
				req.AddCookie(c)
			}
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		for _, c := range rec.Result().Cookies() {
			if c.Name == h.auth.cookies.sessionName() && c.MaxAge >= 0 {
				t.Fatalf("junk callback %d issued a session", i)
			}
		}
		return rec.Code
	}
	for i := 0; i < 500; i++ { // warm up caches and pools
		send(i)
	}
	start := heap()
	for i := 0; i < 10_000; i++ {
		if code := send(i); code >= 500 {
			t.Fatalf("junk callback %d = %d; want 4xx", i, code)
		}
	}
	if grown := int64(heap()) - int64(start); grown > 4<<20 {
		t.Errorf("heap grew by %d KiB over 10,000 junk callbacks; want no growth", grown>>10)
	}
	if n := h.fake.TokenRequests() - before; n != 0 {
		t.Errorf("junk callbacks reached the token endpoint %d times; want 0", n)
	}
}

// TestConcurrentLogins signs 1,000 browsers in, 50 at a time: all succeed.
func TestConcurrentLogins(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 sign-ins take a few seconds")
	}
	h := newHarness(t, nil)
	h.fake.AutoLogin(alice)
	var ok, failed atomic.Int32
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			b := h.browser()
			r := b.get(h.app.URL + loginPath + "?return_to=/workspace")
			for hops := 0; hops < 4 && r.status == http.StatusFound; hops++ {
				if r.location == h.app.URL+"/workspace" {
					break
				}
				r = b.get(r.location)
			}
			if r.location == h.app.URL+"/workspace" && h.sessionCookie(b) != nil {
				ok.Add(1)
			} else {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1000 {
		t.Errorf("concurrent sign-ins: %d succeeded, %d failed; want all 1,000", ok.Load(), failed.Load())
	}
}

// TestIdPFaults breaks one endpoint of the fake Okta at a time: every
// sign-in fails with a clear 5xx page within the client's timeout, reads
// stay bounded, and nothing panics. (A broken userinfo endpoint does not
// fail a sign-in: TestUserInfoFailures.)
func TestIdPFaults(t *testing.T) {
	html := []byte("<html><body>Okta is down for maintenance</body></html>")
	tests := []struct {
		name     string
		endpoint string
		fault    oktatest.Fault
		want     int // status of the step that meets the fault
	}{
		{"discovery slow", "discovery", oktatest.Fault{Delay: 3 * time.Second}, http.StatusServiceUnavailable},
		{"discovery HTML", "discovery", oktatest.Fault{Status: 200, Body: html, ContentType: "text/html"}, http.StatusServiceUnavailable},
		{"discovery huge", "discovery", oktatest.Fault{Body: []byte(`{"issuer":"x"`), HugeBody: 8 << 20}, http.StatusServiceUnavailable},
		{"keys slow", "keys", oktatest.Fault{Delay: 3 * time.Second}, http.StatusBadGateway},
		{"keys HTML", "keys", oktatest.Fault{Status: 200, Body: html, ContentType: "text/html"}, http.StatusBadGateway},
		{"keys huge", "keys", oktatest.Fault{Body: []byte(`{"keys":[`), HugeBody: 8 << 20}, http.StatusBadGateway},
		{"token 500 HTML", "token", oktatest.Fault{Status: 500, Body: html, ContentType: "text/html"}, http.StatusBadGateway},
		{"token slow", "token", oktatest.Fault{Delay: 3 * time.Second}, http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.HTTPClient = &http.Client{Timeout: 500 * time.Millisecond} })
			h.fake.Fault(tt.endpoint, tt.fault)
			if tt.endpoint == "discovery" {
				h.restart() // the first discovery meets the fault
			}
			b := h.browser()
			h.fake.AutoLogin(alice)
			r := b.get(h.app.URL + loginPath)
			if r.status == http.StatusFound {
				r = b.get(r.location) // the fake's authorize
				if r.status == http.StatusFound {
					r = b.get(r.location) // the app's callback
				}
			}
			// A slow endpoint answers normally after its 3 s delay: only a
			// client that gave up at its 500 ms timeout sees the failure.
			if r.status != tt.want {
				t.Errorf("sign-in with %s = %d %.120s; want %d", tt.name, r.status, r.body, tt.want)
			}
			if h.sessionCookie(b) != nil {
				t.Error("session issued")
			}
		})
	}
}
