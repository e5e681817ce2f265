package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/directory"
	"github.com/oktasso/oktasso/oktatest"
)

const testAPIToken = "00-test-api-token"

// suspendInOkta suspends login through the fake's Management API, as an
// admin (or a script) does.
func suspendInOkta(t testing.TB, fake *oktatest.Server, login string) {
	t.Helper()
	u, ok := fake.LookupUser(login)
	if !ok {
		t.Fatalf("no user %s in the fake", login)
	}
	req, err := http.NewRequest(http.MethodPost, fake.URL+"/api/v1/users/"+u.ID+"/lifecycle/suspend", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "SSWS "+testAPIToken)
	req.Header.Set("Accept", "application/json")
	resp, err := fake.Client().Do(req)
	if err != nil {
		t.Fatalf("suspending %s: %v", login, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST …/lifecycle/suspend = %d; want 200", resp.StatusCode)
	}
}

// startAppNoUniversalLogout starts the app against fake with a client
// registered WITHOUT a Universal Logout endpoint: nothing but the directory
// sync can tell the app that someone was suspended. It returns the app
// and its sync, which the test runs.
func startAppNoUniversalLogout(t *testing.T, fake *oktatest.Server) (*env, *dirSync) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	baseURL := "http://" + srv.Listener.Addr().String()
	fake.AddClient(oktatest.Client{
		ID: "no-ulo", Secret: "no-ulo-secret",
		RedirectURIs:           []string{baseURL + oktasso.CallbackPath},
		PostLogoutRedirectURIs: []string{baseURL + "/auth/logout/callback"},
	})
	cfg := devConfig(fake, baseURL, oktatest.DevInfo{OrgIssuer: fake.Issuer(), ClientID: "no-ulo", ClientSecret: "no-ulo-secret"})
	cfg.Logger = slog.New(slog.DiscardHandler)
	accounts := newAccountStore(nil)
	h, auth, err := newApp(t.Context(), appConfig{OIDC: cfg, Accounts: accounts})
	if err != nil {
		t.Fatalf("newApp() error = %v", err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)

	ds, err := newDirSync(syncSettings{
		Client:    directory.Config{OrgURL: fake.URL, APIToken: testAPIToken, HTTPClient: fake.Client()},
		Interval:  time.Minute,
		StateFile: filepath.Join(t.TempDir(), syncStateFile),
	}, auth, accounts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("newDirSync() error = %v", err)
	}
	return &env{fake: fake, app: srv, auth: auth, accounts: accounts}, ds
}

// TestDirectorySyncEndsSessions: alice is suspended in Okta and no
// Universal Logout request reaches the app; after one sync run her next
// request is refused, and bob's session still works.
func TestDirectorySyncEndsSessions(t *testing.T) {
	t.Parallel()
	fake := startFake(t)
	fake.AddAPIToken(testAPIToken)
	e, ds := startAppNoUniversalLogout(t, fake)

	alice, bob := newBrowser(t), newBrowser(t)
	wantLanding(t, alice.signIn(e, "alice@example.com", "/workspace"), e.app.URL+"/workspace", "alice@example.com")
	wantLanding(t, bob.signIn(e, "bob@partner.example", "/webapp"), e.app.URL+"/webapp", "bob@partner.example")

	sum, err := ds.runOnce(t.Context())
	if err != nil || !sum.Full || sum.SessionsEnded != 0 || sum.Users != 2 {
		t.Fatalf("first sync = full %v, users %d, sessions ended %d, %v; want a full run of 2 users ending none", sum.Full, sum.Users, sum.SessionsEnded, err)
	}

	suspendInOkta(t, fake, "alice@example.com")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if got, err := fake.UniversalLogoutDeliveries(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Universal Logout deliveries = %d, %v; want none (the client has no endpoint)", len(got), err)
	}
	if r := alice.getStep(e.app.URL+"/workspace", nil); r.status != http.StatusOK {
		t.Fatalf("alice before the sync: GET /workspace = %d; want 200 (nothing told the app yet)", r.status)
	}

	sum, err = ds.runOnce(t.Context())
	if err != nil || sum.Full || sum.SessionsEnded != 1 || sum.Suspended != 1 {
		t.Fatalf("second sync = full %v, suspended %d, sessions ended %d, %v; want an incremental run ending alice's", sum.Full, sum.Suspended, sum.SessionsEnded, err)
	}
	wantLoginRedirect(t, e, alice.getStep(e.app.URL+"/workspace", nil), "/workspace")
	if r := bob.getStep(e.app.URL+"/webapp", nil); r.status != http.StatusOK || !strings.Contains(r.body, "bob@partner.example") {
		t.Errorf("bob after the sync: GET /webapp = %d; want 200 with his page", r.status)
	}
	if a := accountFor(t, e, "alice@example.com"); a.OktaStatus != directory.StatusSuspended {
		t.Errorf("alice's account OktaStatus = %q; want %q", a.OktaStatus, directory.StatusSuspended)
	}
	if a := accountFor(t, e, "bob@partner.example"); a.OktaStatus != "" {
		t.Errorf("bob's account OktaStatus = %q; want empty (active)", a.OktaStatus)
	}
	if r := alice.getStep(e.app.URL+"/", nil); strings.Contains(r.body, "alice@example.com") {
		t.Errorf("the landing page still shows alice signed in after the sync")
	}

	// A further run may end alice's again (the 5-minute overlap reads her
	// once more), which must leave bob signed in.
	if _, err := ds.runOnce(t.Context()); err != nil {
		t.Fatalf("third sync: %v", err)
	}
	if r := bob.getStep(e.app.URL+"/webapp", nil); r.status != http.StatusOK {
		t.Errorf("bob after the third sync: GET /webapp = %d; want 200", r.status)
	}
}

// TestDirectorySyncLoop: the loop logs a failing run without the token,
// runs again after the interval, and stops with its context.
func TestDirectorySyncLoop(t *testing.T) {
	t.Parallel()
	fake := startFake(t)
	e := startApp(t, fake)
	const secret = "00-not-a-token-the-fake-knows"
	var out syncBuffer
	ds, err := newDirSync(syncSettings{
		Client:    directory.Config{OrgURL: fake.URL, APIToken: secret, HTTPClient: fake.Client()},
		StateFile: filepath.Join(t.TempDir(), "sub", syncStateFile),
	}, e.auth, e.accounts, slog.New(slog.NewTextHandler(&out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); ds.loop(ctx, time.Millisecond) }()
	failures := func() int { return strings.Count(out.String(), "directory sync failed") }
	for deadline := time.Now().Add(20 * time.Second); failures() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the loop logged %d failures; want at least 2\n%s", failures(), out.String())
		}
	}
	cancel()
	<-done // the loop stops with its context (the test times out otherwise)
	if strings.Contains(out.String(), secret) {
		t.Errorf("the sync's log shows the API token:\n%s", out.String())
	}
}

