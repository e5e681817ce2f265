package bearer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/bearer"
	"github.com/oktasso/oktasso/oktatest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Example guards an API with Okta access tokens of a custom authorization
// server. No client secret or session settings are needed: only the
// issuer, the accepted clients and, per route, the scopes.
func Example() {
	okta := oktatest.NewServer()
	defer okta.Close()
	okta.AddClient(oktatest.Client{ID: "0oareports", Secret: "reports-secret"}) // a service app

	api, err := bearer.New(context.Background(), bearer.Config{
		Issuer:     okta.CustomIssuer("default"), // or Domain + AuthServerID: "default"
		ClientIDs:  []string{"0oaspa", "0oareports"},
		HTTPClient: okta.Client(),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/orders", api.Require("orders:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := bearer.TokenFrom(r.Context())
		fmt.Fprintf(w, "orders for %s (scopes %v)", oktasso.UserFrom(r.Context()).Subject, tok.Scopes)
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// The reports service gets a token with client_credentials.
	cc := clientcredentials.Config{
		ClientID: "0oareports", ClientSecret: "reports-secret",
		TokenURL: okta.CustomIssuer("default") + "/v1/token", Scopes: []string{"orders:read"},
	}
	tok, err := cc.Token(context.WithValue(context.Background(), oauth2.HTTPClient, okta.Client()))
	if err != nil {
		log.Fatal(err)
	}
	for _, auth := range []string{"Bearer " + tok.AccessToken, "", "Bearer not-a-jwt"} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/orders", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		challenge, _, _ := strings.Cut(resp.Header.Get("WWW-Authenticate"), ", error_description")
		if resp.StatusCode == http.StatusOK {
			fmt.Println(resp.StatusCode, string(body))
			continue
		}
		fmt.Println(resp.StatusCode, challenge)
	}
	// Output:
	// 200 orders for 0oareports (scopes [orders:read])
	// 401 Bearer realm="api"
	// 401 Bearer realm="api", error="invalid_token"
}

// Example_sharedProvider shares one Provider, and so one discovery and one
// key set, between an app's web sign-in and its API: in such an app, pass
// auth.Provider() of its oktasso.Auth.
func Example_sharedProvider() {
	okta := oktatest.NewServer()
	defer okta.Close()
	okta.AddClient(oktatest.Client{ID: "0oareports", Secret: "reports-secret"})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	provider, err := oktasso.NewProvider(okta.CustomIssuer("default"), okta.Client(), nil, quiet)
	if err != nil {
		log.Fatal(err)
	}
	api, err := bearer.New(context.Background(), bearer.Config{
		Provider:  provider, // the issuer comes from it
		ClientIDs: []string{"0oareports"},
		Logger:    quiet,
	})
	if err != nil {
		log.Fatal(err)
	}
	cc := clientcredentials.Config{
		ClientID: "0oareports", ClientSecret: "reports-secret",
		TokenURL: okta.CustomIssuer("default") + "/v1/token", Scopes: []string{"orders:read"},
	}
	tok, err := cc.Token(context.WithValue(context.Background(), oauth2.HTTPClient, okta.Client()))
	if err != nil {
		log.Fatal(err)
	}
	at, err := api.Verify(context.Background(), tok.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(api.Issuer() == provider.Issuer(), at.ClientID, at.HasScope("orders:read"))
	_, err = api.Verify(context.Background(), "eyJhbGciOiJub25lIn0.e30.")
	var te *oktasso.TokenError
	fmt.Println(errors.As(err, &te), te.Reason)
	// Output:
	// true 0oareports true
	// true token_invalid
}
