package oktatest

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// rateHeaders returns the X-Rate-Limit headers of resp.
func rateHeaders(t testing.TB, resp *http.Response) (limit, remaining int, reset int64) {
	t.Helper()
	var err1, err2, err3 error
	limit, err1 = strconv.Atoi(resp.Header.Get("X-Rate-Limit-Limit"))
	remaining, err2 = strconv.Atoi(resp.Header.Get("X-Rate-Limit-Remaining"))
	reset, err3 = strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("rate-limit headers %v", resp.Header)
	}
	return limit, remaining, reset
}

func TestRateLimit(t *testing.T) {
	clock := newTestClock()
	s := newAPIServer(t, clock)
	resp, _ := apiGet(t, s, "/api/v1/users", ssws())
	if limit, remaining, _ := rateHeaders(t, resp); limit != 600 || remaining != 599 {
		t.Errorf("default /api/v1/users limit = %d, remaining %d; want 600, 599", limit, remaining)
	}
	s.SetRateLimit(3, time.Minute)
	wantReset := clock.Now().Add(time.Minute).Unix()
	tests := []struct {
		name, path    string
		header        http.Header
		status        int
		wantRemaining int
	}{
		{"first", "/api/v1/users", ssws(), 200, 2},
		{"second, unauthenticated", "/api/v1/users", nil, 401, 1},
		{"third, not found", "/api/v1/users/00unope", ssws(), 404, 2}, // another family
		{"third users call", "/api/v1/users", ssws(), 200, 0},
		{"over the limit", "/api/v1/users", ssws(), 429, 0},
		{"groups family is separate", "/api/v1/groups", ssws(), 200, 2},
	}
	for _, tt := range tests {
		resp, body := apiGet(t, s, tt.path, tt.header)
		if resp.StatusCode != tt.status {
			t.Fatalf("%s: GET %s = %d %s; want %d", tt.name, tt.path, resp.StatusCode, body, tt.status)
		}
		limit, remaining, reset := rateHeaders(t, resp)
		if limit != 3 || remaining != tt.wantRemaining || reset != wantReset {
			t.Errorf("%s: limit %d remaining %d reset %d; want 3 %d %d", tt.name, limit, remaining, reset, tt.wantRemaining, wantReset)
		}
		if tt.status == 429 && errorCode(t, body) != "E0000047" {
			t.Errorf("%s: body %s; want E0000047", tt.name, body)
		}
	}
	clock.Add(time.Minute)
	resp, body := apiGet(t, s, "/api/v1/users", ssws())
	if _, remaining, _ := rateHeaders(t, resp); resp.StatusCode != 200 || remaining != 2 {
		t.Errorf("after Reset: %d %s, remaining %d; want 200, 2", resp.StatusCode, body, remaining)
	}
}

func TestBurstTooManyRequests(t *testing.T) {
	s := newAPIServer(t, nil)
	s.BurstTooManyRequests(2)
	for i := range 3 {
		start := time.Now().Unix()
		resp, body := apiGet(t, s, "/api/v1/groups", ssws())
		_, remaining, reset := rateHeaders(t, resp)
		if i < 2 {
			if resp.StatusCode != 429 || errorCode(t, body) != "E0000047" || remaining != 0 || reset <= start {
				t.Errorf("call %d = %d %s, remaining %d, reset %d (now %d); want 429 E0000047, 0, in the future", i, resp.StatusCode, body, remaining, reset, start)
			}
		} else if resp.StatusCode != 200 {
			t.Errorf("call after the burst = %d %s; want 200", resp.StatusCode, body)
		}
	}
}

func TestFailNextAPI(t *testing.T) {
	s := newAPIServer(t, nil)
	s.FailNextAPI(2, 503)
	for i, want := range []int{503, 503, 200} {
		resp, body := apiGet(t, s, "/api/v1/users", ssws())
		if resp.StatusCode != want {
			t.Errorf("call %d = %d %s; want %d", i, resp.StatusCode, body, want)
		}
		if want != 200 && errorCode(t, body) != "E0000009" {
			t.Errorf("call %d body %s; want E0000009", i, body)
		}
		if resp.Header.Get("X-Rate-Limit-Remaining") == "" {
			t.Errorf("call %d has no rate-limit headers", i)
		}
	}
}

func TestFailLargePages(t *testing.T) {
	s := newAPIServer(t, nil)
	s.AddGeneratedUsers(250, 0)
	s.FailLargePages(100)
	// A client that retries a failed page with half the limit.
	limit, total, failures := 200, 0, 0
	for u := "/api/v1/users?limit=200"; u != ""; {
		resp, body := apiGet(t, s, u, ssws())
		if resp.StatusCode == 500 {
			failures++
			limit /= 2
			u = "/api/v1/users?limit=" + strconv.Itoa(limit)
			continue
		}
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", u, resp.StatusCode, body)
		}
		ids, _ := listAll(t, s, u, ssws())
		total, u = len(ids), ""
	}
	if failures != 1 || total != 250 {
		t.Errorf("%d failures, %d users; want 1 failure, then 250 users with limit 100", failures, total)
	}
	s.FailLargePages(0)
	if resp, _ := apiGet(t, s, "/api/v1/users?limit=200", ssws()); resp.StatusCode != 200 {
		t.Errorf("after FailLargePages(0): %d; want 200", resp.StatusCode)
	}
}

func TestRateLimitPanics(t *testing.T) {
	s := NewUnstartedServer()
	defer s.Close()
	tests := []struct {
		name string
		f    func()
	}{
		{"SetRateLimit zero", func() { s.SetRateLimit(0, time.Minute) }},
		{"SetRateLimit short window", func() { s.SetRateLimit(10, time.Millisecond) }},
		{"FailNextAPI 404", func() { s.FailNextAPI(1, 404) }},
		{"BurstTooManyRequests negative", func() { s.BurstTooManyRequests(-1) }},
		{"FailLargePages negative", func() { s.FailLargePages(-1) }},
		{"AddAPIToken empty", func() { s.AddAPIToken("") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", tt.name)
				}
			}()
			tt.f()
		})
	}
}
