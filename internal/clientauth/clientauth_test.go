package clientauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestApply(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	tests := []struct {
		name, secret, method, key string
		wantMethod                string
		wantForm                  []string // form keys set
		wantBasic                 bool
	}{
		{"secret: basic by default", "s3cret", "", "", SecretBasic, nil, true},
		{"post", "s3cret", SecretPost, "", SecretPost, []string{"client_id", "client_secret"}, false},
		{"key: private_key_jwt by default", "", "", keyPEM, PrivateKeyJWT, []string{"client_id", "client_assertion", "client_assertion_type"}, false},
		{"public client", "", "", "", None, []string{"client_id"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New("0oa1", tt.secret, tt.method, tt.key, "k1", "KEY", nil)
			if err != nil || c.Method() != tt.wantMethod {
				t.Fatalf("New() = %v, %v; want method %s", c, err, tt.wantMethod)
			}
			form, h := url.Values{}, http.Header{}
			if err := c.Apply(form, h, "https://idp.example/token"); err != nil {
				t.Fatal(err)
			}
			for _, k := range tt.wantForm {
				if form.Get(k) == "" {
					t.Errorf("Apply() form lacks %s: %v", k, form)
				}
			}
			if got := h.Get("Authorization") != ""; got != tt.wantBasic {
				t.Errorf("Apply() Authorization header set = %v; want %v", got, tt.wantBasic)
			}
			if s := fmt.Sprintf("%v %s", c, c); strings.Contains(s, "s3cret") || strings.Contains(s, "PRIVATE") {
				t.Errorf("printing Creds = %q; leaks a secret", s)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		method, secret, key string
		want                string // field, "" for none
	}{
		{SecretBasic, "s", "", ""},
		{SecretBasic, "s", "k", "PrivateKey"},
		{PrivateKeyJWT, "", "", "ClientAuth"},
		{PrivateKeyJWT, "", "not a key", "PrivateKey"},
		{None, "s", "", "ClientAuth"},
		{"client_secret_jwt", "s", "", "ClientAuth"},
	}
	for _, tt := range tests {
		p := Check(tt.method, tt.secret, tt.key, "", "KEY")
		if got := ""; p != nil {
			got = p.Field
			if got != tt.want {
				t.Errorf("Check(%s, %q, %q) = %s: %s; want %q", tt.method, tt.secret, tt.key, p.Field, p.Msg, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("Check(%s, %q, %q) = nil; want a %s problem", tt.method, tt.secret, tt.key, tt.want)
		}
	}
}
