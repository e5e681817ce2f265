package oktatest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSignInForm(t *testing.T) {
	s := newTestServer(t)
	browser := newBrowser(t, s)
	u := authURL(s, "default", map[string]string{"login_hint": `<script>alert("x")</script>`})
	resp, body := get(t, browser, u)
	if resp.StatusCode != 200 || resp.Request.URL.Path != SignInPath {
		t.Fatalf("GET authorize = %d at %s; want 200 at %s", resp.StatusCode, resp.Request.URL.Path, SignInPath)
	}
	for _, want := range []string{
		"<h1>Sign in</h1>", `<label for="username">`, `<label for="password">`,
		`autocomplete="current-password"`, "alice@example.com", "alice-password", "bob@partner.example", "bob-password",
		`value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("sign-in form lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("login_hint rendered unescaped")
	}
	form := formFields(t, body)

	tests := []struct {
		name       string
		edit       func(v url.Values)
		header     http.Header
		wantStatus int
	}{
		{"wrong password", func(v url.Values) { v.Set("username", "alice@example.com"); v.Set("password", "nope") }, nil, http.StatusUnauthorized},
		{"unknown user", func(v url.Values) { v.Set("username", "eve@example.com"); v.Set("password", "x") }, nil, http.StatusUnauthorized},
		{"forged token", func(v url.Values) {
			v.Set("username", "alice@example.com")
			v.Set("password", "alice-password")
			v.Set("token", "forged")
		}, nil, http.StatusForbidden},
		{"cross-origin", func(v url.Values) { v.Set("username", "alice@example.com"); v.Set("password", "alice-password") },
			http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden},
		{"cross-site fetch", func(v url.Values) { v.Set("username", "alice@example.com"); v.Set("password", "alice-password") },
			http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"tampered fromURI", func(v url.Values) {
			v.Set("username", "alice@example.com")
			v.Set("password", "alice-password")
			v.Set("fromURI", strings.Replace(v.Get("fromURI"), "app.example", "evil.example", 1))
		}, nil, http.StatusBadRequest},
		{"fromURI to another site", func(v url.Values) {
			v.Set("username", "alice@example.com")
			v.Set("password", "alice-password")
			v.Set("fromURI", "http://evil.example/oauth2/v1/authorize")
		}, nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each attempt needs a fresh rendering (tokens are single use).
			_, page := get(t, browser, s.URL+SignInPath+"?fromURI="+url.QueryEscape(form.Get("fromURI")))
			v := formFields(t, page)
			tt.edit(v)
			resp, body := postForm(t, browser, s.URL+SignInPath, v, tt.header)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Location") != "" {
				t.Fatalf("POST = %d Location %q; want %d without redirect", resp.StatusCode, resp.Header.Get("Location"), tt.wantStatus)
			}
			if tt.wantStatus == http.StatusUnauthorized && (!strings.Contains(body, `role="alert"`) || !strings.Contains(body, "<h1>Sign in</h1>")) {
				t.Error("wrong password did not re-render the form with an error")
			}
		})
	}

	// The correct password continues the authorize request and starts a
	// session; a token cannot be replayed.
	_, page := get(t, browser, s.URL+SignInPath+"?fromURI="+url.QueryEscape(form.Get("fromURI")))
	v := formFields(t, page)
	v.Set("username", "ALICE@example.com")
	v.Set("password", "alice-password")
	resp, body = postForm(t, browser, s.URL+SignInPath, v, http.Header{"Origin": {s.URL}})
	if q := appRedirect(t, resp, body); q.Get("code") == "" || q.Get("state") != "st-123" {
		t.Fatalf("callback = %v; want code and state", q)
	}
	resp, _ = postForm(t, browser, s.URL+SignInPath, v, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("replayed form = %d; want 403", resp.StatusCode)
	}
	resp, body = get(t, browser, authURL(s, "default", map[string]string{"prompt": "none"}))
	if q := appRedirect(t, resp, body); q.Get("code") == "" {
		t.Errorf("authorize after sign-in = %v; want a silent code", q)
	}
}

func TestSignInFormRejectsBadFromURI(t *testing.T) {
	s := newTestServer(t)
	for _, from := range []string{"", "/oauth2/v1/keys", "/oauth2/nope/v1/authorize?client_id=web", "//evil.example/oauth2/v1/authorize",
		"/oauth2/v1/authorize?client_id=web&redirect_uri=http://evil.example/"} {
		resp, _ := get(t, s.Client(), s.URL+SignInPath+"?fromURI="+url.QueryEscape(from))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET sign-in fromURI=%q = %d; want 400", from, resp.StatusCode)
		}
	}
}

func TestSignInInactiveUser(t *testing.T) {
	s := newTestServer(t)
	s.AddUser(User{Login: "gone@example.com", Password: "pw", Status: "DEPROVISIONED"})
	browser := newBrowser(t, s)
	_, body := get(t, browser, authURL(s, "", nil))
	v := formFields(t, body)
	v.Set("username", "gone@example.com")
	v.Set("password", "pw")
	resp, _ := postForm(t, browser, s.URL+SignInPath, v, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("deprovisioned sign-in = %d; want 401", resp.StatusCode)
	}
}
