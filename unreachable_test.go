package oktasso

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedLog is a log destination safe for concurrent writes.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestUnreachableHost: an issuer whose host does not resolve (.invalid
// never does) lets New succeed; the first failure logs one line naming the
// settings and the likely fix, retries do not repeat it, and the 503 page
// tells the person it is a setup problem.
func TestUnreachableHost(t *testing.T) {
	var logs lockedLog
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	a, err := New(t.Context(), Config{
		Issuer:  "https://nosuch-org.invalid",
		BaseURL: "http://localhost:8080",
		Client:  ClientConfig{ID: "0oa1", Secret: "s"},
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		Now:     clock.Now,
	})
	if err != nil {
		t.Fatalf("New with an unresolvable issuer = %v; want the app to start", err)
	}
	h := a.Handler()
	for i := range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", loginPath, nil))
		body := rec.Body.String()
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(body, "does not exist on the network") || !strings.Contains(body, "may be mistyped") {
			t.Errorf("sign-in %d with an unresolvable issuer = %d\n%s\nwant 503 saying the address may be mistyped", i, rec.Code, body)
		}
		if strings.Contains(body, "nosuch-org") || strings.Contains(body, "no such host") {
			t.Errorf("the 503 page shows the error or the host:\n%s", body)
		}
		clock.Add(maxRetryBackoff) // the next request rediscovers
	}
	var lines []string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "nosuch-org") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("log lines about the provider = %d; want 1\n%s", len(lines), logs.String())
	}
	for _, want := range []string{"level=WARN", "OKTA_DOMAIN", "OKTA_ISSUER", "does not resolve", "typo", "-admin", "proxy"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("the log line lacks %q: %s", want, lines[0])
		}
	}
}

func TestUnreachableReason(t *testing.T) {
	notFound := &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}
	tests := []struct {
		name, issuer string
		err          error
		wantReason   string
		wantFix      []string
	}{
		{"typo", "https://dev-123.okat.com", fmt.Errorf("discovery: %w", notFound), "dev-123.okat.com does not resolve", []string{"OKTA_DOMAIN", "typo"}},
		{"admin host", "https://dev-123-admin.okta.invalid", notFound, "does not resolve", []string{"dev-123.okta.invalid", "-admin"}},
		{"refused", "https://dev-123.okta.com", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, "network", []string{"OKTA_DOMAIN", "HTTPS_PROXY"}},
		{"HTTP 404", "https://dev-123.okta.com/oauth2/nope", errors.New("discovery: HTTP 404"), "discovery at dev-123.okta.com failed", []string{"OKTA_ISSUER", "authorization server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, fix := unreachableReason(tt.issuer, tt.err)
			if !strings.Contains(reason, tt.wantReason) {
				t.Errorf("unreachableReason(%s) reason = %q; want %q in it", tt.issuer, reason, tt.wantReason)
			}
			for _, w := range tt.wantFix {
				if !strings.Contains(fix, w) {
					t.Errorf("unreachableReason(%s) fix = %q; want %q in it", tt.issuer, fix, w)
				}
			}
		})
	}
}
