package oktatest

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// logoutReceiver is a relying party's back-channel logout endpoint: it
// records the logout tokens POSTed to it and answers 200 on /ok, 500
// elsewhere.
type logoutReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	tokens map[string][]string // path → logout tokens
}

func newLogoutReceiver(t testing.TB) *logoutReceiver {
	t.Helper()
	lr := &logoutReceiver{tokens: map[string][]string{}}
	lr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "want a form POST", http.StatusBadRequest)
			return
		}
		lr.mu.Lock()
		lr.tokens[r.URL.Path] = append(lr.tokens[r.URL.Path], r.FormValue("logout_token"))
		lr.mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path != "/ok" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(lr.Close)
	return lr
}

func (lr *logoutReceiver) received(path string) []string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return slices.Clone(lr.tokens[path])
}

// verifyLogoutToken checks a logout token with go-jose against the JWKS of
// issuer and returns its claims.
func verifyLogoutToken(t testing.TB, s *Server, issuer, raw string) (map[string]any, error) {
	t.Helper()
	keysURL := s.URL + "/oauth2/v1/keys"
	if issuer != s.URL {
		keysURL = issuer + "/v1/keys"
	}
	_, body := get(t, s.Client(), keysURL)
	var jwks jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(body), &jwks); err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, err
	}
	if typ := tok.Headers[0].ExtraHeaders[jose.HeaderType]; typ != "logout+jwt" {
		t.Errorf("logout token typ = %v; want logout+jwt", typ)
	}
	var claims map[string]any
	if err := tok.Claims(jwks, &claims); err != nil {
		return nil, err
	}
	return claims, nil
}

