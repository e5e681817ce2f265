package main

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// running is an app started by run.
type running struct {
	appURL, oktaURL string // oktaURL is empty outside dev mode
	out             *syncBuffer
	stop            func() error
}

// startRun runs the app with env until it logs the URL to open.
func startRun(t *testing.T, env map[string]string, args ...string) *running {
	t.Helper()
	env = maps.Clone(env)
	if env["OKTASSO_DEV_DIR"] == "" {
		env["OKTASSO_DEV_DIR"] = t.TempDir() // never the user's own folder
	}
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{out: new(syncBuffer)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, r.out) }()
	urlLine := regexp.MustCompile(`msg="workspace: listening; open the url in a browser" url=(\S+)/ `)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := urlLine.FindStringSubmatch(r.out.String()); m != nil {
			r.appURL = m[1]
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("run() returned early: %v\n%s", err, r.out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("run() logged no URL to open\n%s", r.out.String())
		}
	}
	if m := regexp.MustCompile(`fake Okta: (\S+)\n`).FindStringSubmatch(r.out.String()); m != nil {
		r.oktaURL = m[1]
	}
	stopped := false
	var result error
	r.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			result = <-done
		}
		return result
	}
	t.Cleanup(func() { r.stop() })
	return r
}

// formSignIn signs login in through the fake's sign-in form, as a person
// does, and returns the /api/me answer.
func formSignIn(t *testing.T, r *running, login, password string) map[string]any {
	t.Helper()
	b := newBrowser(t)
	form := b.get(r.appURL + "/auth/login?return_to=%2Fworkspace")
	field := func(name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(form.body)
		if m == nil {
			t.Fatalf("the sign-in form at %s has no %s\n%s", form.url, name, form.body)
		}
		return html.UnescapeString(m[1])
	}
	vals := url.Values{"fromURI": {field("fromURI")}, "token": {field("token")}, "username": {login}, "password": {password}}
	req := b.request(http.MethodPost, r.oktaURL+oktatest.SignInPath, strings.NewReader(vals.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if page := b.do(b.follow, req); page.status != http.StatusOK || !strings.HasSuffix(page.url, "/workspace") {
		t.Fatalf("signing %s in landed on %s with %d", login, page.url, page.status)
	}
	me := b.getStep(r.appURL+"/api/me", nil)
	var got map[string]any
	if err := json.Unmarshal([]byte(me.body), &got); err != nil || me.status != http.StatusOK {
		t.Fatalf("GET /api/me = %d %s", me.status, me.body)
	}
	return got
}

// TestRunDevModeStaysPut: two dev-mode runs on the same state folder are
// the same fake Okta org (issuer, keys, user ids), so the same person signs
// in to the same local account.
func TestRunDevModeStaysPut(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	env := map[string]string{"ADDR": "127.0.0.1:0", "OKTASSO_DEV_OKTA_ADDR": "127.0.0.1:0", "OKTASSO_DEV_DIR": state}
	first := startRun(t, env)
	me1 := formSignIn(t, first, "alice@example.com", "alice-password")
	keys1 := fetch(t, first.oktaURL+"/oauth2/v1/keys")
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}

	env["OKTASSO_DEV_OKTA_ADDR"] = strings.TrimPrefix(first.oktaURL, "http://")
	second := startRun(t, env)
	if second.oktaURL != first.oktaURL {
		t.Fatalf("the fake's issuer after a restart = %s; want %s", second.oktaURL, first.oktaURL)
	}
	if keys2 := fetch(t, second.oktaURL+"/oauth2/v1/keys"); keys2 != keys1 {
		t.Errorf("the fake's keys changed across a restart:\n%s\nwant\n%s", keys2, keys1)
	}
	me2 := formSignIn(t, second, "alice@example.com", "alice-password")
	if me1["sub"] == nil || me2["sub"] != me1["sub"] {
		t.Errorf("alice's subject after a restart = %v; want %v", me2["sub"], me1["sub"])
	}
	if err := second.stop(); err != nil {
		t.Fatal(err)
	}
	accounts, err := openAccountStore(filepath.Join(state, accountsFileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	if list := accounts.List(); len(list) != 1 || list[0].Logins != 2 || list[0].Email != "alice@example.com" {
		t.Errorf("accounts after two runs = %+v; want alice's one account with 2 sign-ins", list)
	}

	// -reset forgets the fake org and the accounts.
	third := startRun(t, env, "-reset")
	if me3 := formSignIn(t, third, "alice@example.com", "alice-password"); me3["sub"] == me1["sub"] {
		t.Errorf("alice's subject after -reset = %v; want a new one", me3["sub"])
	}
	third.stop()
	if accounts, err = openAccountStore(filepath.Join(state, accountsFileName), nil); err != nil || len(accounts.List()) != 1 || accounts.List()[0].Logins != 1 {
		t.Errorf("accounts after -reset and one sign-in = %+v, %v; want one new account", accounts.List(), err)
	}
}

func fetch(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRunPortTaken: a taken port stops the app with a message naming the
// setting to change.
func TestRunPortTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	for _, tc := range []struct {
		name, setting string
		env           map[string]string
	}{
		{"app", "ADDR (or -addr)", map[string]string{"ADDR": taken, "OKTASSO_DEV_OKTA_ADDR": "127.0.0.1:0"}},
		{"fake Okta", "OKTASSO_DEV_OKTA_ADDR (or -okta-addr)", map[string]string{"ADDR": "127.0.0.1:0", "OKTASSO_DEV_OKTA_ADDR": taken}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["OKTASSO_DEV_DIR"] = t.TempDir()
			var out syncBuffer
			err := run(t.Context(), nil, func(k string) string { return tc.env[k] }, &out)
			if err == nil || !strings.Contains(err.Error(), taken+" is already in use") || !strings.Contains(err.Error(), "set "+tc.setting) {
				t.Errorf("run() with %s on a taken port = %v; want a message naming %s", tc.name, err, tc.setting)
			}
		})
	}
}

// TestRunSamePort: the app and the fake Okta org on one port is refused
// before either listens, naming both settings.
func TestRunSamePort(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ADDR": "localhost:18082", "OKTASSO_DEV_OKTA_ADDR": "127.0.0.1:18082", "OKTASSO_DEV_DIR": t.TempDir()}
	err := run(t.Context(), nil, func(k string) string { return env[k] }, new(syncBuffer))
	if err == nil || !strings.Contains(err.Error(), "would share port 18082") || !strings.Contains(err.Error(), "ADDR") || !strings.Contains(err.Error(), "OKTASSO_DEV_OKTA_ADDR") {
		t.Errorf("run() with one port for both = %v; want an error naming ADDR and OKTASSO_DEV_OKTA_ADDR", err)
	}
}

// TestRunPartialConfiguration: any OKTA_* sign-in variable without enough
// to sign in stops the app naming what is missing; dev mode runs only
// with none of them, or when asked for.
func TestRunPartialConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    []string // in the error; nil: it starts
		wantDev bool
	}{
		{"client ID only", map[string]string{"OKTA_CLIENT_ID": "0oa1"}, []string{"OKTA_CLIENT_ID set", "OKTA_ISSUER (or OKTA_DOMAIN)", "OKTASSO_DEV=1"}, false},
		{"secret only", map[string]string{"OKTA_CLIENT_SECRET": "s"}, []string{"OKTA_ISSUER (or OKTA_DOMAIN)", "OKTA_CLIENT_ID: is empty"}, false},
		{"domain only", map[string]string{"OKTA_DOMAIN": "dev-123.okta.com"}, []string{"OKTA_CLIENT_ID: is empty"}, false},
		{"auth server only", map[string]string{"OKTA_AUTH_SERVER_ID": "default"}, []string{"OKTA_AUTH_SERVER_ID set", "no issuer"}, false},
		{"OAuth2 client ID only", map[string]string{"OKTA_OAUTH2_CLIENT_ID": "0oa1"}, []string{"OKTA_ISSUER (or OKTA_DOMAIN)"}, false},
		{"bad OKTASSO_DEV", map[string]string{"OKTASSO_DEV": "maybe"}, []string{"OKTASSO_DEV"}, false},
		{"none: dev mode", map[string]string{}, nil, true},
		{"asked for dev mode", map[string]string{"OKTA_CLIENT_ID": "0oa1", "OKTASSO_DEV": "1"}, nil, true},
		{"enough: real provider", map[string]string{"OKTA_DOMAIN": "dev-123.okta.invalid", "OKTA_CLIENT_ID": "0oa1", "OKTA_CLIENT_SECRET": "s"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := maps.Clone(tt.env)
			env["ADDR"], env["OKTASSO_DEV_OKTA_ADDR"], env["OKTASSO_DEV_DIR"] = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
			if tt.want != nil {
				err := run(t.Context(), nil, func(k string) string { return env[k] }, new(syncBuffer))
				for _, w := range tt.want {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("run() with %v = %v; want an error naming %q", tt.env, err, w)
					}
				}
				return
			}
			r := startRun(t, env)
			if dev := r.oktaURL != ""; dev != tt.wantDev {
				t.Errorf("run() with %v: dev mode %v; want %v\n%s", tt.env, dev, tt.wantDev, r.out.String())
			}
		})
	}
}

