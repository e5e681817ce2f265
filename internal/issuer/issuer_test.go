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
