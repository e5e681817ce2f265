package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/oktasso/oktasso"
)

// maxWorkspacePageBytes bounds the workspace page, whatever the number of
// accounts: 20 rows of realistic accounts and the rest of the page.
const maxWorkspacePageBytes = 12 << 10

// TestWorkspaceShowsRecentAccounts: with 500 accounts and more, the
// workspace page lists the 20 newest and the count, so its size does not
// grow with the number of accounts.
func TestWorkspaceShowsRecentAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addAccounts := func(from, to int) {
		for i := from; i < to; i++ {
			u := oktasso.User{Issuer: e.fake.Issuer(), Subject: fmt.Sprintf("00u%017d", i),
				Email: fmt.Sprintf("person.%d@example.com", i), Name: fmt.Sprintf("Person Number %d", i)}
			if err := e.accounts.Login(t.Context(), &u, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	rowRE := regexp.MustCompile(`<tr><td><code>(acct-\d+)</code></td>`)
	countRE := regexp.MustCompile(`(\d+) accounts`)
	b := newBrowser(t)
	check := func(total int) int {
		t.Helper()
		r := b.get(e.app.URL + "/workspace")
		if r.status != 200 {
			t.Fatalf("GET /workspace = %d; want 200", r.status)
		}
		var got []string
		for _, m := range rowRE.FindAllStringSubmatch(r.body, -1) {
			got = append(got, m[1])
		}
		var want []string // the newest first
		for seq := total; seq > total-20 && seq > 0; seq-- {
			want = append(want, fmt.Sprintf("acct-%04d", seq))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("with %d accounts the workspace lists %d: %v; want the 20 newest, %v", total, len(got), got, want)
		}
		if m := countRE.FindStringSubmatch(r.body); m == nil || m[1] != fmt.Sprint(total) {
			t.Errorf("with %d accounts the workspace page says %q; want the count %d", total, m, total)
		}
		if len(r.body) > maxWorkspacePageBytes {
			t.Errorf("with %d accounts the workspace page is %d bytes; want at most %d", total, len(r.body), maxWorkspacePageBytes)
		}
		return len(r.body)
	}
	addAccounts(0, 500)
	b.signIn(e, "alice@example.com", "/workspace") // account 501
	size := check(501)
	addAccounts(500, 1000)
	if got := check(1001); got > size+64 { // longer numbers, no more rows
		t.Errorf("the workspace page is %d bytes with 1001 accounts and %d with 501; want about the same", got, size)
	}
}

// TestOneLook: oktasso's own pages and the 404 page have the application's
// header; the header's navigation shows only to a signed-in person. No
// page shows the path or query it was asked for.
func TestOneLook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bob := newBrowser(t)
	bob.signIn(e, "bob@partner.example", "/webapp")
	anon := newBrowser(t)
	const nav = `<nav aria-label="Main">`
	tests := []struct {
		name       string
		b          *browser
		path       string
		wantStatus int
		want       []string
		wantNav    bool
	}{
		{"404 signed out", anon, "/no/such/page?<b>x</b>", http.StatusNotFound, []string{"Page not found", `href="/static/style.css`}, false},
		{"404 signed in", bob, "/nope", http.StatusNotFound, []string{"Page not found", "Sign out"}, true},
		{"403 from oktasso", bob, "/workspace", http.StatusForbidden, []string{"Workspace members only", "bob@partner.example", "<style>body{"}, true},
		{"sign-out confirmation", bob, "/auth/logout", http.StatusOK, []string{"Do you want to sign out?", `<button type="submit" autofocus>Sign out</button>`}, true},
		{"signed-out page", anon, "/auth/logout", http.StatusOK, []string{"You are signed out of this application."}, false},
		{"sign-in error", anon, "/auth/callback?state=<b>x</b>&code=y", http.StatusBadRequest, []string{"Sign-in could not be completed", "Sign in again"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.b.getStep(e.app.URL+tt.path, nil)
			if r.status != tt.wantStatus {
				t.Fatalf("GET %s = %d; want %d\n%s", tt.path, r.status, tt.wantStatus, r.body)
			}
			for _, s := range append(tt.want, `<header><div>`, `class="brand"`, "oktasso example") {
				if !strings.Contains(r.body, s) {
					t.Errorf("GET %s does not show %q\n%s", tt.path, s, r.body)
				}
			}
			if got := strings.Contains(r.body, nav); got != tt.wantNav {
				t.Errorf("GET %s: navigation shown = %v; want %v", tt.path, got, tt.wantNav)
			}
			if strings.Contains(r.body, "<b>x") || strings.Contains(r.body, "no/such") {
				t.Errorf("GET %s shows what was asked for\n%s", tt.path, r.body)
			}
		})
	}
}

// TestSignedOutNotice: the landing page says "You are signed out" only for
// the exact marker sign-out lands with, and only to nobody signed in; it
// never shows the query.
func TestSignedOutNotice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := newBrowser(t)
	alice.signIn(e, "alice@example.com", "/workspace")
	tests := []struct {
		name   string
		b      *browser
		query  string
		notice bool
	}{
		{"after sign-out", newBrowser(t), "?signed_out=1", true},
		{"no marker", newBrowser(t), "", false},
		{"another value", newBrowser(t), "?signed_out=%3Cb%3Eyes%3C%2Fb%3E", false},
		{"signed in", alice, "?signed_out=1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.b.get(e.app.URL + "/" + tt.query)
			if r.status != http.StatusOK {
				t.Fatalf("GET /%s = %d; want 200", tt.query, r.status)
			}
			if got := strings.Contains(r.body, "You are signed out."); got != tt.notice {
				t.Errorf("GET /%s: notice shown = %v; want %v", tt.query, got, tt.notice)
			}
			if strings.Contains(r.body, "<b>yes") {
				t.Errorf("GET /%s shows the query\n%s", tt.query, r.body)
			}
		})
	}
}
