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
		done <- a.main(ctx, []string{"dev", "--addr", "127.0.0.1:0", "--client-secret", "s3cret",
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
		{"bad redirect URI", []string{"dev", "--redirect-uri", "/auth/callback"}, exitUsage, "not an absolute http(s) URI"},
		{"unknown flag", []string{"dev", "--port", "1"}, exitUsage, "flag provided but not defined"},
		{"address in use or bad", []string{"dev", "--addr", "256.0.0.1:1"}, exitFail, "oktasso dev:"},
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
		done <- newApp(env(), &out, &errOut).main(ctx, []string{"dev", "--addr", "127.0.0.1:0", "--users", path})
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
	_, stderr, code := cli(t, env(), "dev", "--addr", "127.0.0.1:0", "--users", bad)
	if code != exitFail || !strings.Contains(stderr, "--users") {
		t.Errorf("dev --users BAD = %d %q; want 1 and the error", code, stderr)
	}
}
