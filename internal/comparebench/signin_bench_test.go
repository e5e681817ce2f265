package comparebench

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/securecookie"
	"golang.org/x/oauth2"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// The sign-in benchmark's client at the fake Okta, and the base URL of
// both applications. The applications are never served on it: the
// benchmark calls their handlers in process with the callback URL the fake
// redirects the browser to.
const (
	signInClient = "signin-bench"
	signInSecret = "signin-bench-secret"
	signInBase   = "http://app.example"
)

// fakeEnv makes this test binary a fake Okta org (see TestMain): the
// sign-in benchmark runs the fake in a process of its own, so that the
// CPU time it measures is the application's, not the fake's RSA signing.
const fakeEnv = "COMPAREBENCH_FAKE_OKTA"

func TestMain(m *testing.M) {
	if os.Getenv(fakeEnv) == "1" {
		serveFake()
		return
	}
	os.Exit(m.Run())
}

// serveFake runs a fake Okta org with the demo users, alice signed in
// (AutoLogin) and the sign-in benchmark's client, prints its issuer and
// exits when stdin closes.
func serveFake() {
	s := oktatest.NewServer()
	s.AddDemoUsers()
	s.AddClient(oktatest.Client{ID: signInClient, Secret: signInSecret,
		RedirectURIs: []string{signInBase + oktasso.CallbackPath, signInBase + "/callback"}})
	s.AutoLogin("alice@example.com")
	fmt.Println(s.Issuer())
	io.Copy(io.Discard, os.Stdin)
	s.Close()
}

// startFake starts this test binary as a fake Okta (serveFake) and returns
// its issuer; it stops when b ends.
func startFake(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fakeEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		b.Fatalf("fake Okta process: %q, %v", line, err)
	}
	return strings.TrimSpace(line)
}

// signInApp is one application's sign-in: its handler and the path that
// starts a sign-in.
type signInApp struct {
	handler http.Handler
	login   string
}

