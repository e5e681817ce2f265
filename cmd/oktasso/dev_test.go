package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader in two
// goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestDev(t *testing.T) {
	var out, errOut lockedBuffer
	a := newApp(env(), &out, &errOut)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- a.main(ctx, []string{"dev", "--addr", "127.0.0.1:0", "--state", t.TempDir(), "--client-secret", "s3cret",
			"--redirect-uri", "http://localhost:3000/auth/callback", "--redirect-uri", "http://127.0.0.1:3000/auth/callback"})
	}()
	envLine := regexp.MustCompile(`(?m)^OKTA_ISSUER=(http://127\.0\.0\.1:[0-9]+)$`)
	var issuer string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := envLine.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "Serving until") {
			issuer = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("dev returned %d early\n%s\n%s", code, out.String(), errOut.String())
		default:
		}
	}
	if issuer == "" {
		t.Fatalf("dev printed no OKTA_ISSUER line\n%s\n%s", out.String(), errOut.String())
	}
	for _, want := range []string{
		"\nOKTA_CLIENT_ID=oktasso-dev\n",
		"\nOKTA_CLIENT_SECRET=s3cret\n",
		"\nOKTASSO_BASE_URL=http://localhost:3000\n",
		"issuer (custom default): " + issuer + "/oauth2/default\n",
		"sign-in redirect URI:    http://localhost:3000/auth/callback\n",
		"sign-in redirect URI:    http://127.0.0.1:3000/auth/callback\n",
		"sign-out redirect URI:   http://localhost:3000/auth/logout/callback\n",
		"alice@example.com / alice-password",
		"bob@partner.example / bob-password",
		"two-factor code:         123456",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dev output lacks %q\n%s", want, out.String())
		}
	}
	if errOut.String() != "" {
		t.Errorf("dev wrote to stderr: %q", errOut.String())
	}

	// It serves discovery, and the registered app can start a sign-in.
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || doc.Issuer != issuer {
		t.Errorf("discovery = %d issuer %q (%v); want 200 and %s", resp.StatusCode, doc.Issuer, err, issuer)
	}
	resp, err = http.Get(issuer + "/oauth2/v1/authorize?client_id=oktasso-dev&response_type=code&scope=openid&state=s&redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fauth%2Fcallback")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasSuffix(resp.Request.URL.Path, "/login/signin") {
		t.Errorf("authorize for the dev client = %d at %s; want the sign-in form", resp.StatusCode, resp.Request.URL)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("dev after cancel = %d; want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dev did not stop on cancel")
	}
	if _, err := http.Get(issuer + "/.well-known/openid-configuration"); err == nil {
		t.Error("the fake still serves after dev stopped")
	}
}

func TestDevUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"bad redirect URI", []string{"dev", "--redirect-uri", "/auth/callback"}, exitUsage, "not an absolute http(s) URI — fix: write the whole URL"},
		{"unknown flag", []string{"dev", "--port", "1"}, exitUsage, "flag provided but not defined"},
		{"bad address", []string{"dev", "--state", t.TempDir(), "--addr", "256.0.0.1:1"}, exitFail, "oktasso dev: --addr 256.0.0.1:1: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := cli(t, env(), tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("%v = %d %q; want %d and %q", tt.args, code, errOut, tt.wantCode, tt.wantErr)
			}
		})
	}
	out, _, code := cli(t, env(), "help", "dev")
	if code != exitOK || !strings.Contains(out, "--redirect-uri") || !strings.Contains(out, "123456") {
		t.Errorf("help dev = %d\n%s", code, out)
	}
	if out, _, _ := cli(t, env(), "help"); !strings.Contains(out, "  dev ") {
		t.Errorf("help does not list dev\n%s", out)
	}
}

func TestDevUsersFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dir.json")
	if err := os.WriteFile(path, []byte(`{"users":[{"login":"carol@example.com","password":"carol-pw","groups":["Eng"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- newApp(env(), &out, &errOut).main(ctx, []string{"dev", "--addr", "127.0.0.1:0", "--state", t.TempDir(), "--users", path})
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "Serving until") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if !strings.Contains(out.String(), "carol@example.com / carol-pw [Eng]") || strings.Contains(out.String(), "alice@example.com") {
		t.Errorf("dev --users output: want carol and no demo users\n%s%s", out.String(), errOut.String())
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"users":[{"nope":1}]}`), 0o600)
	_, stderr, code := cli(t, env(), "dev", "--addr", "127.0.0.1:0", "--state", t.TempDir(), "--users", bad)
	if code != exitFail || !strings.Contains(stderr, "--users") {
		t.Errorf("dev --users BAD = %d %q; want 1 and the error", code, stderr)
	}
}

