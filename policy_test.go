package oktasso

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/oktasso/oktasso/oktatest"
)

func TestPolicyFailed(t *testing.T) {
	alice := &User{Email: "alice@example.com", EmailVerified: true, Groups: []string{"Eng", "Admins"},
		Claims: map[string]any{"department": "R&D", "roles": []any{"editor", "viewer"}, "level": float64(3), "active": true}}
	unverified := &User{Email: "eve@example.com", Groups: []string{"Eng"}}
	r := httptest.NewRequest("GET", "/x", nil)
	paid := RequireFunc("a paid plan", func(_ *http.Request, u *User) bool { return slices.Contains(u.Groups, "Paid") })
	tests := []struct {
		name string
		p    Policy
		u    *User
		want string // "" admitted, else the failed requirement
	}{
		{"zero policy", Policy{}, alice, ""},
		{"any group, in one", RequireGroups("Sales", "Eng"), alice, ""},
		{"any group, in none", RequireGroups("Sales"), alice, "membership in a required group"},
		{"group names are exact", RequireGroups("eng", "Eng "), alice, "membership in a required group"},
		{"all groups, all", AllOf(RequireGroups("Eng"), RequireGroups("Admins")), alice, ""},
		{"all groups, one missing", AllOf(RequireGroups("Eng"), RequireGroups("Sales")), alice, "membership in a required group"},
		{"domain exact", RequireEmailDomains("example.com"), alice, ""},
		{"domain case and @", RequireEmailDomains("@EXAMPLE.com"), alice, ""},
		{"no suffix trick", RequireEmailDomains("ample.com"), alice, "an email address in an allowed domain"},
		{"no parent-domain trick", RequireEmailDomains("com"), alice, "an email address in an allowed domain"},
		{"domain needs verified email", RequireEmailDomains("example.com"), unverified, "an email address in an allowed domain"},
		{"verified", RequireEmailVerified(), alice, ""},
		{"not verified", RequireEmailVerified(), unverified, "a verified email address"},
		{"claim equal", RequireClaim("department", "R&D"), alice, ""},
		{"claim differs", RequireClaim("department", "Sales"), alice, `the "department" attribute with a required value`},
		{"claim list contains", RequireClaim("roles", "editor"), alice, ""},
		{"claim list lacks", RequireClaim("roles", "admin"), alice, `the "roles" attribute with a required value`},
		{"claim number", RequireClaim("level", "3"), alice, ""},
		{"claim bool", RequireClaim("active", "true"), alice, ""},
		{"claim absent", RequireClaim("department", "R&D"), unverified, `the "department" attribute with a required value`},
		{"kept claim form", RequireClaim("roles", "viewer"), &User{Claims: map[string]any{"roles": []string{"viewer"}}}, ""},
		{"custom predicate refuses", paid, alice, "a paid plan"},
		{"all of: first failure reported", AllOf(RequireGroups("Eng"), RequireEmailVerified(), paid), unverified, "a verified email address"},
		{"all of: admitted", AllOf(RequireGroups("Eng"), RequireClaim("department", "R&D")), alice, ""},
		{"any of: one is enough", AnyOf(paid, RequireGroups("Admins")), alice, ""},
		{"any of: none", AnyOf(paid, RequireGroups("Sales")), alice, "one of: a paid plan; membership in a required group"},
		{"nested", AllOf(RequireEmailVerified(), AnyOf(RequireGroups("Sales"), RequireClaim("roles", "editor"))), alice, ""},
		{"empty any of admits nobody", AnyOf(), alice, "a requirement of this page"},
		{"empty all of admits", AllOf(), alice, ""},
		{"unnamed predicate still refuses", RequireFunc("", func(*http.Request, *User) bool { return false }), alice, "a requirement of this page"},
		{"unnamed refusal inside all of", AllOf(RequireFunc("", func(*http.Request, *User) bool { return false })), alice, "a requirement of this page"},
		{"nil predicate refuses", RequireFunc("x", nil), alice, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.failed(r, tt.u); got != tt.want {
				t.Fatalf("failed() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestPolicyCollectsClaimsAndGroups(t *testing.T) {
	p := AllOf(RequireClaim("department", "x"), AnyOf(RequireGroups("A"), AllOf(RequireGroups("B"), RequireGroups("C"))), RequireClaim("tier", "gold"))
	if got := strings.Join(p.claims, ","); got != "department,tier" {
		t.Errorf("claims = %q; want department,tier", got)
	}
	if got := strings.Join(p.groups, ","); got != "A,B,C" {
		t.Errorf("groups = %q; want A,B,C", got)
	}
}

// TestPoliciesEndToEnd signs in through the fake Okta and applies scope
// and route policies, for browsers and API clients.
func TestPoliciesEndToEnd(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Access.WebApp = RequireEmailVerified()
		c.Access.Workspace = AllOf(c.Access.Workspace, RequireClaim("department", "R&D"))
	})
	h.fake.MutateIDToken(func(tok *oktatest.Token) {
		if tok.Claims["preferred_username"] == alice {
			tok.Claims["department"] = "R&D"
		}
	})
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := UserFrom(r.Context())
		io.WriteString(w, "ok:"+u.Email)
	})
	mux := *h.handler.Load()
	mux.Handle("/admin", h.auth.Workspace(h.auth.Require(RequireGroups("Engineering"))(show)))
	mux.Handle("/partners", h.auth.Require(AnyOf(RequireGroups("Partners"), RequireEmailDomains("partner.example")))(show))
	mux.Handle("/eng-only", h.auth.Require(RequireGroups("Engineering"))(show))

	ab, bb := h.browser(), h.browser()
	h.login(ab, alice, "/")
	h.login(bb, bob, "/")
	tests := []struct {
		name    string
		b       *browser
		path    string
		api     bool
		status  int
		contain string
	}{
		{"claim policy admits alice to the workspace", ab, "/workspace", false, 200, "user:" + alice},
		{"scope + route policy", ab, "/admin", false, 200, "ok:" + alice},
		{"route policy alone", ab, "/eng-only", false, 200, "ok:" + alice},
		{"route policy refuses bob, naming the requirement", bb, "/eng-only", false, 403, "This page requires membership in a required group."},
		{"route policy refuses bob as JSON", bb, "/eng-only", true, 403, `"requirement":"membership in a required group"`},
		{"any-of admits bob", bb, "/partners", false, 200, "ok:" + bob},
		{"any-of refuses alice", ab, "/partners", false, 403, "This page requires one of: membership in a required group; an email address in an allowed domain."},
		{"webapp policy admits verified bob", bb, "/webapp", false, 200, "user:" + bob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.api {
				hdr = []string{"Accept", "application/json"}
			}
			r := tt.b.get(h.app.URL+tt.path, hdr...)
			if r.status != tt.status || !strings.Contains(r.body, tt.contain) {
				t.Fatalf("GET %s = %d %.400s; want %d containing %q", tt.path, r.status, r.body, tt.status, tt.contain)
			}
			if tt.status == 403 && strings.Contains(r.body, "Engineering") {
				t.Errorf("the refusal leaks the required group's name: %.300s", r.body)
			}
		})
	}

	t.Run("anonymous is sent to sign in by Require", func(t *testing.T) {
		r := h.browser().get(h.app.URL + "/eng-only")
		if r.status != http.StatusFound || !strings.Contains(r.location, loginPath) {
			t.Fatalf("GET /eng-only = %d to %q; want 302 to sign in", r.status, r.location)
		}
	})
	t.Run("a user without the claim is refused the workspace", func(t *testing.T) {
		h.fake.MutateIDToken(nil)
		b := h.browser()
		h.login(b, alice, "/")
		r := b.get(h.app.URL+"/workspace", "Accept", "application/json")
		var body map[string]string
		json.Unmarshal([]byte(r.body), &body)
		if r.status != 403 || body["requirement"] != `the "department" attribute with a required value` {
			t.Fatalf("GET /workspace = %d %s; want 403 naming the department attribute", r.status, r.body)
		}
	})
}