// TestRunDevModeSyncs: dev mode syncs the fake org in the background with
// the service app it registered, into the state folder, and stops the
// sync at shutdown.
func TestRunDevModeSyncs(t *testing.T) {
	dir := t.TempDir()
	r := startRun(t, map[string]string{"ADDR": "127.0.0.1:0", "OKTASSO_DEV_OKTA_ADDR": "127.0.0.1:0", "OKTASSO_DEV_DIR": dir, envSyncInterval: "5ms"})
	runs := regexp.MustCompile(`msg="workspace: directory sync" full=\w+ users=2 `)
	for deadline := time.Now().Add(20 * time.Second); len(runs.FindAllString(r.out.String(), -1)) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("dev mode logged fewer than 2 sync runs of 2 users\n%s", r.out.String())
		}
	}
	if err := r.stop(); err != nil {
		t.Fatalf("run() = %v", err)
	}
	if strings.Contains(r.out.String(), "directory sync failed") {
		t.Errorf("a sync failed:\n%s", r.out.String())
	}
	st, err := directory.FileState(filepath.Join(dir, syncStateFile)).Load(t.Context())
	if err != nil || len(st.Users) != 2 || st.SessionsWatermark.IsZero() {
		t.Errorf("sync state = %d users, sessions watermark %v, %v; want 2 users and a watermark", len(st.Users), st.SessionsWatermark, err)
	}
}

