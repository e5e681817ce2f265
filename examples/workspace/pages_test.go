package main

import (
	"fmt"
	"regexp"
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
