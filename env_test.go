package oktasso

import (
	"strings"
	"testing"
)

// TestConfigFromLookupPartial: an environment with some OKTA_* variables
// but not enough to sign in is an error that names each missing variable
// and what to set, never a silently empty configuration.
func TestConfigFromLookupPartial(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    []string
		notWant []string
	}{
		{"client ID only", map[string]string{envClientID: "0oa1"}, []string{"OKTA_ISSUER (or OKTA_DOMAIN)", "set OKTA_DOMAIN"}, []string{"OKTA_CLIENT_ID"}},
		{"secret only", map[string]string{envClientSecret: "s"}, []string{"OKTA_ISSUER (or OKTA_DOMAIN)", "OKTA_CLIENT_ID: is empty"}, nil},
		{"domain only", map[string]string{envDomain: "dev-123.okta.com"}, []string{"OKTA_CLIENT_ID: is empty", "Client ID"}, []string{"no issuer"}},
		{"issuer only", map[string]string{envIssuer: "https://dev-123.okta.com"}, []string{"OKTA_CLIENT_ID: is empty"}, []string{"no issuer"}},
		{"auth server only", map[string]string{envAuthServerID: "default"}, []string{"no issuer", "OKTA_CLIENT_ID"}, nil},
		{"CLI names, client ID only", map[string]string{envCLIClientID: "0oa1"}, []string{"OKTA_ISSUER (or OKTA_DOMAIN)"}, nil},
		{"private_key_jwt without a key", map[string]string{envDomain: "dev-123.okta.com", envClientID: "0oa1", envClientAuth: "private_key_jwt"}, []string{"OKTA_PRIVATE_KEY"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConfigFromLookup(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if err == nil {
				t.Fatalf("ConfigFromLookup(%v) = nil error; want what is missing", tt.env)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ConfigFromLookup(%v) = %q; want %q in it", tt.env, err, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("ConfigFromLookup(%v) = %q; want no %q in it", tt.env, err, w)
				}
			}
		})
	}
	// Enough to sign in: no error.
	if _, err := ConfigFromLookup(func(k string) (string, bool) {
		v, ok := map[string]string{envDomain: "dev-123.okta.com", envClientID: "0oa1", envClientSecret: "s"}[k]
		return v, ok
	}); err != nil {
		t.Errorf("ConfigFromLookup(domain, client ID, secret) = %v; want nil", err)
	}
}
