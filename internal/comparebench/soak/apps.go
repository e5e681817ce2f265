package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oktasso/oktasso"
)

// appRoutes are each application's sign-in route (ending at GET /me) and
// redirect URI path.
var appRoutes = map[string]struct{ login, callback string }{
	"oktasso":   {login: "/auth/login" + "?return_to=/me", callback: oktasso.CallbackPath},
	"handwired": {login: "/login", callback: "/callback"},
}

// serveApp serves one application on 127.0.0.1, prints its URL on stdout
// and exits when stdin closes.
func serveApp(name, issuer, clientID, secret string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	h, err := newApp(context.Background(), name, base, issuer, clientID, secret)
	if err != nil {
		return err
	}
	fmt.Println(base)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	return http.Serve(ln, h)
}

// newApp returns the application name served at base, with the routes
// that report its memory.
func newApp(ctx context.Context, name, base, issuer, clientID, secret string) (http.Handler, error) {
	var app http.Handler
	var err error
	switch name {
	case "oktasso":
		app, err = oktassoApp(ctx, base, issuer, clientID, secret)
	case "handwired":
		app, err = handwiredApp(ctx, base, issuer, clientID, secret)
	default:
		err = fmt.Errorf("unknown application %q (want oktasso or handwired)", name)
	}
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", app)
	mux.HandleFunc("GET /_soak/mem", serveMem)
	mux.HandleFunc("POST /_soak/settle", func(w http.ResponseWriter, r *http.Request) {
		// The application's clock moves past every sign-in's replay window
		// (oktasso keeps a used state for the 10 minutes a sign-in may take),
		// and one store write sweeps what expired. Applications without a
		// clock of their own have nothing to settle.
		if name == "oktasso" {
			clockOffset.Add(int64(settleAfter))
			if err := settleStore(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_soak/mem-settled", serveMemReleased)
	mux.HandleFunc("GET /_soak/heap", func(w http.ResponseWriter, _ *http.Request) { pprof.WriteHeapProfile(w) })
	return mux, nil
}

// serveMem answers this process's resident memory, then its heap in use
// after a collection.
func serveMem(w http.ResponseWriter, _ *http.Request) {
	m := mem{RSSKB: rssKB()}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.HeapInuse = ms.HeapInuse
	json.NewEncoder(w).Encode(m)
}

// serveMemReleased is serveMem after returning the freed memory to the
// operating system, so that RSS shows what the application still holds.
func serveMemReleased(w http.ResponseWriter, _ *http.Request) {
	runtime.GC()
	debug.FreeOSMemory()
	serveMem(w, nil)
}

// settleAfter is how far POST /_soak/settle moves oktasso's clock: past
// the 10 minutes a used sign-in state is kept.
const settleAfter = 11 * time.Minute

// clockOffset is added to oktasso's clock (Config.Now) by POST /_soak/settle.
var clockOffset atomic.Int64

// settleStore writes once to the oktasso application's store, which sweeps
// every expired entry; set by oktassoApp.
var settleStore = func(context.Context) error { return nil }

// rssKB is VmRSS from /proc/self/status (Linux), or 0.
func rssKB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return 0
}

// oktassoApp is the root package with its defaults guarding GET /me.
func oktassoApp(ctx context.Context, base, issuer, clientID, secret string) (http.Handler, error) {
	auth, err := oktasso.New(ctx, oktasso.Config{
		Issuer:  issuer,
		BaseURL: base,
		Client:  oktasso.ClientConfig{ID: clientID, Secret: oktasso.Secret(secret)},
		Session: oktasso.SessionConfig{Keys: []oktasso.Secret{oktasso.Secret(rand.Text() + rand.Text())}},
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Now:     func() time.Time { return time.Now().Add(time.Duration(clockOffset.Load())) },
	})
	if err != nil {
		return nil, err
	}
	// Ending the sessions of a user nobody is writes one mark: a store write.
	settleStore = func(ctx context.Context) error { return auth.EndSessions(ctx, issuer, "soak-settle") }
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("GET /me", auth.WebApp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := oktasso.UserFrom(r.Context())
		json.NewEncoder(w).Encode(map[string]string{"sub": u.Subject, "email": u.Email})
	})))
	return mux, nil
}

// handwiredApp is the comparator: go-oidc and x/oauth2 wired by hand, with
// PKCE, state and nonce in a sealed flow cookie and the session in a sealed
// cookie (AES-256-GCM, the cookie's name as associated data).
func handwiredApp(ctx context.Context, base, issuer, clientID, secret string) (http.Handler, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	verifier := p.Verifier(&oidc.Config{ClientID: clientID})
	conf := &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(),
		RedirectURL: base + "/callback", Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	key := make([]byte, 32)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	seal := func(w http.ResponseWriter, name string, v any, ttl time.Duration) {
		b, _ := json.Marshal(v)
		nonce := make([]byte, aead.NonceSize())
		rand.Read(nonce)
		http.SetCookie(w, &http.Cookie{Name: name, Value: base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, b, []byte(name))),
			Path: "/", MaxAge: int(ttl.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	open := func(r *http.Request, name string, v any) bool {
		c, err := r.Cookie(name)
		if err != nil {
			return false
		}
		b, err := base64.RawURLEncoding.DecodeString(c.Value)
		if err != nil || len(b) < aead.NonceSize() {
			return false
		}
		b, err = aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(name))
		return err == nil && json.Unmarshal(b, v) == nil
	}
	type flow struct{ State, Nonce, Verifier string }
	type session struct {
		Sub, Email string
		Exp        int64
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		f := flow{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier()}
		seal(w, "flow", f, 10*time.Minute)
		http.Redirect(w, r, conf.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		var f flow
		if !open(r, "flow", &f) || r.URL.Query().Get("state") != f.State {
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
			Email string `json:"email"`
		}
		if err != nil || idt.Nonce != f.Nonce || idt.Claims(&claims) != nil {
			http.Error(w, "bad ID token", http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "flow", Path: "/", MaxAge: -1})
		seal(w, "session", session{Sub: idt.Subject, Email: claims.Email, Exp: time.Now().Add(24 * time.Hour).Unix()}, 24*time.Hour)
		http.Redirect(w, r, "/me", http.StatusFound)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		var s session
		if !open(r, "session", &s) || time.Now().Unix() >= s.Exp {
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"sub": s.Sub, "email": s.Email})
	})
	return mux, nil
}
