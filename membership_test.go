package oktasso

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/oauth2"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasso/oktasso/audit"
	"github.com/oktasso/oktasso/oktatest"
)

// memberTable is an application's own member table, as RequireMember reads it.
type memberTable struct {
	mu      sync.Mutex
	members map[string]bool // by subject
	down    bool
	calls   int
}

func (m *memberTable) isMember(_ context.Context, u *User) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.down {
		return false, errors.New("member database unreachable")
	}
	return m.members[u.Subject], nil
}

func (m *memberTable) set(sub string, member, down bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.members[sub], m.down = member, down
}

// TestMemberRemovedTakesEffect signs a member in, removes them from the
// app's member table and checks the workspace refuses them once the
// decision is RecheckInterval old, not before, and not at the end of
// their session.
func TestMemberRemovedTakesEffect(t *testing.T) {
	table := &memberTable{members: map[string]bool{}}
	h := newHarness(t, func(c *Config) {
		c.Access.Workspace = RequireMember("", table.isMember) // the table decides
		c.Access.RecheckInterval = 10 * time.Minute
	})
	aliceID := lookupID(t, h, alice)
	table.set(aliceID, true, false)
	b := h.browser()
	h.login(b, alice, "/")
	steps := []struct {
		name    string
		do      func()
		advance time.Duration
		status  int
	}{
		{"member admitted", nil, 0, http.StatusOK},
		{"removed, decision still fresh", func() { table.set(aliceID, false, false) }, 5 * time.Minute, http.StatusOK},
		{"removed, decision due: refused", nil, 6 * time.Minute, http.StatusForbidden},
		{"still refused without a new check", nil, time.Minute, http.StatusForbidden},
		{"added back, due again: admitted", func() { table.set(aliceID, true, false) }, 10 * time.Minute, http.StatusOK},
		{"table down when due: 503, not a stale yes", func() { table.set(aliceID, true, true) }, 11 * time.Minute, http.StatusServiceUnavailable},
		{"table back: admitted", func() { table.set(aliceID, true, false) }, time.Second, http.StatusOK},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		h.clock.Add(st.advance)
		if r := b.get(h.app.URL + "/workspace"); r.status != st.status {
			t.Fatalf("%s: GET /workspace = %d %.200s; want %d", st.name, r.status, r.body, st.status)
		}
	}
	t.Run("checked at most once per interval", func(t *testing.T) {
		table.mu.Lock()
		before := table.calls
		table.mu.Unlock()
		for range 5 {
			b.get(h.app.URL + "/workspace")
		}
		table.mu.Lock()
		defer table.mu.Unlock()
		if table.calls != before {
			t.Fatalf("RequireMember ran %d more times within the interval; want 0", table.calls-before)
		}
	})
}

// apiGroups is a groups source (its UserGroups) reading the fake Okta's Management API with
// an SSWS token, following Link pagination.
type apiGroups struct {
	fake  *oktatest.Server
	token string
	fail  bool
	calls int
	mu    sync.Mutex
}