// startDev runs "oktasso dev" with args until it serves, and returns its
// output and a function that stops it and returns its exit code.
func startDev(t *testing.T, args ...string) (out *lockedBuffer, stop func() int) {
	t.Helper()
	out = new(lockedBuffer)
	var errOut lockedBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- newApp(env(), out, &errOut).main(ctx, append([]string{"dev"}, args...)) }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "Serving until"); time.Sleep(10 * time.Millisecond) {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("dev %v returned %d early\n%s\n%s", args, code, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("dev %v did not start\n%s\n%s", args, out.String(), errOut.String())
		}
	}
	stopped := false
	stop = func() int {
		if stopped {
			return exitOK
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	return out, stop
}

// devLine returns the value of the line "NAME=value" of dev's output.
func devLine(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `=(.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("dev printed no %s line\n%s", name, out)
	}
	return m[1]
}

func TestDevStaysPut(t *testing.T) {
	state := t.TempDir()
	out1, stop := startDev(t, "--addr", "127.0.0.1:0", "--state", state)
	issuer, first := devLine(t, out1.String(), "OKTA_ISSUER"), out1.String()
	if code := stop(); code != exitOK {
		t.Fatalf("dev stop = %d", code)
	}
	addr := strings.TrimPrefix(issuer, "http://")
	out2, _ := startDev(t, "--addr", addr, "--state", state)
	if out2.String() != first {
		t.Errorf("a restart on %s with the same state printed something else:\n%s\nwant\n%s", addr, out2.String(), first)
	}
	// The port is now taken: the message names the flag.
	_, stderr, code := cli(t, env(), "dev", "--addr", addr, "--state", t.TempDir())
	if code != exitFail || !strings.Contains(stderr, addr+" is already in use") || !strings.Contains(stderr, "— fix:") || !strings.Contains(stderr, "--addr") {
		t.Errorf("dev on a taken port = %d %q; want 1 and a message naming --addr", code, stderr)
	}
}

func TestDevReset(t *testing.T) {
	state := t.TempDir()
	out1, stop := startDev(t, "--addr", "127.0.0.1:0", "--state", state)
	stop()
	out2, _ := startDev(t, "--addr", "127.0.0.1:0", "--state", state, "--reset")
	if devLine(t, out1.String(), "OKTA_CLIENT_SECRET") == devLine(t, out2.String(), "OKTA_CLIENT_SECRET") {
		t.Error("dev --reset kept the saved client secret")
	}
}

// TestDevSyncOffline runs "oktasso sync --dry-run" against "oktasso dev"
// with the lines dev prints: the API token, and the service app.
func TestDevSyncOffline(t *testing.T) {
	out, _ := startDev(t, "--addr", "127.0.0.1:0", "--state", t.TempDir())
	domain, token := devLine(t, out.String(), "OKTA_DOMAIN"), devLine(t, out.String(), "OKTA_API_TOKEN")
	m := regexp.MustCompile(`oktasso sync --dry-run (--domain \S+ --client-id \S+ --private-key \S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("dev printed no service-app sync command\n%s", out.String())
	}
	for _, tc := range []struct {
		name string
		env  func(string) (string, bool)
		args []string
	}{
		{"API token", env("OKTA_DOMAIN", domain, "OKTA_API_TOKEN", token), []string{"sync", "--dry-run"}},
		{"service app", env(), append([]string{"sync", "--dry-run"}, strings.Fields(m[1])...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, tc.env, tc.args...)
			if code != exitOK || !strings.Contains(stdout, "alice@example.com") || !strings.Contains(stdout, `"Workspace Members"`) {
				t.Errorf("sync %v against dev = %d\n%s\n%s", tc.args, code, stdout, stderr)
			}
		})
	}
}

// TestDevCheck: oktasso check passes (exit 0) on the lines oktasso dev
// prints, warning that session keys are not set.
func TestDevCheck(t *testing.T) {
	out, _ := startDev(t, "--addr", "127.0.0.1:0", "--state", t.TempDir())
	var kv []string
	for _, name := range []string{"OKTA_ISSUER", "OKTA_CLIENT_ID", "OKTA_CLIENT_SECRET", "OKTASSO_BASE_URL"} {
		kv = append(kv, name, devLine(t, out.String(), name))
	}
	stdout, stderr, code := cli(t, env(kv...), "check")
	if code != exitOK || !strings.Contains(stdout, "! session keys: OKTASSO_SESSION_KEYS is not set") || strings.Contains(stdout, "✗") {
		t.Errorf("check on the dev setup = %d; want 0 with a warning about session keys\n%s\n%s", code, stdout, stderr)
	}
}
