package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// onInstance sends GET /workspace with the browser's cookies to instance i
// alone, bypassing the balancer, and returns the status.
func (c *cluster) onInstance(t *testing.T, i int, cl *http.Client) int {
	t.Helper()
	req := httptest.NewRequest("GET", c.app.URL+"/workspace", nil)
	req.Header.Set("Cookie", c.cookieHeader(cl))
	rec := httptest.NewRecorder()
	c.instances[i].Workspace(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(rec, req)
	return rec.Code
}

// uloToken is a Universal Logout token for the cluster's app, signed with
// the fake's org key.
func (c *cluster) uloToken() string {
	jti := make([]byte, 8)
	rand.Read(jti)
	now := c.clock().Unix()
	return c.fake.SignOrgToken(oktatest.Token{
		Header: map[string]any{"typ": "global-token-revocation+jwt"},
		Claims: map[string]any{"iss": c.fake.Issuer(), "aud": c.instances[0].UniversalLogoutURL(),
			"iat": now, "nbf": now, "exp": now + 300, "jti": hex.EncodeToString(jti)},
	})
}

// universalLogout sends a Universal Logout request for the user sub to
// instance i alone, with a new token.
func (c *cluster) universalLogout(t *testing.T, i int, sub string) int {
	t.Helper()
	return c.universalLogoutWith(t, i, sub, c.uloToken())
}

func (c *cluster) universalLogoutWith(t *testing.T, i int, sub, tok string) int {
	t.Helper()
	body := `{"sub_id":{"format":"iss_sub","iss":"` + c.fake.Issuer() + `","sub":"` + sub + `"}}`
	req := httptest.NewRequest("POST", c.instances[i].UniversalLogoutURL(), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	c.instances[i].Handler().ServeHTTP(rec, req)
	return rec.Code
}

// TestUniversalLogoutAcrossInstances: a Universal Logout request (or an
// EndSessions call) at instance A ends alice's session at instance B,
// which shares the Redis store; bob's stays.
func TestUniversalLogoutAcrossInstances(t *testing.T) {
	for _, tt := range []struct {
		name   string
		server bool
		viaGo  bool
	}{
		{"cookie sessions", false, false},
		{"server sessions", true, false},
		{"cookie sessions, EndSessions", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, func(cfg *oktasso.Config) {
				if tt.server {
					cfg.Session.Storage = oktasso.SessionInStore
				}
			})
			alice, bob := c.client(), c.client()
			c.fake.AutoLogin("alice@example.com")
			if status, _ := get(t, alice, c.app.URL+"/workspace"); status != http.StatusOK {
				t.Fatalf("alice's sign-in = %d; want 200", status)
			}
			c.fake.AutoLogin("bob@partner.example")
			get(t, bob, c.app.URL+"/workspace")
			for i := range 2 {
				if status := c.onInstance(t, i, alice); status != http.StatusOK {
					t.Fatalf("alice on instance %d before = %d; want 200", i, status)
				}
			}
			u, _ := c.fake.LookupUser("alice@example.com")
			// Instance B has a cached, checked session; A ends it.
			if tt.viaGo {
				if err := c.instances[0].EndSessions(context.Background(), c.fake.Issuer(), u.ID); err != nil {
					t.Fatal(err)
				}
			} else if status := c.universalLogout(t, 0, u.ID); status != http.StatusNoContent {
				t.Fatalf("Universal Logout at instance A = %d; want 204", status)
			}
			for i := range 2 {
				if status := c.onInstance(t, i, alice); status != http.StatusFound {
					t.Errorf("alice on instance %d after = %d; want 302 (signed out)", i, status)
				}
			}
			bobBefore := c.onInstance(t, 1, bob)
			if bobBefore == http.StatusFound {
				t.Errorf("bob on instance B after alice's logout = %d; want his session alive", bobBefore)
			}
		})
	}
}

// TestUniversalLogoutReplayAcrossInstances: a token spent at instance A
// is refused at instance B.
func TestUniversalLogoutReplayAcrossInstances(t *testing.T) {
	c := newCluster(t, nil)
	tok := c.uloToken()
	if status := c.universalLogoutWith(t, 0, "00unobody", tok); status != http.StatusNoContent {
		t.Fatalf("first use at instance A = %d; want 204", status)
	}
	if status := c.universalLogoutWith(t, 1, "00unobody", tok); status != http.StatusUnauthorized {
		t.Errorf("replay at instance B = %d; want 401", status)
	}
}

// TestGetMulti: one pipeline reads present and missing keys.
func TestGetMulti(t *testing.T) {
	s := New(startRedis(t), "gm:")
	ctx := context.Background()
	if err := s.Set(ctx, "a", []byte("1"), 60e9); err != nil {
		t.Fatal(err)
	}
	vals := make([][]byte, 3)
	if err := s.GetMulti(ctx, []string{"a", "missing", "a"}, vals); err != nil {
		t.Fatal(err)
	}
	if string(vals[0]) != "1" || vals[1] != nil || string(vals[2]) != "1" {
		t.Errorf("GetMulti = %q; want [1 <nil> 1]", vals)
	}
	if err := s.GetMulti(ctx, []string{"a"}, nil); err == nil {
		t.Error("GetMulti with fewer values than keys = nil error; want one")
	}
}
