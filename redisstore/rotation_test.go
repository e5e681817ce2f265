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

// TestRefreshRotationAcrossInstances: the fake Okta rotates refresh tokens
// (its default, as for new Okta apps) with a 30 s grace period and revokes
// the whole token family when a rotated refresh token is presented after
// it. Two instances sharing Redis refresh one session concurrently; the
// library's single-flight refresh must leave every instance with the
// newest refresh token, so that the user stays signed in through the next
// refresh, long after the grace period, with no refresh refused.
func TestRefreshRotationAcrossInstances(t *testing.T) {
	for _, server := range []bool{false, true} {
		t.Run(map[bool]string{false: "cookie sessions", true: "server sessions"}[server], func(t *testing.T) {
			var refreshed, failed atomic.Int64
			c := newCluster(t, func(cfg *oktasso.Config) {
				cfg.Scopes = []string{"openid", "email", "groups", "offline_access"}
				cfg.Session.KeepAccessToken = true
				if server {
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
			c.fake.AutoLogin("alice@example.com")
			signedIn := c.client()
			if status, _ := get(t, signedIn, c.app.URL+"/workspace"); status != http.StatusOK {
				t.Fatalf("sign-in = %d", status)
			}
			signedIn.CheckRedirect = noRedirect // from now on, a redirect would mean "signed out"

			for round := 1; round <= 2; round++ {
				c.now.Add(int64(56 * time.Minute)) // the access token is due for a refresh
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
				// One refresh for the session; a second can slip in (a request
				// that read the session before the first one was stored), and
				// the grace period absorbs it.
				if n := c.fake.TokenRequests() - before; n == 0 || n > 2 {
					t.Errorf("round %d: %d token requests for one session on two instances; want 1 (single flight), 2 at worst", round, n)
				} else if n > 1 {
					t.Logf("round %d: %d token requests (the second within the grace period)", round, n)
				}
				c.now.Add(int64(45 * time.Second)) // past the fake's 30 s grace period
				for i := range 4 {                 // each instance twice
					if status, _ := get(t, signedIn, c.app.URL+"/workspace"); status != http.StatusOK {
						t.Fatalf("round %d: request %d after the grace period = %d; want 200", round, i, status)
					}
				}
			}
			if failed.Load() != 0 || refreshed.Load() == 0 {
				t.Errorf("audit: %d refresh, %d refresh_failed; want refreshes and no failure (a reused refresh token would revoke the family)", refreshed.Load(), failed.Load())
			}
		})
	}
}
