package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/directory"
	"github.com/oktasso/oktasso/oktatest"
)

// testClock is a clock the fake org and the CLI share, moved by hand, so
// that runs are hours apart (outside the watermark's overlap).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncAt runs the CLI with the clock.
func syncAt(t *testing.T, clk *testClock, lookup func(string) (string, bool), args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return cliWith(t, func(a *app) { a.now = clk.Now }, lookup, append([]string{"sync"}, args...)...)
}

// endedIn returns the end_sessions lines of the --out file from line
// from on: id → issuer.
func endedIn(t *testing.T, path string, from int) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range lines(t, path)[from:] {
		if l["op"] == "end_sessions" {
			out[l["id"].(string)], _ = l["issuer"].(string)
		}
	}
	return out
}

func TestSyncCommandEndSessionsIssuer(t *testing.T) {
	clk := newTestClock()
	f := newSyncFakeAt(t, clk.Now)
	sus := f.srv.AddUser(oktatest.User{Login: "sus@example.com", Status: "SUSPENDED"})
	clk.Add(time.Hour)
	with := func(kv ...string) func(string) (string, bool) {
		base := []string{"OKTA_DOMAIN", f.srv.URL, "OKTA_API_TOKEN", "00-token"}
		return env(append(base, kv...)...)
	}
	tests := []struct {
		name   string
		env    func(string) (string, bool)
		args   []string
		issuer string // "": the run fails with err
		err    string
	}{
		{"the org server by default", with(), nil, f.srv.URL, ""},
		{"a custom server", with("OKTA_AUTH_SERVER_ID", "default"), nil, f.srv.URL + "/oauth2/default", ""},
		{"OKTA_ISSUER", with("OKTA_ISSUER", "https://id.example.com/oauth2/aus1/", "OKTA_AUTH_SERVER_ID", "default"), nil, "https://id.example.com/oauth2/aus1/", ""},
		{"OKTA_OAUTH2_ISSUER", with("OKTA_OAUTH2_ISSUER", "https://dev-1.okta.com/oauth2/default/"), nil, "https://dev-1.okta.com/oauth2/default", ""},
		{"--issuer wins", with("OKTA_ISSUER", "https://other.example"), []string{"--issuer", "https://dev-1.okta.com"}, "https://dev-1.okta.com", ""},
		{"an http issuer", with("OKTA_ISSUER", "http://id.example.com"), nil, "", "--end-sessions: \"http://id.example.com\" uses http"},
		{"a bad server id", with("OKTA_AUTH_SERVER_ID", "a/b"), nil, "", "--end-sessions: authorization server id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, state := f.path(tt.name+".jsonl"), f.path(tt.name+".json")
			_, stderr, code := syncAt(t, clk, tt.env, append([]string{"--out", out, "--state", state, "--end-sessions"}, tt.args...)...)
			if tt.issuer == "" {
				if code != exitFail || !strings.Contains(stderr, tt.err) {
					t.Errorf("sync = %d, %q; want 1 and %q", code, stderr, tt.err)
				}
				return
			}
			if code != exitOK {
				t.Fatalf("sync = %d: %s", code, stderr)
			}
			// The first run ends the sessions of the user already suspended.
			if got := endedIn(t, out, 0); len(got) != 1 || got[sus.ID] != tt.issuer {
				t.Errorf("end_sessions lines %v; want %s with issuer %s", got, sus.ID, tt.issuer)
			}
		})
	}
}

