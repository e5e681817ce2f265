package redisstore

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
	"github.com/oktasso/oktasso/store"
)

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkAuthenticatedRequest measures the guard on a signed-in request
// with each way of keeping sessions, in one run: cookie sessions with the
// default in-memory store (revocation checked in memory), cookie sessions
// with Redis (revocation checked in Redis on every request, or at most once
// a second with RevocationCacheTTL), and server-side sessions in Redis (the
// cookie holds only an id). "miss" turns the verified-cookie cache off, so
// every request decrypts its cookie; "hit" is a repeat request.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	rdb := startRedis(b)
	for _, tt := range []struct {
		name   string
		store  store.Store
		server bool
		cache  int
		ttl    time.Duration
	}{
		{"cookie/memory-store/miss", nil, false, -1, 0},
		{"cookie/memory-store/hit", nil, false, 0, 0},
		{"cookie/redis-store/miss", New(rdb, "bench1:"), false, -1, 0},
		{"cookie/redis-store/hit", New(rdb, "bench1:"), false, 0, 0},
		{"cookie/redis-store/hit+revocation-ttl-1s", New(rdb, "bench1:"), false, 0, time.Second},
		{"server/redis-store", New(rdb, "bench2:"), true, 0, 0},
	} {
		b.Run(tt.name, func(b *testing.B) {
			fake := oktatest.NewServer()
			defer fake.Close()
			fake.AddDemoUsers()
			fake.AutoLogin("alice@example.com")
			app := httptest.NewUnstartedServer(nil)
			base := "http://" + app.Listener.Addr().String()
			fake.AddClient(oktatest.Client{ID: "0oabench", Secret: "s", RedirectURIs: []string{base + oktasso.CallbackPath}})
			a, err := oktasso.New(context.Background(), oktasso.Config{
				Issuer:     fake.Issuer(),
				BaseURL:    base,
				Store:      tt.store,
				HTTPClient: fake.Client(),
				Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
				Client:     oktasso.ClientConfig{ID: "0oabench", Secret: "s"},
				Session:    oktasso.SessionConfig{Storage: storage(tt.server), Keys: []oktasso.Secret{"0123456789abcdef0123456789abcdef"}, CacheSize: tt.cache, RevocationCacheTTL: tt.ttl},
				Access:     oktasso.AccessConfig{Workspace: oktasso.RequireGroups("Workspace Members")},
			})
			if err != nil {
				b.Fatal(err)
			}
			var got *oktasso.User
			guarded := a.Workspace(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = oktasso.UserFrom(r.Context()) }))
			mux := http.NewServeMux()
			mux.Handle("/auth/", a.Handler())
			mux.Handle("/workspace", guarded)
			app.Config.Handler = mux
			app.Start()
			defer app.Close()
			jar, _ := cookiejar.New(nil)
			resp, err := (&http.Client{Jar: jar}).Get(app.URL + "/workspace")
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("sign-in: %v %v", resp, err)
			}
			resp.Body.Close()
			req := httptest.NewRequest("GET", base+"/workspace", nil)
			u, _ := url.Parse(base)
			for _, c := range jar.Cookies(u) {
				req.AddCookie(c)
			}
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				guarded.ServeHTTP(w, req)
			}
			b.StopTimer()
			if got == nil || got.Email != "alice@example.com" {
				b.Fatalf("guard did not admit alice: %+v", got)
			}
		})
	}
}

func storage(server bool) oktasso.SessionStorage {
	if server {
		return oktasso.SessionInStore
	}
	return oktasso.SessionInCookie
}
