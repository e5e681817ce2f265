package oktatest

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
)

// signInData fills the sign-in form.
type signInData struct {
	Action   string
	FromURI  string
	Token    string
	Username string
	Error    string
	Demo     []User
	Code     string // the code step: the accepted code, shown as a hint
}

// signedOutData fills the signed-out page.
type signedOutData struct {
	Frames   []string // front-channel logout URLs, one iframe each
	Continue string   // where to go next; "" for nowhere
}

// errorData fills the error page.
type errorData struct {
	Code, Description string
}

// pages holds the HTML served to browsers. html/template escapes every
// value.
var pages = template.Must(template.New("layout").Parse(`{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.}} · oktatest</title>
{{template "style"}}</head>
<body>
<main>
{{end}}
{{define "style"}}<style>
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d1f23}
main{max-width:24rem;margin:3rem auto;padding:2rem;background:#fff;border:1px solid #c9ccd1;border-radius:8px}
h1{font-size:1.5rem;margin:0 0 1rem}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input{box-sizing:border-box;width:100%;padding:.6rem;font:inherit;color:inherit;border:1px solid #5c6370;border-radius:4px}
button{margin-top:1.5rem;width:100%;padding:.7rem;font:inherit;font-weight:600;color:#fff;background:#0b57d0;border:0;border-radius:4px;cursor:pointer}
button:hover{background:#0842a0}
input:focus-visible,button:focus-visible{outline:3px solid #1d1f23;outline-offset:2px}
.error{padding:.75rem;margin-bottom:1rem;color:#7a1010;background:#fdecec;border:1px solid #b3261e;border-radius:4px}
.note{font-size:.875rem;color:#44474e}
code{font-size:.875rem}
table{border-collapse:collapse;width:100%;font-size:.875rem}
th,td{text-align:left;padding:.25rem .5rem .25rem 0;border-bottom:1px solid #dcdfe4}
</style>
{{end}}
{{define "foot"}}<p class="note">oktatest: a fake Okta org for tests and local development.</p>
</main>
</body>
</html>
{{end}}
{{define "signin"}}{{template "head" "Sign in"}}<h1>Sign in</h1>
{{if .Error}}<div class="error" role="alert" id="signin-error">{{.Error}}</div>
{{end}}<form method="post" action="{{.Action}}" novalidate>
<input type="hidden" name="fromURI" value="{{.FromURI}}">
<input type="hidden" name="token" value="{{.Token}}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="{{.Username}}"{{if not .Username}} autofocus{{end}}{{if .Error}} aria-describedby="signin-error"{{end}}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required{{if .Username}} autofocus{{end}}>
<button type="submit">Sign in</button>
</form>
{{if .Demo}}<h2 style="font-size:1rem;margin-top:2rem">Demo users</h2>
<table>
<thead><tr><th scope="col">Username</th><th scope="col">Password</th><th scope="col">Groups</th></tr></thead>
<tbody>
{{range .Demo}}<tr><td><code>{{.Login}}</code></td><td><code>{{.Password}}</code></td><td>{{range $i, $g := .Groups}}{{if $i}}, {{end}}{{$g}}{{end}}</td></tr>
{{end}}</tbody>
</table>
{{end}}{{template "foot"}}{{end}}
{{define "error"}}{{template "head" "Error"}}<h1>Something went wrong</h1>
<p class="error" role="alert"><strong>{{.Code}}</strong>: {{.Description}}</p>
{{template "foot"}}{{end}}
{{define "verify"}}{{template "head" "Verify with code"}}<h1>Verify with code</h1>
{{if .Error}}<div class="error" role="alert" id="verify-error">{{.Error}}</div>
{{end}}<form method="post" action="{{.Action}}" novalidate>
<input type="hidden" name="fromURI" value="{{.FromURI}}">
<input type="hidden" name="token" value="{{.Token}}">
<label for="code">Enter the code from your authenticator</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus aria-describedby="code-hint{{if .Error}} verify-error{{end}}">
<p class="note" id="code-hint">This fake accepts the code <code>{{.Code}}</code>.</p>
<button type="submit">Verify</button>
</form>
{{template "foot"}}{{end}}
{{define "signedout"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
{{with .Continue}}<meta http-equiv="refresh" content="1; url={{.}}">
{{end}}<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Signed out · oktatest</title>
{{template "style"}}</head>
<body>
<main>
<h1>Signed out</h1>
<p>You have been signed out of the fake Okta org{{if .Frames}} and of {{len .Frames}} application(s){{end}}.</p>
{{range .Frames}}<iframe src="{{.}}" title="Application sign-out" width="0" height="0" style="border:0;position:absolute" tabindex="-1"></iframe>
{{end}}{{with .Continue}}<p><a href="{{.}}">Continue to the application</a></p>
{{end}}{{template "foot"}}{{end}}
`))

// renderPage executes the named page template with data.
func renderPage(w http.ResponseWriter, status int, name string, data any) {
	renderPageFraming(w, status, name, data, nil)
}

// renderPageFraming is renderPage for a page that frames the origins
// frameSrc (the front-channel logout iframes).
func renderPageFraming(w http.ResponseWriter, status int, name string, data any, frameSrc []string) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		panic("oktatest: rendering " + name + ": " + err.Error())
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	csp := "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
	if len(frameSrc) > 0 {
		csp += "; frame-src " + strings.Join(frameSrc, " ")
	}
	h.Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderError shows an error page.
func renderError(w http.ResponseWriter, status int, code, desc string) {
	renderPage(w, status, "error", errorData{Code: code, Description: desc})
}
