package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/oktasso/oktasso"
)

// pageData fills every page.
type pageData struct {
	Title       string
	User        *oktasso.User // nil when nobody is signed in
	Accounts    []account     // the workspace page only: the newest accounts, newest first
	NumAccounts int           // the workspace page only: how many accounts there are
	LoginButton template.HTML // the landing page only, when nobody is signed in
	Provider    string        // how the pages name the identity provider, e.g. "Okta"
	SignedOut   bool          // the landing page only: the browser just signed out
	SPA         bool          // the single-page app example is set up (/spa/)
}

var funcs = template.FuncMap{
	// when formats a time for people; the zero time is "unknown".
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "unknown"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	// iso formats a time for the datetime attribute.
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	// stylesheetURL is the stylesheet's versioned URL.
	"stylesheetURL": func() string { return stylesheetURL },
	// inlineStylesheet is the stylesheet for a <style> element, on
	// oktasso's pages, whose Content-Security-Policy allows inline styles
	// only.
	"inlineStylesheet": func() template.CSS { return template.CSS(stylesheet) },
}

// stylesheet is every page's style, served at stylesheetURL: browsers keep
// it, so pages are smaller, and the Content-Security-Policy needs no
// 'unsafe-inline'.
const stylesheet = `body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f5f6f8;color:#1d1d21}
header{background:#fff;border-bottom:1px solid #c9ccd1}
header div,main{max-width:48rem;margin:0 auto;padding:1rem 1.5rem}
header div{display:flex;align-items:center;gap:1.5rem;flex-wrap:wrap}
header form{margin-left:auto}
main{background:#fff;border:1px solid #c9ccd1;border-radius:8px;margin-top:2rem;margin-bottom:2rem}
h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.15rem;margin:2rem 0 .5rem}
a{color:#0b4f9e}
.brand{font-weight:700;color:#1d1d21;text-decoration:none}
button{display:inline-block;font:inherit;font-weight:600;color:#fff;background:#0b57d0;border:0;border-radius:4px;padding:.55rem 1.1rem;cursor:pointer}
button:hover{background:#0842a0}
a:focus-visible,button:focus-visible{outline:3px solid #1d1d21;outline-offset:2px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1.25rem;margin:0}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:.9rem}
caption{text-align:left;color:#44474e;padding-bottom:.5rem}
th,td{text-align:left;padding:.35rem .6rem .35rem 0;border-bottom:1px solid #dcdfe4;vertical-align:top}
code{font-size:.875rem;overflow-wrap:anywhere}
.tag{display:inline-block;padding:0 .5rem;border-radius:1rem;background:#e8eefb;color:#0b3d91;font-size:.875rem}
.note{color:#44474e;font-size:.9rem}
.scroll{overflow-x:auto}
[hidden]{display:none!important}
header .signout{margin-left:auto}
.notice{background:#e6f4ea;border-left:4px solid #1e7e34;padding:.5rem .75rem}
.detail{background:#f0f1f4;padding:.5rem .75rem;border-radius:4px}
.actions{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;margin-top:1.5rem}
pre{background:#f0f1f4;padding:.75rem;border-radius:4px;overflow-x:auto;font-size:.875rem}
`

// stylesheetURL names the stylesheet by its content, so it can be kept for
// a year and a changed one is fetched at once.
var stylesheetURL = func() string {
	sum := sha256.Sum256([]byte(stylesheet))
	return "/static/style.css?v=" + hex.EncodeToString(sum[:8])
}()

// serveStylesheet serves GET /static/style.css.
func serveStylesheet(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	io.WriteString(w, stylesheet)
}