func TestSingleLogout(t *testing.T) {
	rp := newLogoutReceiver(t)
	s := NewServer()
	t.Cleanup(s.Close)
	s.SendBackchannelLogout(true) // as another OpenID provider would
	alice := s.AddDemoUsers()[0]
	s.AddClient(Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{webRedirect}, PostLogoutRedirectURIs: []string{webLogoutURI},
		BackchannelLogoutURI: rp.URL + "/ok", FrontchannelLogoutURI: "http://app.example/auth/frontchannel"})
	s.AddClient(Client{ID: "broken", Secret: "x", RedirectURIs: []string{webRedirect}, BackchannelLogoutURI: rp.URL + "/fail",
		FrontchannelLogoutURI: "https://other.example/fc?tenant=1"})
	s.AddClient(Client{ID: "plain", Secret: "x", RedirectURIs: []string{webRedirect}})
	s.AddClient(Client{ID: "unused", Secret: "x", RedirectURIs: []string{webRedirect}, BackchannelLogoutURI: rp.URL + "/unused"})

	// Alice signs in to web (custom server), then broken (org server) and
	// plain silently with the same SSO session.
	s.AutoLogin(alice.Login)
	browser := newBrowser(t, s)
	f := newFlow(t, s, s.CustomIssuer("default"))
	hint := rawIDToken(t, f.login(t, s, browser))
	sid, _ := jwtClaims(t, hint)["sid"].(string)
	s.AutoLogin("")
	for _, c := range []string{"broken", "plain"} {
		resp, body := get(t, browser, authURL(s, "", map[string]string{"client_id": c}))
		appRedirect(t, resp, body)
	}

	logout := s.CustomIssuer("default") + "/v1/logout?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {webLogoutURI}, "state": {"bye"}}.Encode()
	resp, body := get(t, browser, logout)

	// Front-channel: one iframe per application with a front-channel URI,
	// then on to the post-logout redirect URI.
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout = %d %q; want 200 signed-out page with iframes", resp.StatusCode, resp.Header.Get("Location"))
	}
	wantFrames := []string{
		"http://app.example/auth/frontchannel?" + url.Values{"iss": {s.CustomIssuer("default")}, "sid": {sid}}.Encode(),
		"https://other.example/fc?tenant=1&" + url.Values{"iss": {s.Issuer()}, "sid": {sid}}.Encode(),
	}
	for _, fr := range wantFrames {
		if !strings.Contains(body, `<iframe src="`+html.EscapeString(fr)+`"`) {
			t.Errorf("signed-out page lacks an iframe for %s\n%s", fr, body)
		}
	}
	if n := strings.Count(body, "<iframe"); n != 2 {
		t.Errorf("signed-out page has %d iframes; want 2", n)
	}
	if want := html.EscapeString(webLogoutURI + "?state=bye"); !strings.Contains(body, `url=`+want) || !strings.Contains(body, `href="`+want+`"`) {
		t.Errorf("signed-out page does not continue to %s\n%s", want, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src http://app.example https://other.example") {
		t.Errorf("CSP = %q; want frame-src for the front-channel origins", csp)
	}

	// Back-channel: delivered before the logout answered.
	ds := s.BackchannelDeliveries()
	if len(ds) != 2 {
		t.Fatalf("BackchannelDeliveries() = %d deliveries; want 2 (web, broken): %+v", len(ds), ds)
	}
	want := []struct {
		client, uri, issuer string
		status              int
	}{
		{"web", rp.URL + "/ok", s.CustomIssuer("default"), 200},
		{"broken", rp.URL + "/fail", s.Issuer(), 500},
	}
	for i, w := range want {
		d := ds[i]
		if d.ClientID != w.client || d.URI != w.uri || d.Issuer != w.issuer || d.Status != w.status || d.Err != nil || d.SID != sid || d.Subject != alice.ID {
			t.Errorf("delivery %d = %+v; want client %s to %s from %s, status %d, sid %s, sub %s", i, d, w.client, w.uri, w.issuer, w.status, sid, alice.ID)
		}
		path := strings.TrimPrefix(w.uri, rp.URL)
		if got := rp.received(path); len(got) != 1 || got[0] != d.LogoutToken {
			t.Errorf("receiver %s got %d tokens; want the delivered one", path, len(got))
		}
		claims, err := verifyLogoutToken(t, s, w.issuer, d.LogoutToken)
		if err != nil {
			t.Fatalf("verifying the logout token of %s: %v", w.client, err)
		}
		events, _ := claims["events"].(map[string]any)
		if _, ok := events["http://schemas.openid.net/event/backchannel-logout"]; !ok || claims["iss"] != w.issuer ||
			claims["aud"] != w.client || claims["sub"] != alice.ID || claims["sid"] != sid ||
			claims["iat"] == nil || claims["exp"] == nil || claims["jti"] == nil {
			t.Errorf("logout token claims = %v", claims)
		}
		if _, ok := claims["nonce"]; ok {
			t.Error("logout token has a nonce")
		}
	}
	if got := rp.received("/unused"); len(got) != 0 {
		t.Errorf("an application the user never signed in to got %d logout tokens", len(got))
	}

	// The session is over: a second logout notifies nobody.
	resp, body = get(t, browser, authURL(s, "default", map[string]string{"prompt": "none"}))
	if q := appRedirect(t, resp, body); q.Get("error") != "login_required" {
		t.Errorf("authorize after logout = %v; want login_required", q)
	}
	get(t, browser, s.CustomIssuer("default")+"/v1/logout?"+url.Values{"id_token_hint": {hint}}.Encode())
	if n := len(s.BackchannelDeliveries()); n != 2 {
		t.Errorf("deliveries after a logout without a session = %d; want still 2", n)
	}
}

func TestFrontchannelWithoutRedirect(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddDemoUsers()
	s.AddClient(Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{webRedirect}, FrontchannelLogoutURI: "http://app.example/fc"})
	s.AutoLogin("alice@example.com")
	browser := newBrowser(t, s)
	hint := rawIDToken(t, newFlow(t, s, s.Issuer()).login(t, s, browser))
	resp, body := get(t, browser, s.URL+"/oauth2/v1/logout?"+url.Values{"id_token_hint": {hint}}.Encode())
	if resp.StatusCode != 200 || strings.Count(body, "<iframe") != 1 || strings.Contains(body, "http-equiv") {
		t.Errorf("logout without post_logout_redirect_uri = %d; want the signed-out page with one iframe and no refresh\n%s", resp.StatusCode, body)
	}
}

