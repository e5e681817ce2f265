package oktatest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

func ExampleNewServer() {
	srv := oktatest.NewServer()
	defer srv.Close()
	srv.AddClient(oktatest.Client{
		ID:           "app",
		Secret:       "app-secret",
		RedirectURIs: []string{"http://127.0.0.1:8080/auth/callback"},
	})
	alice := srv.AddDemoUsers()[0]
	srv.AutoLogin(alice.Login) // no sign-in form in automated tests

	resp, err := srv.Client().Get(srv.CustomIssuer("default") + "/.well-known/openid-configuration")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer        string `json:"issuer"`
		Authorization string `json:"authorization_endpoint"`
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	fmt.Println(doc.Issuer == srv.URL+"/oauth2/default")
	fmt.Println(doc.Authorization == srv.URL+"/oauth2/default/v1/authorize")
	// Output:
	// true
	// true
}

func ExampleServer_MutateIDToken() {
	srv := oktatest.NewServer()
	defer srv.Close()
	// Every ID token from now on has a foreign audience and a broken
	// signature; a correct relying party must refuse the sign-in.
	srv.MutateIDToken(func(t *oktatest.Token) {
		t.Claims["aud"] = "someone-else"
		t.Sign = oktatest.SignCorrupt
	})
	defer srv.MutateIDToken(nil)
	fmt.Println(oktatest.SignCorrupt)
	// Output: SignCorrupt
}

// ExampleServer_AutoLogin is a test of an application that signs people in
// with Okta: the fake org stands in for Okta, AutoLogin skips the sign-in
// form, and a cookie-keeping client plays the browser.
func ExampleServer_AutoLogin() {
	okta := oktatest.NewServer()
	defer okta.Close()
	okta.AddDemoUsers()
	okta.AutoLogin("alice@example.com")

	app := httptest.NewUnstartedServer(nil) // the application under test
	base := "http://" + app.Listener.Addr().String()
	dev := okta.DevSetup(oktatest.DevApp{RedirectURIs: []string{base + oktasso.CallbackPath}})
	auth, err := oktasso.New(context.Background(), oktasso.Config{
		Issuer:     dev.OrgIssuer,
		BaseURL:    base,
		HTTPClient: okta.Client(),
		Logger:     slog.New(slog.DiscardHandler),
		Client:     oktasso.ClientConfig{ID: dev.ClientID, Secret: oktasso.Secret(dev.ClientSecret)},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/me", auth.WebApp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, oktasso.UserFrom(r.Context()).Email)
	})))
	app.Config.Handler = mux
	app.Start()
	defer app.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(app.URL + "/me") // → Okta → callback → /me
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 alice@example.com
}

// ExampleServer_EndSession shows back-channel logout, which Okta never
// sends but other providers do: with SendBackchannelLogout on, ending a
// user's session POSTs a logout token to every application the user signed
// in to that registered a BackchannelLogoutURI.
func ExampleServer_EndSession() {
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A real RP verifies the token (iss, aud, events, sid or sub) and
		// ends the matching local sessions.
		w.WriteHeader(http.StatusOK)
	}))
	defer rp.Close()
	okta := oktatest.NewServer()
	defer okta.Close()
	okta.SendBackchannelLogout(true)
	okta.AddDemoUsers()
	okta.AddClient(oktatest.Client{
		ID: "app", Secret: "app-secret",
		RedirectURIs:         []string{"http://127.0.0.1:8080/auth/callback"},
		BackchannelLogoutURI: rp.URL + "/auth/backchannel-logout",
	})
	okta.AutoLogin("alice@example.com")
	// alice signs in to "app" (a browser without cookies stops at the
	// redirect back to the app).
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	jar, _ := cookiejar.New(nil)
	noRedirects.Jar = jar
	resp, err := noRedirects.Get(okta.Issuer() + "/oauth2/v1/authorize?" + url.Values{
		"client_id": {"app"}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"},
		"redirect_uri": {"http://127.0.0.1:8080/auth/callback"},
	}.Encode())
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()

	okta.EndSession("alice@example.com")
	for _, d := range okta.BackchannelDeliveries() {
		fmt.Println(d.ClientID, d.Status, d.SID != "", strings.Count(d.LogoutToken, "."))
	}
	// Output: app 200 true 2
}

// ExampleServer_Fault makes the token endpoint fail once, the way an Okta
// hiccup would, then recover.
func ExampleServer_Fault() {
	okta := oktatest.NewServer()
	defer okta.Close()
	okta.Fault("token", oktatest.Fault{
		Status: http.StatusServiceUnavailable,
		Body:   []byte(`{"errorCode":"E0000009","errorSummary":"Internal Server Error"}`),
		Times:  1,
	})
	for range 2 {
		resp, err := okta.Client().PostForm(okta.CustomIssuer("default")+"/v1/token", url.Values{"grant_type": {"client_credentials"}})
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 503
	// 401
}

// ExampleServer_DevSetup prepares a fake org for local development, as
// "oktasso dev" does.
func ExampleServer_DevSetup() {
	okta := oktatest.NewServer()
	defer okta.Close()
	dev := okta.DevSetup(oktatest.DevApp{ClientSecret: "dev-secret"})
	for _, line := range dev.Env() {
		name, value, _ := strings.Cut(line, "=")
		fmt.Println(name, value == dev.OrgIssuer || value == "oktasso-dev" || value == "dev-secret")
	}
	for _, u := range dev.Users {
		fmt.Println(u.Login, u.Password)
	}
	// Output:
	// OKTA_ISSUER true
	// OKTA_CLIENT_ID true
	// OKTA_CLIENT_SECRET true
	// alice@example.com alice-password
	// bob@partner.example bob-password
}
