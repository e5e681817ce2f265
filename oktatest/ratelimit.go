package oktatest

import (
	"net/http"
	"strconv"
	"time"
)

// defaultRateLimits are Okta's per-minute limits of the endpoint families
// (list users, one user, groups), as in a developer org.
var defaultRateLimits = map[string]int{"users": 600, "user": 2000, "groups": 500, "other": 1000}

// rateLimiter counts Management API calls per endpoint family in fixed
// windows and holds the injected faults. Guarded by s.mu.
type rateLimiter struct {
	limit      int           // 0: defaultRateLimits
	window     time.Duration // 0: one minute
	buckets    map[string]*rateBucket
	burst      int // calls left to answer 429
	failN      int // calls left to fail with failStatus
	failStatus int
	maxPage    int // list requests with a larger limit fail; 0: off
}

// rateBucket is one family's current window.
type rateBucket struct {
	start time.Time
	used  int
}

// SetRateLimit sets the Management API limit of every endpoint family to
// limit calls per window, starting a fresh window. The defaults are Okta's
// per-minute limits (600 for /api/v1/users, 2000 for /api/v1/users/{id},
// 500 for /api/v1/groups…). Over the limit, calls answer 429 E0000047 until
// the time in X-Rate-Limit-Reset. It panics if limit < 1 or window < 1s.
func (s *Server) SetRateLimit(limit int, window time.Duration) {
	if limit < 1 || window < time.Second {
		panic("oktatest: SetRateLimit: limit must be positive and window at least a second")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.rate.limit, s.api.rate.window = limit, window
	clear(s.api.rate.buckets)
}

// BurstTooManyRequests makes the next n Management API calls answer
// 429 E0000047 with X-Rate-Limit-Remaining 0 and X-Rate-Limit-Reset at the
// end of the current window (at least a second ahead), as when another
// client of the org used up the quota. n = 0 cancels a pending burst.
func (s *Server) BurstTooManyRequests(n int) {
	if n < 0 {
		panic("oktatest: BurstTooManyRequests: negative n")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.rate.burst = n
}

// FailNextAPI makes the next n Management API calls (after rate limiting,
// before authentication) answer status, a 5xx, with Okta's error body
// E0000009. n = 0 cancels. It panics if status is not in 500…599.
func (s *Server) FailNextAPI(n int, status int) {
	if n < 0 || status < 500 || status > 599 {
		panic("oktatest: FailNextAPI: n must be >= 0 and status a 5xx")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.rate.failN, s.api.rate.failStatus = n, status
}

// FailLargePages makes list requests whose effective limit exceeds max
// answer 500 E0000009, as Okta does when a page is too heavy to build; a
// client should retry with a smaller limit. max = 0 turns it off.
func (s *Server) FailLargePages(max int) {
	if max < 0 {
		panic("oktatest: FailLargePages: negative max")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.rate.maxPage = max
}

// rateLimit counts a call of family, sets the X-Rate-Limit headers and
// returns the 429 error when the call is over the limit.
func (s *Server) rateLimit(w http.ResponseWriter, family string) *apiError {
	now := s.now()
	s.mu.Lock()
	rl := &s.api.rate
	limit, window := rl.limit, rl.window
	if limit == 0 {
		limit = defaultRateLimits[family]
	}
	if window == 0 {
		window = time.Minute
	}
	b := rl.buckets[family]
	if b == nil || !now.Before(b.start.Add(window)) {
		b = &rateBucket{start: now}
		rl.buckets[family] = b
	}
	b.used++
	burst := rl.burst > 0
	if burst {
		rl.burst--
	}
	used := b.used
	s.mu.Unlock()

	reset := b.start.Add(window)
	if burst && reset.Sub(now) < time.Second {
		reset = now.Add(time.Second)
	}
	remaining := max(limit-used, 0)
	if burst {
		remaining = 0
	}
	resetSecs := reset.Unix()
	if reset.Nanosecond() != 0 {
		resetSecs++ // round up: waiting until Reset must be enough
	}
	h := w.Header()
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(resetSecs, 10))
	if burst || used > limit {
		return apiErr(http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
	}
	return nil
}

// injectedFailure returns the error set up by FailNextAPI, if any.
func (s *Server) injectedFailure() *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	rl := &s.api.rate
	if rl.failN == 0 {
		return nil
	}
	rl.failN--
	return apiErr(rl.failStatus, "E0000009", "Internal Server Error")
}

// largePageFailure returns the error set up by FailLargePages for a list
// request with the given limit, if any.
func (s *Server) largePageFailure(limit int) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.api.rate.maxPage; m > 0 && limit > m {
		return apiErr(http.StatusInternalServerError, "E0000009", "Internal Server Error")
	}
	return nil
}