// TestRunBaseURLFollowsADDR: without OKTASSO_BASE_URL, the URL to open is
// http://ADDR, with a real provider as in dev mode; OKTASSO_BASE_URL wins.
func TestRunBaseURLFollowsADDR(t *testing.T) {
	t.Parallel()
	prod := map[string]string{"OKTA_DOMAIN": "dev-123.okta.invalid", "OKTA_CLIENT_ID": "0oa1", "OKTA_CLIENT_SECRET": "s", "ADDR": "127.0.0.1:0"}
	r := startRun(t, prod)
	if !strings.HasPrefix(r.appURL, "http://127.0.0.1:") || strings.HasSuffix(r.appURL, ":0") {
		t.Errorf("the URL to open with ADDR=127.0.0.1:0 = %s; want http://127.0.0.1:PORT", r.appURL)
	}
	prod["OKTASSO_BASE_URL"] = "https://app.example.com"
	if r := startRun(t, prod); r.appURL != "https://app.example.com" {
		t.Errorf("the URL to open with OKTASSO_BASE_URL = %s; want it", r.appURL)
	}
}

// TestRunUnresolvableDomain: a domain that does not resolve starts the app;
// the log has one line naming OKTA_DOMAIN and the fix, and the sign-in
// page says the address may be mistyped.
func TestRunUnresolvableDomain(t *testing.T) {
	t.Parallel()
	r := startRun(t, map[string]string{"OKTA_DOMAIN": "dev-123.okta.invalid", "OKTA_CLIENT_ID": "0oa1", "OKTA_CLIENT_SECRET": "s", "ADDR": "127.0.0.1:0", "OKTASSO_DEV_DIR": t.TempDir()})
	b := newBrowser(t)
	for range 2 {
		page := b.getStep(r.appURL+"/auth/login?return_to=%2Fworkspace", nil)
		if page.status != http.StatusServiceUnavailable || !strings.Contains(page.body, "may be mistyped") {
			t.Errorf("sign-in with an unresolvable OKTA_DOMAIN = %d\n%s\nwant 503 saying the domain may be mistyped", page.status, page.body)
		}
	}
	var lines []string
	for l := range strings.Lines(r.out.String()) {
		if strings.Contains(l, "unreachable") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "OKTA_DOMAIN") || !strings.Contains(lines[0], "does not resolve") {
		t.Errorf("log lines about the unreachable provider = %q; want one naming OKTA_DOMAIN", lines)
	}
}
