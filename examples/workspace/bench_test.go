package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oktasso/oktasso"
)

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkRoutes serves the example's routes in process (no network), as
// the load test drives them over loopback: the unprotected GET /healthz,
// and with a signed-in member's session cookie GET /api/me (the guard and a
// small JSON answer) and GET /workspace (the guard and an HTML page).
func BenchmarkRoutes(b *testing.B) {
	e := startApp(b, startFake(b))
	br := newBrowser(b)
	br.signIn(e, "alice@example.com", "/workspace")
	ck := br.sessionCookie(e)
	handler := e.app.Config.Handler
	for _, path := range []string{"/healthz", "/api/me", "/workspace"} {
		b.Run(path[1:], func(b *testing.B) {
			req := httptest.NewRequest("GET", e.app.URL+path, nil)
			req.AddCookie(ck)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("GET %s = %d; want 200", path, rec.Code)
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				clear(w.h)
				handler.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkRenderWorkspace is what a GET /workspace costs without the page
// cache: html/template rendering the page for alice with one account.
func BenchmarkRenderWorkspace(b *testing.B) {
	e := startApp(b, startFake(b))
	newBrowser(b).signIn(e, "alice@example.com", "/workspace")
	list, n, _ := e.accounts.Recent(workspaceAccounts)
	u := &oktasso.User{Issuer: list[0].Issuer, Subject: list[0].Subject, Name: list[0].Name, Email: list[0].Email,
		EmailVerified: true, Username: list[0].Email, Groups: []string{"Everyone", "Workspace Members"}, Internal: true, LocalID: list[0].ID}
	data := pageData{Title: "Workspace", User: u, Accounts: list, NumAccounts: n}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := pages["workspace"].ExecuteTemplate(&buf, "layout", data); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

// BenchmarkRenderWorkspaceFull renders the workspace page at its largest:
// 1,000 accounts, of which it lists the 20 newest.
func BenchmarkRenderWorkspaceFull(b *testing.B) {
	s := newAccountStore(nil)
	for i := range 1000 {
		u := oktasso.User{Issuer: "https://dev-1.okta.com", Subject: fmt.Sprintf("00u%017d", i),
			Email: fmt.Sprintf("person.%d@example.com", i), Name: fmt.Sprintf("Person Number %d", i)}
		if err := s.Login(b.Context(), &u, nil); err != nil {
			b.Fatal(err)
		}
	}
	list, n, _ := s.Recent(workspaceAccounts)
	u := &oktasso.User{Issuer: list[0].Issuer, Subject: list[0].Subject, Name: list[0].Name, Email: list[0].Email,
		EmailVerified: true, Username: list[0].Email, Groups: []string{"Everyone", "Workspace Members"}, Internal: true, LocalID: list[0].ID}
	data := pageData{Title: "Workspace", User: u, Accounts: list, NumAccounts: n}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := pages["workspace"].ExecuteTemplate(&buf, "layout", data); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