// TestRunSyncInterval: OKTASSO_SYNC_INTERVAL must be a duration; 0 turns
// the sync off.
func TestRunSyncInterval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", defaultSyncInterval, false},
		{"0", 0, false},
		{"30s", 30 * time.Second, false},
		{"soon", 0, true},
		{"-1m", 0, true},
	}
	for _, tt := range tests {
		got, err := syncInterval(func(k string) string {
			if k == envSyncInterval {
				return tt.value
			}
			return ""
		})
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("syncInterval(%q) = %v, %v; want %v, error %v", tt.value, got, err, tt.want, tt.wantErr)
		}
	}
	dir := t.TempDir()
	err := run(t.Context(), nil, func(k string) string {
		return map[string]string{"ADDR": "127.0.0.1:0", "OKTASSO_DEV_DIR": dir, envSyncInterval: "soon"}[k]
	}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), envSyncInterval) {
		t.Errorf("run() with %s=soon = %v; want an error naming it", envSyncInterval, err)
	}
	if _, err := os.Stat(filepath.Join(dir, syncStateFile)); err == nil {
		t.Errorf("a refused start wrote the sync state")
	}
}

// TestRealSync: with a real org the sync runs only with Management API
// credentials.
func TestRealSync(t *testing.T) {
	t.Parallel()
	const issuer = "https://dev-123.okta.com/oauth2/default"
	tests := []struct {
		name     string
		env      map[string]string
		interval time.Duration
		wantOn   bool
		wantOrg  string
		wantErr  string
	}{
		{name: "no credentials", env: map[string]string{"OKTA_CLIENT_ID": "0oaweb", "OKTA_PRIVATE_KEY": "k"}},
		{name: "api token", env: map[string]string{envAPIToken: "tok"}, wantOn: true, wantOrg: "https://dev-123.okta.com"},
		{name: "api token, domain", env: map[string]string{envAPIToken: "tok", "OKTA_DOMAIN": "other.okta.com"}, wantOn: true, wantOrg: "other.okta.com"},
		{name: "off", env: map[string]string{envAPIToken: "tok"}, interval: -1},
		{name: "service app", env: map[string]string{envSyncClientID: "0oasvc", envPrivateKey: "pem", envPrivateKeyID: "kid"}, wantOn: true, wantOrg: "https://dev-123.okta.com"},
		{name: "service app without key", env: map[string]string{envSyncClientID: "0oasvc"}, wantErr: envPrivateKey},
		{name: "key is the web app's", env: map[string]string{envSyncClientID: "0oasvc", envPrivateKey: "pem", "OKTA_CLIENT_AUTH_METHOD": "private_key_jwt"}, wantErr: envAPIToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			interval := time.Minute
			if tt.interval < 0 {
				interval = 0
			}
			got, err := realSync(func(k string) string { return tt.env[k] }, interval, issuer, "/state")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("realSync() error = %v; want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("realSync() error = %v", err)
			}
			if on := got.Interval > 0; on != tt.wantOn {
				t.Fatalf("realSync() on = %v; want %v", on, tt.wantOn)
			}
			if tt.wantOn && (got.Client.OrgURL != tt.wantOrg || got.StateFile != filepath.Join("/state", syncStateFile)) {
				t.Errorf("realSync() org %q, state %q; want %q, %q", got.Client.OrgURL, got.StateFile, tt.wantOrg, filepath.Join("/state", syncStateFile))
			}
		})
	}
}