func TestEndSession(t *testing.T) {
	rp := newLogoutReceiver(t)
	s := NewServer()
	t.Cleanup(s.Close)
	s.SendBackchannelLogout(true) // as another OpenID provider would
	users := s.AddDemoUsers()
	s.AddClient(Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{webRedirect}, BackchannelLogoutURI: rp.URL + "/ok"})
	f := newFlow(t, s, s.CustomIssuer("default"))
	sids := map[string][]string{}
	browsers := map[string][]*http.Client{}
	for _, u := range []User{users[0], users[0], users[1]} { // alice twice, bob once
		s.AutoLogin(u.Login)
		b := newBrowser(t, s)
		sid, _ := jwtClaims(t, rawIDToken(t, f.login(t, s, b)))["sid"].(string)
		sids[u.Login] = append(sids[u.Login], sid)
		browsers[u.Login] = append(browsers[u.Login], b)
	}
	s.AutoLogin("")

	// A negative test: the RP must refuse this token.
	s.MutateLogoutToken(func(tok *Token) {
		delete(tok.Claims, "sid")
		tok.Claims["nonce"] = "n"
		tok.Sign = SignCorrupt
	})
	s.EndSession("ALICE@example.com")
	s.MutateLogoutToken(nil)

	ds := s.BackchannelDeliveries()
	if len(ds) != 2 {
		t.Fatalf("EndSession(alice): %d deliveries; want 2 (one per session)", len(ds))
	}
	gotSIDs := []string{ds[0].SID, ds[1].SID}
	slices.Sort(gotSIDs)
	wantSIDs := slices.Sorted(slices.Values(sids["alice@example.com"]))
	if !slices.Equal(gotSIDs, wantSIDs) || gotSIDs[0] == gotSIDs[1] {
		t.Errorf("delivered sids %v; want alice's sessions %v", gotSIDs, wantSIDs)
	}
	for _, d := range ds {
		c := jwtClaims(t, d.LogoutToken)
		if _, ok := c["sid"]; ok || c["nonce"] != "n" {
			t.Errorf("MutateLogoutToken not applied: %v", c)
		}
		if _, err := verifyLogoutToken(t, s, s.CustomIssuer("default"), d.LogoutToken); err == nil {
			t.Error("a SignCorrupt logout token verified")
		}
	}
	for login, bs := range browsers {
		for _, b := range bs {
			resp, body := get(t, b, authURL(s, "default", map[string]string{"prompt": "none"}))
			q := appRedirect(t, resp, body)
			if ended := q.Get("error") == "login_required"; ended != (login == "alice@example.com") {
				t.Errorf("%s after EndSession(alice): callback %v", login, q)
			}
		}
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("EndSession(unknown) did not panic")
			}
		}()
		s.EndSession("ghost@example.com")
	}()
}

func TestBackchannelUnreachable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/bc"
	dead.Close()
	s := NewServer()
	t.Cleanup(s.Close)
	s.SendBackchannelLogout(true) // as another OpenID provider would
	s.AddDemoUsers()
	s.AddClient(Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{webRedirect}, BackchannelLogoutURI: deadURL})
	s.AutoLogin("alice@example.com")
	newFlow(t, s, s.Issuer()).login(t, s, newBrowser(t, s))
	s.EndSession("alice@example.com")
	ds := s.BackchannelDeliveries()
	if len(ds) != 1 || ds[0].Err == nil || ds[0].Status != 0 {
		t.Errorf("delivery to a closed port = %+v; want one with Err set and Status 0", ds)
	}
}

// TestBackchannelOffByDefault: like Okta, the fake sends no back-channel
// logout token unless told to, whether the user signs out at the logout
// endpoint or an admin ends the session.
func TestBackchannelOffByDefault(t *testing.T) {
	rp := newLogoutReceiver(t)
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddDemoUsers()
	s.AddClient(Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{webRedirect}, PostLogoutRedirectURIs: []string{webLogoutURI},
		BackchannelLogoutURI: rp.URL + "/ok"})
	s.AutoLogin("alice@example.com")
	f := newFlow(t, s, s.Issuer())
	b := newBrowser(t, s)
	tok := f.login(t, s, b)
	resp, _ := get(t, b, s.Issuer()+"/oauth2/v1/logout?"+url.Values{"id_token_hint": {rawIDToken(t, tok)}, "post_logout_redirect_uri": {webLogoutURI}}.Encode())
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != webLogoutURI {
		t.Fatalf("logout = %d %q; want 302 to %s", resp.StatusCode, loc, webLogoutURI)
	}
	f.login(t, s, newBrowser(t, s))
	s.EndSession("alice@example.com")
	if ds := s.BackchannelDeliveries(); len(ds) != 0 {
		t.Errorf("BackchannelDeliveries() = %+v; want none without SendBackchannelLogout", ds)
	}
	s.SendBackchannelLogout(true)
	f.login(t, s, newBrowser(t, s))
	s.EndSession("alice@example.com")
	if ds := s.BackchannelDeliveries(); len(ds) != 1 || ds[0].Status != http.StatusOK {
		t.Errorf("BackchannelDeliveries() after SendBackchannelLogout(true) = %+v; want one answered 200", ds)
	}
}