// layout is shared by every page; each page defines "content".
const layout = `{{define "layout"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · oktasso example</title>
<link rel="stylesheet" href="{{stylesheetURL}}">
</head>
<body>
<header><div>
{{- /* Signed out, the only page is the landing page: its first stop for the
keyboard is the "Sign in with …" button, not a header link. */}}
{{if .User}}{{template "nav"}}
{{template "signout"}}{{else}}<span class="brand">oktasso example</span>{{end}}
</div></header>
<main id="main">
{{template "content" .}}
</main>
</body>
</html>
{{end}}
{{define "nav"}}<a class="brand" href="/">oktasso example</a>
<nav aria-label="Main"><a href="/workspace">Workspace</a> · <a href="/webapp">Web app</a></nav>{{end}}
{{define "signout"}}<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>{{end}}
{{define "user"}}{{with .User}}<dl>
<dt>Name</dt><dd>{{with .Name}}{{.}}{{else}}<span class="note">not shared</span>{{end}}</dd>
<dt>Email</dt><dd>{{with .Email}}{{.}}{{else}}<span class="note">not shared</span>{{end}}{{if .EmailVerified}} <span class="tag">verified</span>{{end}}</dd>
<dt>{{$.Provider}} username</dt><dd>{{.Username}}</dd>
<dt>Subject</dt><dd><code>{{.Subject}}</code></dd>
<dt>Issuer</dt><dd><code>{{.Issuer}}</code></dd>
<dt>Groups</dt><dd>{{range $i, $g := .Groups}}{{if $i}}, {{end}}{{$g}}{{else}}<span class="note">none</span>{{end}}</dd>
<dt>Membership</dt><dd>{{if .Internal}}Internal (workspace member){{else}}External{{end}}</dd>
<dt>Signed in at {{$.Provider}}</dt><dd>{{if .AuthTime.IsZero}}unknown{{else}}<time datetime="{{iso .AuthTime}}">{{when .AuthTime}}</time>{{end}}</dd>
<dt>Local account</dt><dd><code>{{.LocalID}}</code></dd>
</dl>{{end}}{{end}}
`

var pages = map[string]*template.Template{
	"home": page(`{{define "content"}}<h1>Oktasso example</h1>
{{if .SignedOut}}<p class="notice" role="status">You are signed out.</p>
{{end}}{{with .User}}<p>You are signed in as <strong>{{with .Name}}{{.}}{{else}}{{.Email}}{{end}}</strong>{{with .Email}} ({{.}}){{end}},
{{if .Internal}}a workspace member{{else}}an external user{{end}}.</p>
<ul>
<li><a href="/workspace">Open the workspace</a>{{if not .Internal}} <span class="note">(workspace members only)</span>{{end}}</li>
<li><a href="/webapp">Open the web app</a></li>
{{if $.SPA}}<li><a href="/spa/">Try the single-page app and its API</a></li>{{end}}
</ul>
{{else}}<p>This application signs people in with {{.Provider}}.</p>
<p>{{.LoginButton}}</p>
<p class="note">Workspace members can open the <a href="/workspace">workspace</a>;
everyone who may sign in can open the <a href="/webapp">web app</a>.{{if .SPA}}
A <a href="/spa/">single-page app</a> signs in by itself and calls this application's API.{{end}}</p>
{{end}}{{end}}`),

	"workspace": page(`{{define "content"}}<h1>Workspace</h1>
<p>Only internal members reach this page.</p>
<section aria-labelledby="you">
<h2 id="you">Signed in</h2>
{{template "user" .}}
</section>
<section aria-labelledby="accounts">
<h2 id="accounts">Local accounts</h2>
<p>{{.NumAccounts}} account{{if ne .NumAccounts 1}}s{{end}}{{if lt (len .Accounts) .NumAccounts}}; the {{len .Accounts}} newest are listed{{end}}.</p>
<div class="scroll">
<table>
<caption>Accounts this application created on each person's first sign-in, linked by issuer and subject, newest first.</caption>
<thead><tr><th scope="col">Account</th><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Subject</th><th scope="col">Created</th><th scope="col">Last sign-in</th><th scope="col">Sign-ins</th></tr></thead>
<tbody>
{{range .Accounts}}<tr><td><code>{{.ID}}</code></td><td>{{.Name}}{{with .OktaStatus}} <span class="note">({{.}} in Okta)</span>{{end}}</td><td>{{.Email}}</td><td><code>{{.Subject}}</code></td><td><time datetime="{{iso .Created}}">{{when .Created}}</time></td><td><time datetime="{{iso .LastLogin}}">{{when .LastLogin}}</time></td><td>{{.Logins}}</td></tr>
{{else}}<tr><td colspan="7">No accounts yet.</td></tr>
{{end}}</tbody>
</table>
</div>
</section>{{end}}`),

	"webapp": page(`{{define "content"}}<h1>Web app</h1>
<p>Every signed-in user the policy allows reaches this page, internal or external.</p>
<section aria-labelledby="you">
<h2 id="you">Signed in</h2>
{{template "user" .}}
</section>{{end}}`),

	"notfound": page(`{{define "content"}}<h1>Page not found</h1>
<p>There is no page at this address.</p>
<p><a href="/">Go to the home page</a></p>{{end}}`),
}