func TestKeptClaimsAreBounded(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Session.Claims = []string{"big", "many", "absent"} })
	many := make([]any, 100)
	for i := range many {
		many[i] = "v"
	}
	kept := h.auth.keptClaims(map[string]any{"big": strings.Repeat("x", 300), "many": many, "other": "y"})
	if len(kept["big"]) != 0 || len(kept["many"]) != maxKeptClaimValues {
		t.Fatalf("kept = big %d values, many %d; want 0 and %d", len(kept["big"]), len(kept["many"]), maxKeptClaimValues)
	}
	if _, ok := kept["other"]; ok {
		t.Fatal("kept a claim nobody asked for")
	}
	if _, ok := kept["absent"]; ok {
		t.Fatal("kept an absent claim")
	}
}

// TestRequireInsideUnenforcedScope: a scope that is not enforced hides a
// user it would refuse from the handler; a Require or RequireStepUp inside
// must not bring them back, nor send anonymous requests to sign in.
func TestRequireInsideUnenforcedScope(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Access.SkipEnforceWorkspace = true })
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := UserFrom(r.Context()); u != nil {
			io.WriteString(w, "user:"+u.Email)
			return
		}
		io.WriteString(w, "anonymous")
	})
	mux := *h.handler.Load()
	mux.Handle("/ws-policy", h.auth.Workspace(h.auth.Require(RequireEmailVerified())(show)))
	mux.Handle("/ws-stepup", h.auth.Workspace(h.auth.RequireStepUp()(show)))
	bobB := h.browser()
	h.login(bobB, bob, "/")
	aliceB := h.browser()
	h.login(aliceB, alice, "/")
	for _, path := range []string{"/ws-policy", "/ws-stepup"} {
		for _, tc := range []struct {
			name string
			b    *browser
			want string
		}{
			{"refused user stays hidden", bobB, "anonymous"},
			{"anonymous passes", h.browser(), "anonymous"},
			{"member seen", aliceB, "user:" + alice},
		} {
			if r := tc.b.get(h.app.URL + path); r.status != 200 || r.body != tc.want {
				t.Errorf("%s %s: GET = %d %q; want 200 %q", path, tc.name, r.status, r.body, tc.want)
			}
		}
	}
}

// TestRequireAloneAppliesEmailDomains: on its own, Require applies the
// email-domain rule every scope applies.
func TestRequireAloneAppliesEmailDomains(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Access.SignIn = RequireEmailDomains("example.com") })
	mux := *h.handler.Load()
	mux.Handle("/alone", h.auth.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "in") })))
	b := h.browser()
	h.fake.AutoLogin(bob)
	h.login(b, bob, "/") // refused at sign-in: no session
	if r := b.get(h.app.URL + "/alone"); r.status != http.StatusFound {
		t.Fatalf("GET /alone without a session = %d; want 302", r.status)
	}
	a := h.browser()
	h.login(a, alice, "/")
	if r := a.get(h.app.URL + "/alone"); r.status != 200 || r.body != "in" {
		t.Fatalf("alice GET /alone = %d %q", r.status, r.body)
	}
}
