package oktasso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso/audit"
)

// TestAccessPolicies: who may enter is decided by the three Access
// policies alone. The zero Workspace policy admits nobody, the zero
// SignIn and WebApp policies everyone, and a SignIn refusal other than an
// email domain is audited as not_allowed.
func TestAccessPolicies(t *testing.T) {
	tests := []struct {
		name                     string
		access                   AccessConfig
		user                     string
		callback                 int // status of the callback
		reason                   audit.Reason
		workspace, webapp, ident int
	}{
		{"zero policies: nobody is a member", AccessConfig{}, alice, http.StatusFound, audit.ReasonOK, http.StatusForbidden, http.StatusOK, http.StatusOK},
		{"workspace by groups", AccessConfig{Workspace: RequireGroups("Workspace Members")}, alice, http.StatusFound, audit.ReasonOK, http.StatusOK, http.StatusOK, http.StatusOK},
		{"external user", AccessConfig{Workspace: RequireGroups("Workspace Members")}, bob, http.StatusFound, audit.ReasonOK, http.StatusForbidden, http.StatusOK, http.StatusOK},
		{"webapp limited", AccessConfig{WebApp: RequireGroups("Workspace Members")}, bob, http.StatusFound, audit.ReasonOK, http.StatusForbidden, http.StatusForbidden, http.StatusOK},
		{"sign-in by email domain", AccessConfig{SignIn: RequireEmailDomains("example.org")}, alice, http.StatusForbidden, audit.ReasonEmailDomain, http.StatusFound, http.StatusFound, http.StatusOK},
		{"sign-in by a function", AccessConfig{SignIn: RequireFunc("a paid plan", func(*http.Request, *User) bool { return false })}, alice, http.StatusForbidden, audit.ReasonNotAllowed, http.StatusFound, http.StatusFound, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []audit.Event
			h := newHarness(t, func(c *Config) {
				c.Access = tt.access
				c.Hooks.OnEvent = func(e audit.Event) {
					if e.Name == audit.EventLogin || e.Name == audit.EventLoginRefused {
						events = append(events, e)
					}
				}
			})
			b := h.browser()
			r := h.login(b, tt.user, "/")
			if r.status != tt.callback {
				t.Fatalf("callback = %d %.200s; want %d", r.status, r.body, tt.callback)
			}
			if len(events) != 1 || events[0].Reason != tt.reason {
				t.Errorf("events = %+v; want one with reason %s", events, tt.reason)
			}
			for _, c := range []struct {
				path string
				want int
			}{{"/workspace", tt.workspace}, {"/webapp", tt.webapp}, {"/", tt.ident}} {
				if got := b.get(h.app.URL + c.path); got.status != c.want {
					t.Errorf("GET %s = %d; want %d", c.path, got.status, c.want)
				}
			}
		})
	}
}

// TestRequireMemberCache: a RequireMember answer is kept RecheckInterval
// (not asked again on every request), a failing lookup fails closed with
// 503 and is not kept, and the cache stays within its bound.
func TestRequireMemberCache(t *testing.T) {
	calls := 0
	var fail error
	h := newHarness(t, func(c *Config) {
		c.Access.RecheckInterval = time.Minute
		c.Access.Workspace = RequireMember("", func(context.Context, *User) (bool, error) {
			calls++
			return true, fail
		})
	})
	b := h.browser()
	h.login(b, alice, "/")
	if calls != 1 {
		t.Fatalf("sign-in asked %d times; want 1", calls)
	}
	for i := 0; i < 3; i++ {
		if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusOK {
			t.Fatalf("GET /workspace = %d; want 200", r.status)
		}
	}
	if calls != 1 {
		t.Errorf("three requests within the interval asked %d more times; want 0", calls-1)
	}
	h.clock.Add(2 * time.Minute)
	fail = errors.New("member table down")
	if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusServiceUnavailable {
		t.Errorf("GET /workspace with the lookup failing = %d; want 503", r.status)
	}
	fail = nil
	if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusOK {
		t.Errorf("GET /workspace after the lookup recovered = %d; want 200", r.status)
	}

	c := newMemberCache(time.Minute, h.clock.Now)
	c.max = 10
	leaf := &memberLeaf{isMember: func(context.Context, *User) (bool, error) { return true, nil }}
	r, _ := http.NewRequest("GET", "/", nil)
	for i := 0; i < 100; i++ {
		if _, err := c.lookup(leaf, r, &User{Issuer: "https://iss", Subject: fmt.Sprint("00u", i)}, false); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.m); n > c.max {
		t.Errorf("member cache holds %d answers; want at most %d", n, c.max)
	}
}

// TestWorkspaceRefusalDetail: a not_member page names a requirement only
// when it says more than "workspace members only".
func TestWorkspaceRefusalDetail(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Access.Workspace = AllOf(RequireGroups("Everyone"), RequireClaim("department", "R&D"))
	})
	b := h.browser()
	h.login(b, alice, "/")
	r := b.get(h.app.URL + "/workspace")
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "department") {
		t.Errorf("GET /workspace = %d %.300s; want 403 naming the department attribute", r.status, r.body)
	}
}