// BenchmarkSignIn runs the callback of a sign-in (code exchange over
// loopback, ID-token verification, userinfo, the session cookie) in two
// applications against the same fake Okta in one run: "oktasso", the root
// package's Handler with its defaults, and "handwired", go-oidc, x/oauth2
// and gorilla/securecookie wired by hand for the same job (PKCE, state and
// nonce in a securecookie flow cookie; the ID token verified, the nonce
// compared; userinfo read and its sub compared; the user in a
// securecookie session cookie).
//
// The fake runs in a process of its own. Each iteration times the
// application's two handlers of a sign-in, called in process: the login
// route (the flow cookie, the redirect) and the callback; in between, timer
// stopped, the fake answers the authorize request (AutoLogin). ns/op is
// their wall time (the callback waits for the fake's token and userinfo
// answers), allocs/op their allocations, and cpu-ns/op the CPU time this
// process spent in them: the application's CPU per sign-in, the figure
// issue 21 compares (target: oktasso ≤ 1.1× handwired).
func BenchmarkSignIn(b *testing.B) {
	issuer := startFake(b)
	ctx := context.Background()
	apps := map[string]func(*testing.B) signInApp{
		"oktasso": func(b *testing.B) signInApp {
			auth, err := oktasso.New(ctx, oktasso.Config{
				Issuer:  issuer,
				BaseURL: signInBase,
				Client:  oktasso.ClientConfig{ID: signInClient, Secret: signInSecret},
				Session: oktasso.SessionConfig{Keys: []oktasso.Secret{key1}},
				Logger:  slog.New(slog.DiscardHandler),
			})
			if err != nil {
				b.Fatal(err)
			}
			return signInApp{auth.Handler(), "/auth/login" + "?return_to=/"}
		},
		"handwired": func(b *testing.B) signInApp {
			h, err := handwiredSignIn(ctx, issuer)
			if err != nil {
				b.Fatal(err)
			}
			return signInApp{h, "/login"}
		},
	}
	for _, name := range []string{"oktasso", "handwired"} {
		b.Run(name, func(b *testing.B) {
			app := apps[name](b)
			// The browser has connections of its own: the applications'
			// calls to the fake reuse theirs (http.DefaultTransport).
			browser := &http.Client{Transport: &http.Transport{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			var cpu time.Duration
			// timed runs f as part of the sign-in: under the benchmark's
			// timer and allocation count, its CPU time added to cpu.
			timed := func(f func()) {
				b.StartTimer()
				before := processCPU()
				f()
				cpu += processCPU() - before
				b.StopTimer()
			}
			signIn := func() {
				rec := httptest.NewRecorder()
				timed(func() { app.handler.ServeHTTP(rec, httptest.NewRequest("GET", signInBase+app.login, nil)) })
				resp, err := browser.Get(rec.Header().Get("Location"))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				cb := resp.Header.Get("Location")
				if !strings.HasPrefix(cb, signInBase+"/") {
					b.Fatalf("authorize = %d to %q; want the callback", resp.StatusCode, cb)
				}
				req := httptest.NewRequest("GET", cb, nil)
				for _, c := range rec.Result().Cookies() {
					req.AddCookie(c)
				}
				rec = httptest.NewRecorder()
				timed(func() { app.handler.ServeHTTP(rec, req) })
				if rec.Code != http.StatusFound || len(rec.Result().Cookies()) == 0 {
					b.Fatalf("callback = %d %q; want 302 with a session cookie", rec.Code, rec.Body.String())
				}
			}
			b.StopTimer()
			signIn() // discovery and the key set
			b.ReportAllocs()
			b.ResetTimer()
			cpu = 0
			for i := 0; i < b.N; i++ {
				signIn()
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
	// Concurrent sign-ins (8 per CPU), as when a team signs in at 9:00:
	// the whole sign-in is timed, the browser's authorize request
	// included (the same work for both applications).
	for _, name := range []string{"oktasso", "handwired"} {
		b.Run(name+"/parallel", func(b *testing.B) {
			app := apps[name](b)
			browser := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			b.SetParallelism(8)
			b.ReportAllocs()
			before := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					app.handler.ServeHTTP(rec, httptest.NewRequest("GET", signInBase+app.login, nil))
					resp, err := browser.Get(rec.Header().Get("Location"))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					req := httptest.NewRequest("GET", resp.Header.Get("Location"), nil)
					for _, c := range rec.Result().Cookies() {
						req.AddCookie(c)
					}
					rec = httptest.NewRecorder()
					app.handler.ServeHTTP(rec, req)
					if rec.Code != http.StatusFound {
						b.Errorf("callback = %d %q; want 302", rec.Code, rec.Body.String())
						return
					}
				}
			})
			b.ReportMetric(float64((processCPU()-before).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is this process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// handwiredSignIn is the comparator: go-oidc, x/oauth2 and
// gorilla/securecookie doing the sign-in oktasso does, with nothing kept
// on the server.
func handwiredSignIn(ctx context.Context, issuer string) (http.Handler, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	verifier := p.Verifier(&oidc.Config{ClientID: signInClient})
	conf := &oauth2.Config{ClientID: signInClient, ClientSecret: signInSecret, Endpoint: p.Endpoint(),
		RedirectURL: signInBase + "/callback", Scopes: []string{oidc.ScopeOpenID, "profile", "email", "groups"}}
	sc := securecookie.New([]byte(key1+key2), []byte(key2))
	type flow struct{ State, Nonce, Verifier, ReturnTo string }
	type session struct {
		Sub, Email, Name, Username, SID string
		Groups                          []string
		AuthTime, Exp                   int64
		IDToken                         string
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		f := flow{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(), ReturnTo: "/"}
		v, err := sc.Encode("flow", f)
		if err != nil {
			http.Error(w, "flow", http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "flow", Value: v, Path: "/", MaxAge: 600, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, conf.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		var f flow
		c, err := r.Cookie("flow")
		if err != nil || sc.Decode("flow", c.Value, &f) != nil || r.URL.Query().Get("state") != f.State {
			http.Error(w, "bad state", http.StatusBadRequest)
			return
		}
		tok, err := conf.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(f.Verifier))
		if err != nil {
			http.Error(w, "exchange failed", http.StatusBadGateway)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(r.Context(), raw)
		var claims struct {
			Email    string   `json:"email"`
			Name     string   `json:"name"`
			Username string   `json:"preferred_username"`
			SID      string   `json:"sid"`
			Groups   []string `json:"groups"`
			AuthTime int64    `json:"auth_time"`
		}
		if err != nil || idt.Nonce != f.Nonce || idt.Claims(&claims) != nil || idt.VerifyAccessToken(tok.AccessToken) != nil {
			http.Error(w, "bad ID token", http.StatusBadRequest)
			return
		}
		info, err := p.UserInfo(r.Context(), oauth2.StaticTokenSource(tok))
		if err != nil || info.Subject != idt.Subject {
			http.Error(w, "bad userinfo", http.StatusBadGateway)
			return
		}
		v, err := sc.Encode("session", session{Sub: idt.Subject, Email: claims.Email, Name: claims.Name, Username: claims.Username,
			SID: claims.SID, Groups: claims.Groups, AuthTime: claims.AuthTime, Exp: time.Now().Add(24 * time.Hour).Unix(), IDToken: raw})
		if err != nil {
			http.Error(w, "session", http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "flow", Path: "/", MaxAge: -1})
		http.SetCookie(w, &http.Cookie{Name: "session", Value: v, Path: "/", MaxAge: 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		u, _ := url.Parse(f.ReturnTo)
		http.Redirect(w, r, u.String(), http.StatusFound)
	})
	return mux, nil
}