func TestSyncCommandEndSessions(t *testing.T) {
	clk := newTestClock()
	f := newSyncFakeAt(t, clk.Now)
	sus := f.srv.AddUser(oktatest.User{Login: "sus@example.com", Status: "SUSPENDED"})
	clk.Add(time.Hour)
	out, state := f.path("accounts.jsonl"), f.path("state.json")
	args := []string{"--out", out, "--state", state, "--end-sessions", "--page-size", "5"}
	stdout, stderr, code := syncAt(t, clk, f.env(), args...)
	if code != exitOK || !strings.Contains(stdout, "sessions: 1 users to sign out") {
		t.Fatalf("first run = %d\n%s\n%s", code, stdout, stderr)
	}
	if got := endedIn(t, out, 0); len(got) != 1 || got[sus.ID] != f.srv.URL {
		t.Fatalf("first run: end_sessions %v; want the suspended user's", got)
	}

	clk.Add(time.Hour)
	id := func(login string) string { u, _ := f.srv.LookupUser(login); return u.ID }
	suspended, deprovisioned, deleted, back := id("user1@generated.example"), id("user2@generated.example"), id("user3@generated.example"), id("user4@generated.example")
	f.srv.SetUserStatus(suspended, "SUSPENDED")
	f.srv.SetUserStatus(deprovisioned, "DEPROVISIONED")
	f.srv.DeleteUser(deleted)
	f.srv.SetUserStatus(back, "SUSPENDED")
	f.srv.SetUserStatus(back, "ACTIVE")
	f.srv.SetUserStatus(sus.ID, "ACTIVE")
	clk.Add(time.Hour)

	// The dry run plans them; the real run writes them, after the
	// deactivation for the deleted user.
	stdout, _, code = syncAt(t, clk, f.env(), "--dry-run", "--full", "--state", state, "--end-sessions")
	for _, want := range []string{"end sessions " + suspended + " (suspended)", "end sessions " + deprovisioned + " (deprovisioned)", "end sessions " + deleted + " (deleted)", "sessions: 3 users to sign out"} {
		if code != exitOK || !strings.Contains(stdout, want) {
			t.Errorf("dry run = %d; want %q in\n%s", code, want, stdout)
		}
	}
	before := len(lines(t, out))
	stdout, stderr, code = syncAt(t, clk, f.env(), append(args, "--full", "--json")...)
	var got struct{ Summary directory.Summary }
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != exitOK || got.Summary.SessionsEnded != 3 {
		t.Fatalf("second run = %d, %v, summary %+v; want 3 sessions ended\n%s", code, err, got.Summary, stderr)
	}
	want := map[string]string{suspended: f.srv.URL, deprovisioned: f.srv.URL, deleted: f.srv.URL}
	if ended := endedIn(t, out, before); !mapsEqual(ended, want) {
		t.Errorf("second run: end_sessions %v; want %v (not the reactivated users)", ended, want)
	}
	ls := lines(t, out)
	if last, prev := ls[len(ls)-1], ls[len(ls)-2]; last["op"] != "end_sessions" || last["id"] != deleted || prev["op"] != "deactivate_user" || prev["id"] != deleted {
		t.Errorf("last lines %v, %v; want the deleted user's deactivation, then the end of their sessions", prev, last)
	}

	// Nothing new: no line.
	clk.Add(time.Hour)
	before = len(lines(t, out))
	if _, stderr, code := syncAt(t, clk, f.env(), args...); code != exitOK || len(endedIn(t, out, before)) != 0 {
		t.Errorf("third run = %d (%s): end_sessions %v; want none", code, stderr, endedIn(t, out, before))
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// sessionEnder is the call the app applies the end_sessions lines with:
// oktasso.Auth's EndSessions.
type sessionEnder interface {
	EndSessions(ctx context.Context, issuer, subject string) error
}

// applyEndSessions is the app's side of --end-sessions: it reads the --out
// file and ends the sessions of each end_sessions line's user.
func applyEndSessions(ctx context.Context, path string, e sessionEnder) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ch directory.Change
		if err := json.Unmarshal(sc.Bytes(), &ch); err != nil {
			return n, err
		}
		if ch.Op != "end_sessions" {
			continue
		}
		if err := e.EndSessions(ctx, ch.Issuer, ch.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, sc.Err()
}

// markEnder is a fake of oktasso.Auth's EndSessions: a "not before" mark
// per user, which the fake app's guard checks.
type markEnder struct {
	mu    sync.Mutex
	marks map[string]bool // issuer + " " + subject
}

func (m *markEnder) EndSessions(_ context.Context, issuer, subject string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marks[issuer+" "+subject] = true
	return nil
}

func (m *markEnder) ended(issuer, subject string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.marks[issuer+" "+subject]
}

// TestSyncCommandEndSessionsEndToEnd signs a user in to an app, suspends
// them in Okta, runs "oktasso sync --end-sessions" and has the app apply
// the --out file: the user's next request is refused. The app ends
// sessions with oktasso.Auth's EndSessions when the Auth has it, else
// (until that method is merged) with a fake that marks the user the way
// it does and a guard that checks the mark.
func TestSyncCommandEndSessionsEndToEnd(t *testing.T) {
	clk := newTestClock()
	f := newSyncFakeAt(t, clk.Now)
	f.srv.AddGroup(oktatest.Group{Name: "Workspace Members"})
	alice := f.srv.AddUser(oktatest.User{Login: "alice@example.com", Groups: []string{"Workspace Members"}})
	f.srv.AutoLogin("alice@example.com")

	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	f.srv.AddClient(oktatest.Client{ID: "0oa-web", Secret: "web-secret", RedirectURIs: []string{base + oktasso.CallbackPath}})
	auth, err := oktasso.New(context.Background(), oktasso.Config{
		Issuer: f.srv.Issuer(), BaseURL: base, HTTPClient: f.srv.Client(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Client: oktasso.ClientConfig{ID: "0oa-web", Secret: "web-secret"},
		Access: oktasso.AccessConfig{Workspace: oktasso.RequireGroups("Workspace Members")},
	})
	if err != nil {
		t.Fatal(err)
	}
	ender, real := any(auth).(sessionEnder)
	if m, ok := reflect.TypeOf(auth).MethodByName("EndSessions"); ok && !real {
		t.Fatalf("(*oktasso.Auth).EndSessions is %v; want func(context.Context, string, string) error", m.Type)
	}
	fake := &markEnder{marks: map[string]bool{}}
	if !real {
		ender = fake
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/workspace", auth.Workspace(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := oktasso.UserFrom(r.Context())
		if !real && fake.ended(u.Issuer, u.Subject) {
			http.Error(w, "session ended", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "hello "+u.Email)
	})))
	app.Config.Handler = mux
	app.Start()
	t.Cleanup(app.Close)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	get := func() (int, string) {
		t.Helper()
		resp, err := browser.Get(app.URL + "/workspace")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusOK || body != "hello alice@example.com" {
		t.Fatalf("signed in: %d %q; want 200 and the greeting", code, body)
	}
	// Signed in, the browser no longer needs Okta: it must not sign in
	// again on its own after the session ends.
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	out, state := f.path("accounts.jsonl"), f.path("state.json")
	args := []string{"--out", out, "--state", state, "--end-sessions"}
	if _, stderr, code := syncAt(t, clk, env("OKTA_DOMAIN", f.srv.URL, "OKTA_API_TOKEN", "00-token"), args...); code != exitOK {
		t.Fatalf("first sync = %d: %s", code, stderr)
	}
	if n, err := applyEndSessions(context.Background(), out, ender); n != 0 || err != nil {
		t.Fatalf("the first sync asks to end %d users' sessions (%v); want none", n, err)
	}
	if code, _ := get(); code != http.StatusOK {
		t.Fatalf("after a sync that ends nothing: %d; want 200", code)
	}

	clk.Add(time.Hour)
	f.srv.SetUserStatus(alice.ID, "SUSPENDED")
	clk.Add(time.Hour)
	if _, stderr, code := syncAt(t, clk, env("OKTA_DOMAIN", f.srv.URL, "OKTA_API_TOKEN", "00-token"), args...); code != exitOK {
		t.Fatalf("second sync = %d: %s", code, stderr)
	}
	if n, err := applyEndSessions(context.Background(), out, ender); n != 1 || err != nil {
		t.Fatalf("applying --out ended %d users' sessions (%v); want alice's", n, err)
	}
	if code, body := get(); code == http.StatusOK {
		t.Errorf("after the sync, alice's session still works: %d %q", code, body)
	}
	if !real {
		t.Log("oktasso.Auth has no EndSessions method yet: the app used a fake")
	}
}
