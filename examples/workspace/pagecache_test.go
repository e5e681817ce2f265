package main

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
)

// renderUncached renders a page without the cache.
func renderUncached(t *testing.T, name string, d pageData) string {
	t.Helper()
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// changed returns a copy of v (a User field's value) that differs from it.
func changed(t *testing.T, name string, v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch x := v.Interface().(type) {
	case string:
		out.SetString(x + "-changed")
	case bool:
		out.SetBool(!x)
	case []string:
		out.Set(reflect.ValueOf(append(append([]string(nil), x...), "changed")))
	case time.Time:
		out.Set(reflect.ValueOf(x.Add(time.Hour)))
	case map[string]any:
		m := map[string]any{"changed": true}
		for k, v := range x {
			m[k] = v
		}
		out.Set(reflect.ValueOf(m))
	default:
		t.Fatalf("User.%s has type %s: teach changed() to vary it", name, v.Type())
	}
	return out
}

// TestPageKeyCoversRenderedFields: whenever changing one field of the
// user or of the page data changes what a page shows, it changes the page's
// key, so a cached page is never served for other data. A template that
// starts printing a field pageKey leaves out fails here.
func TestPageKeyCoversRenderedFields(t *testing.T) {
	base := &oktasso.User{
		Issuer: "https://dev-1.okta.com", Subject: "00u1", Email: "alice@example.com", EmailVerified: true,
		Name: "Alice", Username: "alice", Groups: []string{"Workspace Members"}, Internal: true, LocalID: "acct-0001",
		SessionID: "102sid", AuthTime: time.Unix(1_800_000_000, 0), ACR: "urn:okta:loa:1fa:pwd", AMR: []string{"pwd"},
		Claims: map[string]any{"department": "R&D"},
	}
	accounts := []account{{ID: "acct-0001", Name: "Alice", Email: "alice@example.com", Subject: "00u1", Created: base.AuthTime, LastLogin: base.AuthTime, Logins: 1}}
	uv := reflect.ValueOf(base).Elem()
	printed := map[string]bool{}
	for _, name := range []string{"home", "workspace", "webapp"} {
		data := pageData{Title: name, User: base, Accounts: accounts, LoginButton: template.HTML("<a>Sign in</a>")}
		want := renderUncached(t, name, data)
		key := pageKey(name, data, 7)
		for i := 0; i < uv.NumField(); i++ {
			field := uv.Type().Field(i)
			if !field.IsExported() {
				continue
			}
			u := *base
			reflect.ValueOf(&u).Elem().Field(i).Set(changed(t, field.Name, uv.Field(i)))
			d := data
			d.User = &u
			if renderUncached(t, name, d) == want {
				continue
			}
			printed[field.Name] = true
			if pageKey(name, d, 7) == key {
				t.Errorf("%s page: User.%s changes the page but not its key", name, field.Name)
			}
		}
		for _, tt := range []struct {
			what string
			d    pageData
		}{
			{"signed out", pageData{Title: data.Title, LoginButton: data.LoginButton}},
			{"another title", pageData{Title: "x", User: base, Accounts: accounts, LoginButton: data.LoginButton}},
			{"another button", pageData{Title: data.Title, User: base, Accounts: accounts, LoginButton: "<a>x</a>"}},
			{"signed-out notice", pageData{Title: data.Title, LoginButton: data.LoginButton, SignedOut: true}},
			{"SPA link", pageData{Title: data.Title, User: base, Accounts: accounts, LoginButton: data.LoginButton, SPA: true}},
		} {
			if tt.d.User == nil && name != "home" {
				continue // only the landing page is served signed out
			}
			if renderUncached(t, name, tt.d) != want && pageKey(name, tt.d, 7) == key {
				t.Errorf("%s page, %s: the page changes but not its key", name, tt.what)
			}
		}
		if name == "workspace" && pageKey(name, data, 8) == key {
			t.Error("workspace page: a new accounts version keeps the key")
		}
	}
	// The check above has teeth only if it sees the fields pages print.
	for _, f := range []string{"Name", "Email", "Subject", "Issuer", "Groups", "Internal", "AuthTime", "LocalID", "EmailVerified", "Username"} {
		if !printed[f] {
			t.Errorf("no page changed with User.%s; the test no longer sees the templates' fields", f)
		}
	}
}

// TestPageKeyUnambiguous: values that run together differently give
// different keys.
func TestPageKeyUnambiguous(t *testing.T) {
	u := func(name, email string, groups ...string) pageData {
		return pageData{Title: "t", User: &oktasso.User{Name: name, Email: email, Groups: groups}}
	}
	pairs := [][2]pageData{
		{u("ab", "c"), u("a", "bc")},
		{u("a", "", "b"), u("a", "b")},
		{u("", "", "a", "b"), u("", "", "ab")},
		{u("1:a", ""), u("1", ":a")},
	}
	for _, p := range pairs {
		if pageKey("home", p[0], 0) == pageKey("home", p[1], 0) {
			t.Errorf("pageKey(%+v) == pageKey(%+v)", *p[0].User, *p[1].User)
		}
	}
}

// cachedBytes is what the pages and keys in c take.
func cachedBytes(c *pageCache) int {
	n := 0
	for k, v := range c.pages {
		n += len(k) + len(v)
	}
	return n
}

// TestPageCacheBoundedInBytes: however many distinct pages go in, and
// however large, the cache keeps at most its budget of bytes.
func TestPageCacheBoundedInBytes(t *testing.T) {
	const budget = 64 << 10
	c := newPageCache(budget)
	for i := range 2000 {
		size := 100 + (i*7919)%9000 // 100 B to 9 kB
		c.put(fmt.Sprintf("page %d", i), bytes.Repeat([]byte{'x'}, size))
		if n := cachedBytes(c); n > budget {
			t.Fatalf("after %d pages the cache holds %d bytes; want at most %d", i+1, n, budget)
		}
	}
	if n := len(c.pages); n < 10 {
		t.Errorf("a %d-byte cache of pages under 9 kB holds %d pages; want it to keep some", budget, n)
	}
	last := bytes.Repeat([]byte{'y'}, 5000)
	c.put("last", last)
	if got := c.get("last"); !bytes.Equal(got, last) {
		t.Errorf("get(last put) = %d bytes; want the page", len(got))
	}
	c.put("huge", make([]byte, budget+1))
	if c.get("huge") != nil || cachedBytes(c) > budget {
		t.Errorf("a page over the budget was kept: the cache holds %d bytes", cachedBytes(c))
	}
	var off *pageCache = newPageCache(0)
	off.put("a", []byte("x"))
	if off.get("a") != nil {
		t.Error("a disabled cache returned a page")
	}
}

// TestCachedPagesFollowTheirData: through the running app, each person
// sees their own pages, and the workspace shows a new sign-in at once.
func TestCachedPagesFollowTheirData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := newBrowser(t)
	alice.signIn(e, "alice@example.com", "/workspace")
	row := regexp.MustCompile(`<tr><td><code>acct-0001</code></td>.*<td>(\d+)</td></tr>`)
	logins := func(r response) string {
		if m := row.FindStringSubmatch(r.body); m != nil {
			return m[1]
		}
		return "(no row)"
	}
	if r := alice.get(e.app.URL + "/workspace"); r.status != 200 || logins(r) != "1" {
		t.Fatalf("workspace = %d, alice's sign-ins %q; want 200 and 1", r.status, logins(r))
	}
	// Cached now; a second sign-in of alice elsewhere changes the accounts.
	newBrowser(t).signIn(e, "alice@example.com", "/workspace")
	if r := alice.get(e.app.URL + "/workspace"); logins(r) != "2" {
		t.Errorf("workspace after another sign-in shows %q sign-ins; want 2 (the page rendered again)", logins(r))
	}
	// bob, external, gets his own web app page, never alice's.
	bob := newBrowser(t)
	bob.signIn(e, "bob@partner.example", "/webapp")
	alice.get(e.app.URL + "/webapp")
	r := bob.get(e.app.URL + "/webapp")
	if r.status != 200 || !strings.Contains(r.body, "bob@partner.example") || strings.Contains(r.body, "alice@example.com") {
		t.Errorf("bob's web app page = %d, shows bob: %v, shows alice: %v; want only bob", r.status,
			strings.Contains(r.body, "bob@partner.example"), strings.Contains(r.body, "alice@example.com"))
	}
}

// TestStylesheet: pages link the stylesheet by a versioned URL that
// browsers may keep for good.
func TestStylesheet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := newBrowser(t).get(e.app.URL + "/")
	if !strings.Contains(r.body, `<link rel="stylesheet" href="`+html.EscapeString(stylesheetURL)+`">`) {
		t.Fatalf("landing page does not link %s", stylesheetURL)
	}
	r = newBrowser(t).get(e.app.URL + stylesheetURL)
	if r.status != 200 || r.header.Get("Content-Type") != "text/css; charset=utf-8" ||
		!strings.Contains(r.header.Get("Cache-Control"), "immutable") || r.body != stylesheet {
		t.Errorf("GET %s = %d %q %q, %d bytes; want 200, text/css, immutable, the stylesheet", stylesheetURL,
			r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"), len(r.body))
	}
}
