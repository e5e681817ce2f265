package directory

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// attempt is what one request to the token endpoint or the API carried:
// the claims of its DPoP proof and of its client assertion (nil if none).
type attempt struct {
	proof, assertion map[string]any
}

// throttler is a transport that records the requests whose path starts
// with prefix and answers the first throttle of them itself with a 429
// whose X-Rate-Limit-Reset is reset ahead of the fake clock, as Okta does
// when another client used up the org's quota. The others go to base.
type throttler struct {
	base     http.RoundTripper
	clock    *clock
	prefix   string
	throttle int
	reset    time.Duration

	mu       sync.Mutex
	attempts []attempt
}

func (tr *throttler) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(req.URL.Path, tr.prefix) {
		return tr.base.RoundTrip(req)
	}
	a := attempt{proof: jwtClaims(req.Header.Get("DPoP"))}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		a.assertion = jwtClaims(form.Get("client_assertion"))
	}
	tr.mu.Lock()
	tr.attempts = append(tr.attempts, a)
	throttled := tr.throttle > 0
	if throttled {
		tr.throttle--
	}
	tr.mu.Unlock()
	if !throttled {
		return tr.base.RoundTrip(req)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Rate-Limit-Limit", "600")
	h.Set("X-Rate-Limit-Remaining", "0")
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(tr.clock.Now().Add(tr.reset).Unix(), 10))
	body := `{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}`
	return &http.Response{
		StatusCode: http.StatusTooManyRequests, Status: "429 Too Many Requests", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}, nil
}

func (tr *throttler) recorded() []attempt {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]attempt(nil), tr.attempts...)
}

// jwtClaims returns the payload of a compact JWS, unverified; nil if s is
// not one.
func jwtClaims(s string) map[string]any {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// checkFresh fails unless the JWTs (proofs or assertions) of the first two
// attempts have different jti and the second's iat is at least wait after
// the first's: a retry after a long 429 must be a new request.
func checkFresh(t *testing.T, what string, first, second map[string]any, wait time.Duration) {
	t.Helper()
	if first == nil || second == nil {
		t.Errorf("%s: the attempts carried %v and %v; want one in each", what, first, second)
		return
	}
	if first["jti"] == nil || first["jti"] == second["jti"] {
		t.Errorf("%s: the retry reused jti %v; want a new one", what, first["jti"])
	}
	iat1, _ := first["iat"].(float64)
	iat2, _ := second["iat"].(float64)
	if iat2-iat1 < wait.Seconds() {
		t.Errorf("%s: the retry's iat is %v, %v s after the first attempt's; want a fresh one, at least %v later", what, iat2, iat2-iat1, wait)
	}
}

// TestRetryIsANewRequest: a 429 whose reset is minutes away, from the token
// endpoint or from the API, is waited out and the retry carries a new DPoP
// proof and client assertion (new jti, fresh iat), so Okta accepts it.
func TestRetryIsANewRequest(t *testing.T) {
	const reset = 2 * time.Minute // longer than the minute a DPoP proof is valid
	t.Run("token endpoint", func(t *testing.T) {
		f := newFake(t)
		f.srv.AddGeneratedUsers(3, 0)
		cfg := f.config()
		tr := &throttler{base: f.srv.Client().Transport, clock: f.clock, prefix: "/oauth2/", throttle: 1, reset: reset}
		cfg.HTTPClient = &http.Client{Transport: tr}
		c := f.client(t, cfg)

		sum, err := Sync(context.Background(), c, newMemSink(), SyncOptions{})
		if err != nil || sum.Upserted != 3 {
			t.Errorf("Sync = %v, %d upserted; want the 429 waited out and 3 users", err, sum.Upserted)
		}
		if s := f.clock.sleeps(); len(s) == 0 || s[0] < reset-time.Second {
			t.Errorf("waits %v; want one until X-Rate-Limit-Reset, %v ahead", s, reset)
		}
		got := tr.recorded()
		if len(got) < 2 {
			t.Fatalf("%d token requests; want the throttled one and its retry", len(got))
		}
		checkFresh(t, "DPoP proof", got[0].proof, got[1].proof, reset-time.Second)
		checkFresh(t, "client assertion", got[0].assertion, got[1].assertion, reset-time.Second)
	})
	t.Run("API", func(t *testing.T) {
		f := newFake(t)
		f.srv.AddGeneratedUsers(3, 0)
		cfg := f.config()
		tr := &throttler{base: f.srv.Client().Transport, clock: f.clock, prefix: "/api/", throttle: 1, reset: reset}
		cfg.HTTPClient = &http.Client{Transport: tr}
		c := f.client(t, cfg)

		sum, err := Sync(context.Background(), c, newMemSink(), SyncOptions{})
		if err != nil || sum.Upserted != 3 || sum.Throttled != 1 {
			t.Fatalf("Sync = %v, %d upserted, %d throttled; want the 429 waited out and 3 users", err, sum.Upserted, sum.Throttled)
		}
		got := tr.recorded()
		if len(got) < 2 {
			t.Fatalf("%d API requests; want the throttled one and its retry", len(got))
		}
		checkFresh(t, "DPoP proof", got[0].proof, got[1].proof, reset-time.Second)
	})
}
