package oktasso

import (
	"fmt"
	"time"

	"github.com/oktasso/oktasso/internal/clientauth"
)

// defaultClientAuth picks the client authentication method when none is
// configured: private_key_jwt with a key, client_secret_basic with a
// secret, none (a public client) with neither.
func defaultClientAuth(m ClientAuthMethod, secret, key Secret) ClientAuthMethod {
	return ClientAuthMethod(clientauth.Default(string(m), string(secret), string(key)))
}

// configProblem names the Config field a client-authentication problem is
// about, so normalize can report it by its environment variable.
type configProblem struct{ field, msg string }

// checkClientAuth validates the credentials a method needs: exactly one of
// a secret and a key, and a key that loads.
func checkClientAuth(m ClientAuthMethod, secret, key Secret, kid string) *configProblem {
	if p := clientauth.Check(string(m), string(secret), string(key), kid, envPrivateKey); p != nil {
		// The problem names ClientConfig's fields.
		field := map[string]string{"ClientAuth": "AuthMethod", "ClientSecret": "Secret"}[p.Field]
		if field == "" {
			field = p.Field
		}
		return &configProblem{field, p.Msg}
	}
	return nil
}

// clientCreds authenticates the client at the token endpoint with one of
// the ClientAuthMethods. Immutable; safe for concurrent use.
type clientCreds = clientauth.Creds

// newClientCreds validates and loads a client's credentials; method may be
// empty for the default.
func newClientCreds(id string, secret Secret, method ClientAuthMethod, key Secret, kid string, now func() time.Time) (*clientCreds, error) {
	c, err := clientauth.New(id, string(secret), string(method), string(key), kid, envPrivateKey, now)
	if err != nil {
		return nil, fmt.Errorf("oktasso: %w", err)
	}
	return c, nil
}
