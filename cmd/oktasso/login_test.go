package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// loginRun is `oktasso login` running in the background.
type loginRun struct {
	mu     sync.Mutex
	out    bytes.Buffer // stdout so far
	errOut bytes.Buffer
	url    chan string // the printed sign-in URL
	code   chan int    // the exit code
}

func (r *loginRun) stdout() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// startLogin runs login with args and the environment of kv, reading its
// stdout through a pipe as a terminal would.
func startLogin(t testing.TB, kv []string, args ...string) *loginRun {
	t.Helper()
	r := &loginRun{url: make(chan string, 1), code: make(chan int, 1)}
	pr, pw := io.Pipe()
	a := newApp(env(kv...), pw, lockedWriter{&r.mu, &r.errOut})
	a.open = func(string) error { t.Error("login opened a browser despite --no-browser"); return nil }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	go func() {
		code := a.main(ctx, append([]string{"login"}, args...))
		pw.Close()
		r.code <- code
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l := sc.Text()
			r.mu.Lock()
			r.out.WriteString(l + "\n")
			r.mu.Unlock()
			if u := strings.TrimSpace(l); strings.HasPrefix(u, "http") && strings.Contains(u, "/auth/login?") {
				r.url <- u
			}
		}
	}()
	return r
}

// wait returns login's exit code and output.
func (r *loginRun) wait(t testing.TB) (code int, stdout, stderr string) {
	t.Helper()
	select {
	case code = <-r.code:
	case <-time.After(20 * time.Second):
		t.Fatalf("login did not end; output so far:\n%s", r.stdout())
	}
	// The reader goroutine ends with the pipe; give it a moment to flush.
	time.Sleep(10 * time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	return code, r.out.String(), r.errOut.String()
}

// signInURL waits for the printed sign-in URL.
func (r *loginRun) signInURL(t testing.TB) string {
	t.Helper()
	select {
	case u := <-r.url:
		return u
	case code := <-r.code:
		r.code <- code
		t.Fatalf("login ended with %d before printing a URL:\n%s%s", code, r.stdout(), r.errOut.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("login printed no sign-in URL:\n%s", r.stdout())
	}
	return ""
}

// browse follows the sign-in URL like a browser with a cookie jar.
func browse(t testing.TB, u string) (*http.Response, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// registerFor adds the app to the fake with the redirect URIs of the base
// URL that the sign-in URL uses.
func registerFor(t testing.TB, srv *oktatest.Server, signIn string, assigned []string) {
	t.Helper()
	u, err := url.Parse(signIn)
	if err != nil {
		t.Fatal(err)
	}
	base := u.Scheme + "://" + u.Host
	srv.AddClient(oktatest.Client{
		ID: testClientID, Secret: testSecret,
		RedirectURIs:  []string{base + "/auth/callback"},
		AssignedUsers: assigned,
	})
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name       string
		issuerVar  string // default OKTA_ISSUER
		issuer     func(*oktatest.Server) string
		secret     string // default testSecret
		extraEnv   []string
		args       []string
		login      string
		assigned   []string
		wantCode   int
		wantOut    []string
		notOut     []string
		wantErr    string
		wantTokens bool
	}{
		{
			name:     "internal member on the org server",
			issuer:   (*oktatest.Server).Issuer,
			extraEnv: []string{"OKTASSO_WORKSPACE_GROUPS", "Workspace Members"},
			login:    "alice@example.com",
			wantCode: exitOK,
			wantOut: []string{
				"Signed in as Alice Example <alice@example.com>",
				"ID token claims (verified):", `"email": "alice@example.com"`, `"groups": [`,
				"Userinfo:", `"sub": "`,
				"✓ email: alice@example.com", "✓ email_verified: true",
				`✓ groups: "Everyone", "Workspace Members", "Engineering"`,
				`✓ workspace: internal member (matched "Workspace Members" of OKTASSO_WORKSPACE_GROUPS)`,
			},
			notOut: []string{"eyJ", testSecret},
		},
		{
			name:       "show tokens",
			issuer:     (*oktatest.Server).Issuer,
			extraEnv:   []string{"OKTASSO_WORKSPACE_GROUPS", "Workspace Members"},
			args:       []string{"--show-tokens"},
			login:      "bob@partner.example",
			wantCode:   exitOK,
			wantOut:    []string{"✓ email: bob@partner.example", "external user (none of OKTASSO_WORKSPACE_GROUPS", "ID token:      eyJ", "Access token:  "},
			wantTokens: true,
		},
		{
			name:     "no groups claim from the custom server",
			issuer:   func(s *oktatest.Server) string { return s.CustomIssuer("default") },
			extraEnv: []string{"OKTASSO_BASE_URL", "https://app.example.com", "OKTASSO_SESSION_KEYS", "not base64!"},
			login:    "alice@example.com",
			wantCode: exitFail,
			wantOut: []string{
				"OKTASSO_BASE_URL is not a loopback URL",
				"✓ email: alice@example.com",
				"✗ groups: no groups claim", "Groups on the custom authorization server",
			},
			notOut: []string{"eyJ"},
		},
		{
			name:      "custom server pasted into OKTA_DOMAIN",
			issuerVar: "OKTA_DOMAIN",
			issuer:    func(s *oktatest.Server) string { return s.URL + "/oauth2/default/" },
			login:     "alice@example.com",
			wantCode:  exitFail, // no groups claim
			wantOut:   []string{"Signed in as Alice Example", "/oauth2/default)", "✓ email: alice@example.com"},
		},
		{
			name:     "wrong secret",
			issuer:   (*oktatest.Server).Issuer,
			secret:   "wrong",
			login:    "alice@example.com",
			wantCode: exitFail,
			wantErr:  "sign-in failed: invalid_client: The client secret supplied for a confidential client is invalid. — fix: the client ID or secret is wrong; run oktasso check",
		},
		{
			name:     "user not assigned",
			issuer:   (*oktatest.Server).Issuer,
			login:    "alice@example.com",
			assigned: []string{},
			wantCode: exitFail,
			wantErr:  "assign the user to the app",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			srv.AutoLogin(tt.login)
			issuerVar, secret := cmp.Or(tt.issuerVar, "OKTA_ISSUER"), cmp.Or(tt.secret, testSecret)
			kv := append([]string{issuerVar, tt.issuer(srv), "OKTA_CLIENT_ID", testClientID, "OKTA_CLIENT_SECRET", secret}, tt.extraEnv...)
			r := startLogin(t, kv, append([]string{"--no-browser", "--listen", "127.0.0.1:0"}, tt.args...)...)
			u := r.signInURL(t)
			registerFor(t, srv, u, tt.assigned)
			resp, body := browse(t, u)
			if tt.wantCode == exitOK && (resp.StatusCode != http.StatusOK || !strings.Contains(body, "you can close this tab")) {
				t.Errorf("the browser ended at %s with %d %q; want the signed-in page", resp.Request.URL, resp.StatusCode, body)
			}
			code, out, errOut := r.wait(t)
			if code != tt.wantCode {
				t.Errorf("login = exit %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(out, s) {
					t.Errorf("login output lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.notOut {
				if strings.Contains(out+errOut, s) {
					t.Errorf("login output contains %q:\n%s", s, out)
				}
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("login stderr = %q; want it to contain %q", errOut, tt.wantErr)
			}
			if tt.wantErr != "" && strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Errorf("login stderr = %q; want one line", errOut)
			}
		})
	}
}

func TestLoginTimeout(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	r := startLogin(t, []string{"OKTA_ISSUER", srv.Issuer(), "OKTA_CLIENT_ID", testClientID}, "--no-browser", "--listen", "127.0.0.1:0", "--timeout", "200ms")
	code, _, errOut := r.wait(t)
	if code != exitFail || !strings.Contains(errOut, "no sign-in within 200ms") {
		t.Errorf("login with nobody signing in = %d, %q; want %d and a timeout message", code, errOut, exitFail)
	}
}

func TestLoginUsage(t *testing.T) {
	srv := newFake(t)
	tests := []struct {
		name    string
		kv      []string
		args    []string
		wantErr string
	}{
		{name: "wrong issuer", kv: []string{"OKTA_ISSUER", srv.URL + "/oauth2/nope", "OKTA_CLIENT_ID", "x"}, args: []string{"--no-browser", "--listen", "127.0.0.1:0"}, wantErr: "HTTP 404 — fix: run oktasso check"},
		{name: "no configuration", args: []string{"--no-browser"}, wantErr: "OKTA_CLIENT_ID: is empty — fix: copy the Client ID"},
		{name: "non-loopback base URL", kv: []string{"OKTA_DOMAIN", "dev-123.okta.com", "OKTA_CLIENT_ID", "x"}, args: []string{"--base-url", "https://app.example.com"}, wantErr: "is not an http URL on a loopback host — fix:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errOut, code := cli(t, env(tt.kv...), append([]string{"login"}, tt.args...)...)
			if code != exitFail || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("login %q = %d, %q; want %d and %q", tt.args, code, errOut, exitFail, tt.wantErr)
			}
		})
	}
}
