package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oktasso/oktasso/oktatest"
)

// Both applications sign in distinct users through the driver, and refuse
// a user the fake does not know.
func TestApps(t *testing.T) {
	t.Parallel()
	fake := oktatest.NewServer()
	defer fake.Close()
	fake.AddGeneratedUsers(3, 0)
	for app, routes := range appRoutes {
		t.Run(app, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(nil)
			base := "http://" + srv.Listener.Addr().String()
			h, err := newApp(context.Background(), app, base, fake.Issuer(), "soak-"+app, "secret-"+app)
			if err != nil {
				t.Fatal(err)
			}
			srv.Config.Handler = h
			srv.Start()
			defer srv.Close()
			fake.AddClient(oktatest.Client{ID: "soak-" + app, Secret: "secret-" + app, RedirectURIs: []string{base + routes.callback}})
			if n, err := signInAll(context.Background(), base, routes.login, 3, 2); n != 3 || err != nil {
				t.Errorf("signInAll(3 users) = %d, %v; want 3, nil", n, err)
			}
			if n, err := signInAll(context.Background(), base, routes.login, 4, 1); n != 3 || err == nil {
				t.Errorf("signInAll(4 users, the fake has 3) = %d, %v; want 3 and an error", n, err)
			}
			m, err := readMem(srv.Client(), base, "/_soak/mem")
			if err != nil || m.HeapInuse == 0 {
				t.Errorf("readMem = %+v, %v; want the heap in use", m, err)
			}
			resp, err := srv.Client().Post(base+"/_soak/settle", "", nil)
			if err != nil || resp.StatusCode != http.StatusNoContent {
				t.Fatalf("POST /_soak/settle = %v, %v; want 204", resp, err)
			}
			resp.Body.Close()
			if m, err := readMem(srv.Client(), base, "/_soak/mem-settled"); err != nil || m.HeapInuse == 0 {
				t.Errorf("readMem(settled) = %+v, %v; want the heap in use", m, err)
			}
		})
	}
}

func TestNewAppUnknown(t *testing.T) {
	t.Parallel()
	if _, err := newApp(context.Background(), "nope", "http://127.0.0.1:1", "http://127.0.0.1:1", "id", "secret"); err == nil {
		t.Error("newApp(nope) = nil error; want an error")
	}
}

func TestServeMem(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	serveMem(rec, httptest.NewRequest(http.MethodGet, "/_soak/mem", nil))
	var m mem
	if err := json.NewDecoder(rec.Body).Decode(&m); err != nil || m.HeapInuse == 0 {
		t.Errorf("serveMem = %+v, %v; want the heap in use", m, err)
	}
}
