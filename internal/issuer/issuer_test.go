package issuer

import "testing"

func TestFromDomain(t *testing.T) {
	tests := []struct {
		domain, id, want string
		wantErr          bool
	}{
		{"dev-1.okta.com", "", "https://dev-1.okta.com", false},
		{"https://dev-1-admin.okta.com/", "default", "https://dev-1.okta.com/oauth2/default", false},
		{"dev-1.okta.com/oauth2/aus1/v1", "", "https://dev-1.okta.com/oauth2/aus1", false},
		{"http://127.0.0.1:8080", "", "http://127.0.0.1:8080", false},
		{"dev-1.okta.com/oauth2/a", "b", "", true},
		{"dev-1.okta.com/admin", "", "", true},
		{"dev-1.okta.com", "a/b", "", true},
		{"", "", "", true},
	}
	for _, tt := range tests {
		got, err := FromDomain(tt.domain, tt.id, "AuthServerID")
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("FromDomain(%q, %q) = %q, %v; want %q, error %v", tt.domain, tt.id, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCheck(t *testing.T) {
	for iss, ok := range map[string]bool{
		"https://dev-1.okta.com":   true,
		"http://localhost:8080":    true,
		"http://[::1]:8080":        true,
		"http://dev-1.okta.com":    false,
		"https://dev-1.okta.com?x": false,
		"ftp://dev-1.okta.com":     false,
		"dev-1.okta.com":           false,
	} {
		if err := Check(iss); (err == nil) != ok {
			t.Errorf("Check(%q) = %v; want ok=%v", iss, err, ok)
		}
	}
}

func TestNormalize(t *testing.T) {
	for iss, want := range map[string]string{
		"http://localhost:9998/":                    "http://localhost:9998/",
		"https://login.example.com/oauth2/default/": "https://login.example.com/oauth2/default/",
		"https://id.example.com/realms/acme":        "https://id.example.com/realms/acme",
		"https://dev-1.okta.com/":                   "https://dev-1.okta.com",
		"https://dev-1.okta.com/oauth2/default//":   "https://dev-1.okta.com/oauth2/default",
		"https://acme.oktapreview.com/":             "https://acme.oktapreview.com",
		"https://acme.okta-emea.com/":               "https://acme.okta-emea.com",
		"https://acme.okta-gov.com/":                "https://acme.okta-gov.com",
		"https://acme.okta.mil/":                    "https://acme.okta.mil",
		"https://ACME.OKTA.COM/":                    "https://ACME.OKTA.COM",
		"https://okta.com.example.com/":             "https://okta.com.example.com/",
		"https://notokta.com/":                      "https://notokta.com/",
	} {
		if got := Normalize(iss); got != want {
			t.Errorf("Normalize(%q) = %q; want %q", iss, got, want)
		}
	}
}

func TestDiscoveryURL(t *testing.T) {
	for iss, want := range map[string]string{
		"http://localhost:9998/":           "http://localhost:9998/.well-known/openid-configuration",
		"http://localhost:9998":            "http://localhost:9998/.well-known/openid-configuration",
		"https://id.example.com/realms/a/": "https://id.example.com/realms/a/.well-known/openid-configuration",
		"https://dev-1.okta.com/oauth2/x":  "https://dev-1.okta.com/oauth2/x/.well-known/openid-configuration",
	} {
		if got := DiscoveryURL(iss); got != want {
			t.Errorf("DiscoveryURL(%q) = %q; want %q", iss, got, want)
		}
	}
}
