package oktasso

import (
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// pageKind selects what a person is told on an error or status page. The
// text never includes err.Error(): only fixed sentences and, escaped, the
// provider's error description or the user's own email.
type pageKind int

const (
	pageBadCallback pageKind = iota
	pageProviderError
	pageLoginExpired
	pageMisconfigured
	pageUnavailable
	pageBadToken
	pageRefused
	pageLoginFailed
	pageNotMember
	pageNotAllowed
	pageCrossSite
	pageLogoutConfirm
	pageSignedOut
	pageForeignIssuer
	pageUserInfoFailed
	pageUnmetRequirements
	pageInteractionRequired
	pageNotFound
)

// pageText is what a page says; "{provider}" in it is the provider's name
// (the "oktasso-provider" template of Config.Pages, "Okta" by default).
type pageText struct{ title, message, hint string }

var pageTexts = map[pageKind]pageText{
	pageNotFound:       {"Page not found", "There is no page at this address.", "Go to the home page, or start again from the application."},
	pageBadCallback:    {"Sign-in could not be completed", "This sign-in response does not match a sign-in started in this browser, or it was already used or has expired.", "Start again from the application."},
	pageProviderError:  {"Sign-in was refused", "{provider} did not complete the sign-in.", "If this keeps happening, ask your {provider} administrator for help."},
	pageLoginExpired:   {"Sign-in expired", "The sign-in took too long or was already used.", "Start again from the application."},
	pageMisconfigured:  {"Sign-in is not set up correctly", "{provider} refused this application's credentials.", "Tell the application's administrator: the {provider} client ID or secret is wrong."},
	pageUnavailable:    {"{provider} is not reachable", "The application cannot reach {provider} right now.", "Try again in a moment."},
	pageBadToken:       {"Sign-in could not be verified", "The answer from {provider} did not pass the application's security checks.", "Start again; if it keeps happening, tell the application's administrator."},
	pageRefused:        {"Access denied", "This application does not allow your account to sign in.", "Ask the application's administrator for access."},
	pageLoginFailed:    {"Sign-in failed", "Something went wrong on our side while signing you in.", "Try again in a moment."},
	pageNotMember:      {"Workspace members only", "You are signed in, but the workspace is only for internal members and your account is an external one.", "Ask a workspace administrator to add you, or sign in with your member account."},
	pageNotAllowed:     {"Access denied", "You are signed in, but your account is not allowed to use this application.", "Ask the application's administrator for access."},
	pageCrossSite:      {"Request refused", "This request did not come from this application's own pages.", "Use the application's own sign-out button."},
	pageLogoutConfirm:  {"Sign out", "Do you want to sign out?", ""},
	pageSignedOut:      {"Signed out", "You are signed out of this application.", ""},
	pageUserInfoFailed: {"Sign-in could not be completed", "{provider} did not send your account details to this application.", "Sign in again; if it keeps happening, tell the application's administrator."},
	pageUnmetRequirements: {"A stronger sign-in is needed", "Your sign-in did not meet this page's security requirements: {provider} could not verify you with a method strong enough for it.",
		"Try again with a stronger method, such as a security key, a passkey or an authenticator app; if you have none set up, ask your {provider} administrator to help you add one."},
	pageInteractionRequired: {"Sign-in needs you", "{provider} needs you to sign in, or to confirm something, before this application can continue.", "Sign in again to continue."},
	pageForeignIssuer:       {"Sign-in link not recognised", "This sign-in link does not come from the {provider} organization this application uses.", "Open the application from your own {provider} dashboard, or sign in from the application."},
}

// unavailableNoHost is pageUnavailable's text when the provider's host name
// does not resolve: retrying will not help, its administrator must act.
var unavailableNoHost = pageText{"{provider} is not reachable", "The application cannot find {provider}: the address it is set up with does not exist on the network.", "Tell the application's administrator: the {provider} domain in its settings may be mistyped (or be the admin console's address), or this server cannot look it up."}

// providerHints explains the provider's error codes to the person who sees them.
var providerHints = map[string]string{
	"access_denied": "Ask your {provider} administrator to assign you to this application.",
	"invalid_scope": "Tell the application's administrator: the requested scopes are not allowed in {provider}.",
}

// page is what every page oktasso renders is made from: a sign-in error, a
// refusal, the sign-out confirmation. Its fields are what a restyled
// "oktasso-page" template reads (see DefaultPages); every text is plain and
// escaped by html/template.
type page struct {
	Status       int    // the HTTP status
	Provider     string // the provider's name, e.g. "Okta"
	Kind         string // a stable name for the situation, e.g. "not_member", "bad_callback", "logout_confirm"
	Title        string
	Message      string // what happened
	Detail       string // the provider's or the application's description, when there is one
	Hint         string // what the person can do
	Account      string // the signed-in user's email or name, when known
	HomeURL      string
	LoginURL     string // set when signing in again helps
	LogoutAction string // on the sign-out confirmation: where its form POSTs
}

// kindNames are the stable page.Kind values.
var kindNames = map[pageKind]string{
	pageBadCallback: "bad_callback", pageProviderError: "provider_error", pageLoginExpired: "login_expired",
	pageMisconfigured: "misconfigured", pageUnavailable: "unavailable", pageBadToken: "bad_token",
	pageRefused: "refused", pageLoginFailed: "login_failed", pageNotMember: "not_member",
	pageNotAllowed: "not_allowed", pageCrossSite: "cross_site", pageLogoutConfirm: "logout_confirm",
	pageSignedOut: "signed_out", pageForeignIssuer: "foreign_issuer", pageUserInfoFailed: "userinfo_failed",
	pageUnmetRequirements: "unmet_requirements", pageInteractionRequired: "interaction_required",
	pageNotFound: "not_found",
}

// The templates in a page set (see DefaultPages).
const (
	pageTemplate        = "oktasso-page"
	styleTemplate       = "oktasso-style"
	loginButtonTemplate = "oktasso-login-button"
	providerTemplate    = "oktasso-provider"
)

// defaultProviderName names the provider when the pages do not.
const defaultProviderName = "Okta"

// maxProviderName bounds the provider's name, in characters.
const maxProviderName = 64

// loginButtonData is what the "oktasso-login-button" template renders.
type loginButtonData struct {
	URL      string // the sign-in URL
	Label    string // "Sign in with Okta"
	Provider string // "Okta"
}

const defaultPages = `{{define "oktasso-style"}}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f5f6f8;color:#1d1d21}
main{max-width:32rem;margin:4rem auto;padding:2rem;background:#fff;border:1px solid #d7d9de;border-radius:8px}
h1{font-size:1.4rem;margin:0 0 1rem}
p{margin:.5rem 0}.detail{color:#333;background:#f0f1f4;padding:.5rem .75rem;border-radius:4px}
a,button{font:inherit;color:#fff;background:#1a5fb4;border:0;border-radius:4px;padding:.5rem 1rem;text-decoration:none;display:inline-block;margin:1rem 1rem 0 0;cursor:pointer}
a.secondary{background:none;color:#1a5fb4;text-decoration:underline;padding:.5rem 0}
form{display:inline}
a:focus,button:focus{outline:3px solid #1d1d21;outline-offset:2px}
{{end}}
{{define "oktasso-page"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>{{template "oktasso-style"}}</style></head>
<body><main>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{with .Account}}<p>Signed in as <strong>{{.}}</strong>.</p>{{end}}
{{with .Detail}}<p class="detail">{{.}}</p>{{end}}
{{with .Hint}}<p>{{.}}</p>{{end}}
<div>{{with .LoginURL}}<a href="{{.}}">Sign in again</a>{{end}}
{{- if .LogoutAction}}<form method="post" action="{{.LogoutAction}}"><button type="submit">Sign out</button></form>{{end}}
{{- if eq .Kind "logout_confirm"}}<a class="secondary" href="{{.HomeURL}}">Cancel</a>{{else}}<a class="secondary" href="{{.HomeURL}}">Go to the home page</a>{{end}}</div>
</main></body></html>
{{end}}
{{define "oktasso-provider"}}Okta{{end}}
{{define "oktasso-login-button"}}<a class="oktasso-login-button" href="{{.URL}}" style="display:inline-flex;align-items:center;gap:.5rem;font:600 16px/1.5 system-ui,sans-serif;color:#fff;background:#1662dd;border-radius:6px;padding:.6rem 1.2rem;text-decoration:none"><svg aria-hidden="true" width="18" height="18" viewBox="0 0 18 18"><circle cx="9" cy="9" r="7" fill="none" stroke="#fff" stroke-width="3"/></svg>{{.Label}}</a>{{end}}`

// DefaultPages returns a fresh copy of oktasso's page templates, to start a
// restyle from: redefine any of them and set the result as Config.Pages.
// The set has four templates:
//
//   - "oktasso-page" renders every page oktasso shows (a sign-in error, a
//     refusal, the sign-out confirmation); a custom set must define it. It
//     is executed with a value whose fields are Status (the HTTP status),
//     Provider (the provider's name), Kind (a stable name such as
//     "not_member", "bad_callback", "logout_confirm"), Title, Message (what
//     happened), Detail (the provider's or the application's description),
//     Hint (what the person can do), Account (the signed-in user's email or
//     name), HomeURL, LoginURL (set when signing in again helps) and
//     LogoutAction (on the sign-out confirmation: where its form POSTs).
//   - "oktasso-style" is the CSS of the default page.
//   - "oktasso-provider" is the provider's name as people know it, "Okta":
//     the pages, their texts ("Okta is not reachable") and the button say
//     it. OKTASSO_PROVIDER_NAME redefines it; so can a set of your own,
//     e.g. {{define "oktasso-provider"}}Keycloak{{end}}. It is read once,
//     by New, as plain text (at most 64 characters).
//   - "oktasso-login-button" renders the "Sign in with Okta" button for an
//     application's own pages (Auth.LoginButton), from fields URL, Label
//     ("Sign in with " and the provider's name) and Provider.
func DefaultPages() *template.Template {
	return template.Must(template.New("oktasso").Parse(defaultPages))
}

// pagesNaming returns DefaultPages with the provider named name, for
// OKTASSO_PROVIDER_NAME. The name is a template string, so any text is
// safe in it.
func pagesNaming(name string) (*template.Template, error) {
	return DefaultPages().Parse(`{{define "` + providerTemplate + `"}}{{` + strconv.Quote(name) + `}}{{end}}`)
}

// checkProviderName says what is wrong with a provider's name, or "".
func checkProviderName(name string) string {
	switch {
	case name == "":
		return "is empty"
	case utf8.RuneCountInString(name) > maxProviderName:
		return fmt.Sprintf("is longer than %d characters", maxProviderName)
	case !utf8.ValidString(name) || !printable(name):
		return "has control characters or is not UTF-8"
	}
	return ""
}

// providerNameOf reads the provider's name from the "oktasso-provider"
// template of pages (or of the default pages) as plain text: the template
// may write it escaped, as html/template does. When the template fails or
// its text is not a name, it returns "Okta" and what is wrong.
func providerNameOf(pages *template.Template) (name, problem string) {
	t := pages.Lookup(providerTemplate)
	if t == nil {
		return defaultProviderName, ""
	}
	var b strings.Builder
	if err := t.Execute(&b, nil); err != nil {
		return defaultProviderName, fmt.Sprintf("template %q fails: %s", providerTemplate, err.Error())
	}
	name = strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
	if msg := checkProviderName(name); msg != "" {
		return defaultProviderName, fmt.Sprintf("template %q %s; write the provider's name, e.g. Keycloak", providerTemplate, msg)
	}
	return name, ""
}

var builtinPages = DefaultPages()

// securityHeaders are set on every page oktasso renders. formTargets are
// extra origins a form on the page may reach, redirects included: Chrome
// and Safari apply form-action to the redirect chain after a submit.
func securityHeaders(w http.ResponseWriter, formTargets ...string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	formAction := "'self'"
	for _, t := range formTargets {
		formAction += " " + t
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+formAction+"; frame-ancestors 'none'")
	noStore(w)
}

// fail answers a browser with an error page (or the configured
// ErrorHandler). err is for the handler and the logs, never for the page.
func (a *Auth) fail(w http.ResponseWriter, r *http.Request, status int, err error, kind pageKind) {
	if a.cfg.Hooks.ErrorHandler != nil {
		noStore(w)
		a.cfg.Hooks.ErrorHandler(w, r, status, err)
		return
	}
	a.render(w, status, a.pageFor(kind, err, UserFrom(r.Context())))
}

func (a *Auth) pageFor(kind pageKind, err error, u *User) page {
	t := pageTexts[kind]
	if kind == pageUnavailable && unreachableKindOf(err) == unreachableNoHost {
		t = unavailableNoHost
	}
	p := page{Provider: a.providerName, Kind: kindNames[kind], Title: a.naming(t.title), Message: a.naming(t.message), Hint: a.naming(t.hint), HomeURL: a.cfg.BaseURL + "/"}
	var oe *Error
	if err != nil && errors.As(err, &oe) && (kind == pageProviderError || kind == pageRefused) {
		p.Detail = oe.Description
		if h, ok := providerHints[oe.Code]; ok && kind == pageProviderError {
			p.Hint = a.naming(h)
		}
	}
	switch kind {
	case pageBadCallback, pageLoginExpired, pageBadToken, pageProviderError, pageUserInfoFailed, pageUnmetRequirements, pageInteractionRequired:
		p.LoginURL = a.cfg.BaseURL + loginPath
	}
	if u != nil {
		p.Account = u.Email
		if p.Account == "" {
			p.Account = u.Name
		}
	}
	return p
}

// naming puts the provider's name into a page text.
func (a *Auth) naming(text string) string {
	return strings.ReplaceAll(text, "{provider}", a.providerName)
}

func (a *Auth) render(w http.ResponseWriter, status int, p page) {
	p.Status = status
	if p.LogoutAction != "" {
		// The sign-out form's POST is redirected to the provider's
		// end_session_endpoint and back to this app.
		securityHeaders(w, a.cfg.BaseURL, originOf(a.provider.issuer))
	} else {
		securityHeaders(w)
	}
	w.WriteHeader(status)
	if err := a.pages.ExecuteTemplate(w, pageTemplate, p); err != nil {
		a.cfg.Logger.Error("oktasso: rendering a page failed", "err", err.Error())
	}
}

// unavailable answers 503 with Retry-After while the provider is down.
func (a *Auth) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	secs := int((retryAfter(err) + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	if isAPI(r) {
		writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the identity provider is unreachable; retry later", "")
		return
	}
	a.fail(w, r, http.StatusServiceUnavailable, err, pageUnavailable)
}

// originOf returns scheme://host of a URL, or "" when it has none.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// LoginButton renders the "Sign in with Okta" button ("oktasso-login-button" of
// Config.Pages, or the default; "oktasso-provider" names the provider)
// linking to a sign-in that returns to returnTo, for the application's own
// templates.
func (a *Auth) LoginButton(returnTo string) template.HTML {
	t := a.pages.Lookup(loginButtonTemplate)
	if t == nil {
		t = builtinPages.Lookup(loginButtonTemplate)
	}
	var b strings.Builder
	if err := t.Execute(&b, loginButtonData{URL: a.LoginURL(returnTo), Label: "Sign in with " + a.providerName, Provider: a.providerName}); err != nil {
		a.cfg.Logger.Error("oktasso: rendering the login button failed", "err", err.Error())
		return ""
	}
	return template.HTML(b.String())
}
