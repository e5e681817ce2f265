package redisstore

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/audit"
)

// rotationRounds is how many refreshes each case of
// TestRefreshRotationAcrossInstances makes: enough for a race between the
// two instances to show (before the fix, about one round in fifteen made a
// second token request).
const rotationRounds = 50

// TestRefreshRotationAcrossInstances: the fake Okta rotates refresh tokens
// (its default, as for new Okta apps) and revokes the whole token family
// when a rotated refresh token is presented after the grace period, which
// Okta lets an admin set to 0. Two instances sharing Redis refresh one
// session concurrently, round after round: each refresh must make exactly
// one token request across both instances, leave every instance and every
// older cookie of the session on the newest tokens, and keep the user
// signed in, whatever the grace period.
func TestRefreshRotationAcrossInstances(t *testing.T) {
	tests := []struct {
		name   string
		server bool          // SessionInStore
		grace  time.Duration // -1: the fake's default (30 s)
	}{
		{"cookie sessions, default grace period", false, -1},
		{"server sessions, default grace period", true, -1},
		{"cookie sessions, grace period 0", false, 0},
		{"server sessions, grace period 0", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var refreshed, failed atomic.Int64
			c := newCluster(t, func(cfg *oktasso.Config) {
				cfg.Scopes = []string{"openid", "email", "groups", "offline_access"}
				cfg.Session.KeepAccessToken = true
				cfg.Session.MaxAge = 72 * time.Hour // outlasts the rounds (57 minutes each)
				if tt.server {
					cfg.Session.Storage = oktasso.SessionInStore
				}
				cfg.Hooks.OnEvent = func(ev audit.Event) {
					switch ev.Name {
					case audit.EventRefresh:
						refreshed.Add(1)
					case audit.EventRefreshFailed:
						failed.Add(1)
					}
				}
			})
			c.fake.RotateRefreshTokens(true) // the default; said here because the test is about it
			if tt.grace >= 0 {
				c.fake.SetRefreshGracePeriod(tt.grace)
			}
			c.fake.AutoLogin("alice@example.com")
			signedIn := c.client()
			if status, _ := get(t, signedIn, c.app.URL+"/workspace"); status != http.StatusOK {
				t.Fatalf("sign-in = %d", status)
			}
			signedIn.CheckRedirect = noRedirect // from now on, a redirect would mean "signed out"

			doubles := 0
			for round := 1; round <= rotationRounds; round++ {
				c.now.Add(int64(56 * time.Minute)) // the access token is due for a refresh
				stale := c.cookieHeader(signedIn)  // the session as it was before this refresh
				before := c.fake.TokenRequests()
				var wg sync.WaitGroup
				statuses := make([]int, 20)
				for i := range statuses { // both instances, at once, with the same cookies
					wg.Go(func() {
						req, _ := http.NewRequest("GET", c.app.URL+"/workspace", nil)
						resp, err := signedIn.Do(req)
						if err != nil {
							t.Error(err)
							return
						}
						resp.Body.Close()
						statuses[i] = resp.StatusCode
					})
				}
				wg.Wait()
				for i, s := range statuses {
					if s != http.StatusOK {
						t.Fatalf("round %d: concurrent request %d = %d; want 200 (still signed in)", round, i, s)
					}
				}
				if n := c.fake.TokenRequests() - before; n != 1 {
					t.Errorf("round %d: %d token requests for one session on two instances; want exactly 1", round, n)
					doubles++
				}

				// Past the grace period, the newest cookie and the one from
				// before the refresh work on each instance without another
				// token request: a second redemption of the old refresh token
				// would now revoke the family.
				c.now.Add(int64(45 * time.Second))
				before = c.fake.TokenRequests()
				for i := range 4 { // each instance twice
					if status, _ := get(t, signedIn, c.app.URL+"/workspace"); status != http.StatusOK {
						t.Fatalf("round %d: request %d after the grace period = %d; want 200", round, i, status)
					}
					if status, _ := get(t, noJar(), c.app.URL+"/workspace", "Cookie", stale); status != http.StatusOK {
						t.Fatalf("round %d: request %d with the cookie from before the refresh = %d; want 200", round, i, status)
					}
				}
				if n := c.fake.TokenRequests() - before; n != 0 {
					t.Errorf("round %d: %d token requests after the refresh; want 0 (the refreshed session is not due)", round, n)
				}
			}
			if doubles > 0 {
				t.Errorf("%d of %d rounds made more than one token request", doubles, rotationRounds)
			}
			if failed.Load() != 0 || refreshed.Load() != rotationRounds {
				t.Errorf("audit: %d refresh, %d refresh_failed; want %d refreshes and no failure (a reused refresh token would revoke the family)", refreshed.Load(), failed.Load(), rotationRounds)
			}
		})
	}
}

// noJar is a client without cookies of its own that does not follow
// redirects: a copy of a cookie, replayed.
func noJar() *http.Client {
	return &http.Client{CheckRedirect: noRedirect, Timeout: 10 * time.Second}
}