func (g *apiGroups) UserGroups(ctx context.Context, userID string) ([]string, error) {
	g.mu.Lock()
	g.calls++
	fail := g.fail
	g.mu.Unlock()
	if fail {
		return nil, errors.New("management API unreachable")
	}
	var names []string
	next := g.fake.URL + "/api/v1/users/" + userID + "/groups?limit=50"
	for next != "" {
		req, _ := http.NewRequestWithContext(ctx, "GET", next, nil)
		req.Header.Set("Authorization", "SSWS "+g.token)
		resp, err := g.fake.Client().Do(req)
		if err != nil {
			return nil, err
		}
		var page []struct {
			Profile struct{ Name string } `json:"profile"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return nil, errors.New("bad page")
		}
		for _, p := range page {
			names = append(names, p.Profile.Name)
		}
		next = ""
		for _, l := range resp.Header.Values("Link") {
			if strings.HasSuffix(l, `rel="next"`) {
				next = strings.Trim(strings.SplitN(l, ";", 2)[0], "<>")
			}
		}
	}
	return names, nil
}

// TestGroupsAtScale signs in a user in 150 groups: Okta fails the sign-in
// while the groups claim would carry them all, and GroupsSource supplies
// them when the claim is filtered away or ignored.
func TestGroupsAtScale(t *testing.T) {
	many := make([]string, 150)
	for i := range many {
		many[i] = "Team " + strings.Repeat("x", i%7) + string(rune('A'+i%26)) + string(rune('a'+i/26))
	}
	many[149] = "Release Managers"
	setup := func(t *testing.T, edit func(*Config), claim *oktatest.GroupsClaim) (*harness, *apiGroups) {
		var src *apiGroups
		h := newHarness(t, func(c *Config) {
			c.Scopes = []string{"openid", "profile", "email", "groups"}
			c.Session.Storage = SessionInStoreWhenLarge
			if edit != nil {
				edit(c)
			}
		})
		h.fake.AddUser(oktatest.User{Login: "carol@example.com", Password: "p", FirstName: "Carol", LastName: "C", Groups: append([]string{"Workspace Members"}, many...)})
		h.fake.AddAPIToken("ssws-test")
		src = &apiGroups{fake: h.fake, token: "ssws-test"}
		if claim != nil {
			h.fake.SetGroupsClaim("", *claim)
		}
		return h, src
	}

	t.Run("without a fallback Okta fails the sign-in", func(t *testing.T) {
		h, _ := setup(t, nil, nil)
		b := h.browser()
		if r := h.login(b, "carol@example.com", "/"); r.status < 400 {
			t.Fatalf("sign-in with 151 groups in the claim = %d; want a failure", r.status)
		}
	})
	for _, tc := range []struct {
		name   string
		ignore bool
		claim  *oktatest.GroupsClaim
	}{
		{"claim filtered away", false, &oktatest.GroupsClaim{Filter: "nothing-matches"}},
		{"claim ignored", true, &oktatest.GroupsClaim{Filter: "Workspace Members"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var src *apiGroups
			h, s := setup(t, func(c *Config) {
				c.Access.GroupsSource = nil
				c.Access.IgnoreGroupsClaim = tc.ignore
				c.Access.RecheckInterval = time.Minute
			}, tc.claim)
			src = s
			h.cfg.Access.GroupsSource = src.UserGroups
			h.restart()
			route := h.auth.Require(RequireGroups("Release Managers"))
			mux := *h.handler.Load()
			mux.Handle("/release", route(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("groups:" + string(rune('0'+len(UserFrom(r.Context()).Groups)/100))))
			})))
			b := h.browser()
			if r := h.login(b, "carol@example.com", "/"); r.status != http.StatusFound {
				t.Fatalf("sign-in = %d %.200s", r.status, r.body)
			}
			if r := b.get(h.app.URL + "/workspace"); r.status != 200 || r.header.Get("X-Groups") != "152" {
				t.Fatalf("GET /workspace = %d with %s groups; want 200 with 152 (Everyone included)", r.status, r.header.Get("X-Groups"))
			}
			if r := b.get(h.app.URL + "/release"); r.status != 200 {
				t.Fatalf("GET /release = %d %.200s; want 200 (group 150 from the API)", r.status, r.body)
			}
			calls := src.calls
			b.get(h.app.URL + "/release")
			if src.calls != calls {
				t.Fatalf("groups read again within the interval (%d calls)", src.calls-calls)
			}
			// Removed from the group at Okta: refused once the interval passes.
			g, _ := h.fake.LookupGroup("Release Managers")
			h.fake.RemoveMember(g.ID, lookupID(t, h, "carol@example.com"))
			h.clock.Add(2 * time.Minute)
			if r := b.get(h.app.URL + "/release"); r.status != http.StatusForbidden {
				gs, _ := src.UserGroups(context.Background(), lookupID(t, h, "carol@example.com"))
				t.Fatalf("after removal GET /release = %d (%d calls, API now has %d groups); want 403", r.status, src.calls, len(gs))
			}
			src.mu.Lock()
			src.fail = true
			src.mu.Unlock()
			h.clock.Add(2 * time.Minute)
			if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusServiceUnavailable {
				t.Fatalf("with the API down GET /workspace = %d; want 503", r.status)
			}
		})
	}
}

func lookupID(t *testing.T, h *harness, login string) string {
	t.Helper()
	u, ok := h.fake.LookupUser(login)
	if !ok {
		t.Fatalf("no user %s", login)
	}
	return u.ID
}

// TestOnLoginCannotDecideMembership: one mechanism decides membership, the
// Workspace policy; an Internal that OnLogin sets is not kept, at sign-in
// or at re-evaluation from the groups.
func TestOnLoginCannotDecideMembership(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Access.RecheckInterval = time.Minute
		c.Access.IgnoreGroupsClaim = true
		c.Hooks.OnLogin = func(_ context.Context, u *User, _ *oauth2.Token) error { u.Internal = false; return nil } // demoted by the app
	})
	h.fake.AddAPIToken("ssws-test")
	h.cfg.Access.GroupsSource = (&apiGroups{fake: h.fake, token: "ssws-test"}).UserGroups
	h.restart()
	b := h.browser()
	h.login(b, alice, "/")
	for i, advance := range []time.Duration{0, 2 * time.Minute} {
		h.clock.Add(advance)
		if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusOK {
			t.Fatalf("request %d: GET /workspace = %d %.200s; want 200 (the policy admits alice whatever OnLogin set)", i, r.status, r.body)
		}
	}
}

// TestRecheckDoesNotResurrectEndedSession: a stored session ended while
// its membership was being re-evaluated is not written back.
func TestRecheckDoesNotResurrectEndedSession(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	var block atomic.Bool
	h := newHarness(t, func(c *Config) {
		c.Session.Storage = SessionInStore
		c.Access.RecheckInterval = time.Minute
		c.Access.Workspace = RequireMember("", func(context.Context, *User) (bool, error) {
			if block.Load() {
				entered <- struct{}{}
				<-release
			}
			return true, nil
		})
	})
	b := h.browser()
	h.login(b, alice, "/")
	stolen := h.sessionCookie(b)
	h.clock.Add(2 * time.Minute)
	block.Store(true)
	done := make(chan result)
	go func() { done <- b.get(h.app.URL + "/workspace") }()
	<-entered
	var cs session
	if err := h.auth.cookies.openSessionValue(stolen.Name, stolen.Value, &cs); err != nil {
		t.Fatal(err)
	}
	if err := h.auth.endSessions(context.Background(), cs.ID); err != nil {
		t.Fatal(err)
	}
	block.Store(false)
	close(release)
	<-done
	replay := h.browser()
	app, _ := url.Parse(h.app.URL)
	replay.client.Jar.SetCookies(app, []*http.Cookie{stolen})
	if r := replay.get(h.app.URL + "/workspace"); r.status != http.StatusFound {
		t.Fatalf("replayed cookie of an ended session = %d; want 302 to sign in", r.status)
	}
}

// TestRecheckTrimsLargeCookieSessions: with hundreds of API groups in a
// cookie session, a re-evaluation keeps the groups policies name, records
// its time, and does not ask the source again on every request.
func TestRecheckTrimsLargeCookieSessions(t *testing.T) {
	var groups []string
	for i := range 400 {
		groups = append(groups, "Generated Team Number "+strconv.Itoa(i))
	}
	h := newHarness(t, func(c *Config) {
		c.Access.RecheckInterval = time.Minute
		c.Access.IgnoreGroupsClaim = true
	})
	h.fake.AddUser(oktatest.User{Login: "dan@example.com", Password: "p", Groups: append([]string{"Workspace Members"}, groups...)})
	h.fake.AddAPIToken("ssws-test")
	src := &apiGroups{fake: h.fake, token: "ssws-test"}
	h.cfg.Access.GroupsSource = src.UserGroups
	h.restart()
	b := h.browser()
	if r := h.login(b, "dan@example.com", "/"); r.status != http.StatusFound {
		t.Fatalf("sign-in = %d", r.status)
	}
	h.clock.Add(2 * time.Minute)
	for range 5 {
		if r := b.get(h.app.URL + "/workspace"); r.status != 200 {
			t.Fatalf("GET /workspace = %d; want 200", r.status)
		}
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.calls != 2 { // sign-in, one re-evaluation
		t.Fatalf("GroupsSource called %d times; want 2", src.calls)
	}
}

// fakeGroupsSource is an Access.GroupsSource that answers groups (or err)
// and counts its calls.
type fakeGroupsSource struct {
	mu     sync.Mutex
	groups []string
	err    error
	calls  int
}

func (f *fakeGroupsSource) UserGroups(_ context.Context, userID string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return slices.Clone(f.groups), f.err
}

func (f *fakeGroupsSource) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// TestTruncatedGroupsClaim: a groups claim as long as Okta's cap (100) may
// lack groups: with a GroupsSource the groups come from it, once per
// sign-in, and a failing source fails the sign-in; without one the claim
// is used with a warning.
func TestTruncatedGroupsClaim(t *testing.T) {
	fromAPI := []string{"Everyone", "Engineering", "Release Managers"}
	tests := []struct {
		name       string
		inClaim    int  // groups in the claim, Everyone included
		source     bool // Access.GroupsSource set
		sourceErr  error
		wantStatus int // at the callback
		wantCalls  int
		wantGroups int // the session's
		wantEvent  string
		wantReason audit.Reason
	}{
		{"99 in the claim with a source", 99, true, nil, http.StatusFound, 0, 99, audit.EventLogin, audit.ReasonOK},
		{"100 in the claim with a source", 100, true, nil, http.StatusFound, 1, len(fromAPI), audit.EventLogin, audit.ReasonOK},
		{"150 in the claim with a source", 150, true, nil, http.StatusFound, 1, len(fromAPI), audit.EventLogin, audit.ReasonOK},
		{"100 in the claim without a source", 100, false, nil, http.StatusFound, 0, 100, audit.EventLogin, audit.ReasonGroupsTruncated},
		{"99 in the claim without a source", 99, false, nil, http.StatusFound, 0, 99, audit.EventLogin, audit.ReasonOK},
		{"100 in the claim, the source fails", 100, true, errors.New("management API down"), http.StatusServiceUnavailable, 1, 0, audit.EventLoginFailed, audit.ReasonMembershipUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &auditLog{}
			src := &fakeGroupsSource{groups: fromAPI, err: tt.sourceErr}
			h := newHarness(t, func(c *Config) {
				c.Logger = slog.New(slog.NewJSONHandler(log, nil))
				c.Hooks.OnEvent = log.onEvent
				c.Session.Storage = SessionInStoreWhenLarge
				if tt.source {
					c.Access.GroupsSource = src.UserGroups
				}
			})
			h.fake.SetGroupsClaimLimit(0) // the fake sends them all; Okta would cut or fail
			groups := make([]string, tt.inClaim-1)
			for i := range groups {
				groups[i] = fmt.Sprintf("team-%03d", i)
			}
			h.fake.AddUser(oktatest.User{Login: "carol@example.com", Password: "p", Groups: groups})
			route := h.auth.Require(RequireGroups("Release Managers"))
			mux := *h.handler.Load()
			mux.Handle("/release", route(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))

			b := h.browser()
			r := h.login(b, "carol@example.com", "/webapp")
			if r.status != tt.wantStatus {
				t.Fatalf("callback = %d %.300s; want %d", r.status, r.body, tt.wantStatus)
			}
			if got := src.count(); got != tt.wantCalls {
				t.Errorf("GroupsSource called %d times; want %d", got, tt.wantCalls)
			}
			recs := log.records(t)
			if len(recs) != 1 || recs[0]["event"] != tt.wantEvent || recs[0]["reason"] != string(tt.wantReason) {
				t.Fatalf("audit = %v; want one %s/%s", recs, tt.wantEvent, tt.wantReason)
			}
			if tt.wantReason == audit.ReasonGroupsTruncated && (recs[0]["level"] != "WARN" || !strings.Contains(recs[0]["err"].(string), "Access.GroupsSource")) {
				t.Errorf("truncation note = %v; want a warning pointing at Access.GroupsSource", recs[0])
			}
			if tt.wantStatus != http.StatusFound {
				if h.sessionCookie(b) != nil || !strings.Contains(r.body, "Try again in a moment") {
					t.Errorf("failed sign-in left a session or an unclear page: %.300s", r.body)
				}
				return
			}
			if r := b.get(h.app.URL + "/webapp"); r.header.Get("X-Groups") != strconv.Itoa(tt.wantGroups) {
				t.Errorf("session groups = %s; want %d", r.header.Get("X-Groups"), tt.wantGroups)
			}
			wantRelease := http.StatusForbidden
			if tt.wantCalls > 0 {
				wantRelease = http.StatusOK
			}
			if r := b.get(h.app.URL + "/release"); r.status != wantRelease {
				t.Errorf("GET /release = %d; want %d", r.status, wantRelease)
			}
		})
	}
}

// TestGroupsClaimNameFromMapping: with a plain OAuth 2.0 provider whose
// groups are at Mapping.Groups, that claim (not "groups") decides whether
// the GroupsSource is asked, and a long one counts as truncated.
func TestGroupsClaimNameFromMapping(t *testing.T) {
	hundred := make([]any, 100)
	for i := range hundred {
		hundred[i] = fmt.Sprintf("team-%03d", i)
	}
	tests := []struct {
		name       string
		mapping    string
		userinfo   map[string]any
		wantCalls  int
		wantGroups int
	}{
		{"the configured claim", "org.teams", map[string]any{"org": map[string]any{"teams": []any{"Eng", "Ops"}}}, 0, 2},
		{"only a claim called groups", "org.teams", map[string]any{"groups": []any{"Eng"}}, 1, 2},
		{"the configured claim, truncated", "org.teams", map[string]any{"org": map[string]any{"teams": hundred}}, 1, 2},
		{"groups not read", "-", map[string]any{"groups": []any{"Eng"}}, 1, 2},
		{"default name", "", map[string]any{"groups": []any{"Eng", "Ops", "QA"}}, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeGroupsSource{groups: []string{"from-api-1", "from-api-2"}}
			h := newOAuth2Harness(t, nil)
			h.cfg.OAuth2.Mapping.Groups = tt.mapping
			h.cfg.Access.GroupsSource = src.UserGroups
			h.restart()
			h.fake.MutateUserInfo(func(c map[string]any) { maps.Copy(c, tt.userinfo) })
			b := h.browser()
			h.fake.AutoLogin(alice)
			r := b.chase(b.get(h.app.URL+loginPath+"?return_to=/webapp"), 2)
			if r.status != http.StatusFound || r.location != h.app.URL+"/webapp" {
				t.Fatalf("sign-in = %d to %q %.200s", r.status, r.location, r.body)
			}
			if got := src.count(); got != tt.wantCalls {
				t.Errorf("GroupsSource called %d times; want %d", got, tt.wantCalls)
			}
			if r := b.get(h.app.URL + "/webapp"); r.header.Get("X-Groups") != strconv.Itoa(tt.wantGroups) {
				t.Errorf("groups = %s; want %d", r.header.Get("X-Groups"), tt.wantGroups)
			}
		})
	}
}