// libraryPage restyles the pages oktasso renders itself (the sign-out
// confirmation, refusals such as the 403 for non-members, sign-in errors)
// with this application's header and stylesheet: it redefines
// "oktasso-page" of oktasso.DefaultPages (see libraryPages). Their
// Content-Security-Policy, oktasso's, allows inline styles only, so the
// stylesheet is inlined. Signed in (Account is set), the header has the
// navigation and a link to the sign-out confirmation: a sign-out form there
// would post to a redirect to Okta, which these pages' form-action
// allows only on the pages that carry oktasso's own sign-out form.
const libraryPage = `{{define "oktasso-page"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · oktasso example</title>
<style>{{inlineStylesheet}}</style>
</head>
<body>
<header><div>
{{if .Account}}{{template "nav"}}
{{if not .LogoutAction}}<a class="signout" href="/auth/logout">Sign out</a>{{end}}{{else}}<a class="brand" href="/">oktasso example</a>{{end}}
</div></header>
<main id="main">
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{with .Account}}<p>Signed in as <strong>{{.}}</strong>.</p>{{end}}
{{with .Detail}}<p class="detail">{{.}}</p>{{end}}
{{with .Hint}}<p>{{.}}</p>{{end}}
<div class="actions">{{with .LoginURL}}<a href="{{.}}">Sign in again</a>{{end}}
{{- if .LogoutAction}}<form method="post" action="{{.LogoutAction}}"><button type="submit"{{if eq .Kind "logout_confirm"}} autofocus{{end}}>Sign out</button></form>{{end}}
{{- if eq .Kind "logout_confirm"}}<a href="{{.HomeURL}}">Cancel</a>{{else}}<a href="{{.HomeURL}}">Go to the home page</a>{{end}}</div>
</main>
</body>
</html>
{{end}}`

// libraryPages returns the page set for oktasso.Config.Pages: oktasso's
// default set with "oktasso-page" in this application's look, naming the
// provider as set does (the set ConfigFromEnv makes for
// OKTASSO_PROVIDER_NAME; nil names Okta). set itself may have run already,
// so it is read, not cloned.
func libraryPages(set *template.Template) (*template.Template, error) {
	pages := oktasso.DefaultPages().Funcs(funcs)
	if set != nil {
		name := `{{define "oktasso-provider"}}{{` + strconv.Quote(providerName(set)) + `}}{{end}}`
		if _, err := pages.Parse(name); err != nil {
			return nil, err
		}
	}
	return pages.Parse(layout + libraryPage)
}

var base = template.Must(template.New("base").Funcs(funcs).Parse(layout))

func page(content string) *template.Template {
	return template.Must(template.Must(base.Clone()).Parse(content))
}

// render writes a page with status 200, rendered again only when its data
// changed (see pageCache). accountsVersion is the version of data.Accounts
// and data.NumAccounts (0 for pages without them).
func (a *app) render(w http.ResponseWriter, r *http.Request, name string, data pageData, accountsVersion uint64) {
	a.renderStatus(w, r, http.StatusOK, name, data, accountsVersion)
}

// renderStatus is render with another status.
func (a *app) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, data pageData, accountsVersion uint64) {
	key := pageKey(name, data, accountsVersion)
	page := a.pages.get(key)
	if page == nil {
		var buf bytes.Buffer
		if err := pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
			a.log.ErrorContext(r.Context(), "workspace: rendering a page failed", "page", name, "err", err.Error())
			http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
			return
		}
		page = buf.Bytes()
		a.pages.put(key, page)
	}
	a.writePage(w, status, page)
}

// writePage writes a rendered page with security headers. Browsers and
// proxies never keep private pages: they show who is signed in.
func (a *app) writePage(w http.ResponseWriter, status int, page []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", a.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	// With its length, a page over 2 kB goes out in one piece, not chunked.
	h.Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(status)
	w.Write(page)
}
