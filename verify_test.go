package oktasso

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestClaimShapes(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		verified bool
		groups   string
		wantErr  bool
	}{
		{"okta shapes", `{"sub":"00u1","email_verified":true,"groups":["Everyone","Eng"]}`, true, "Everyone|Eng", false},
		{"string boolean", `{"sub":"00u1","email_verified":"true"}`, true, "", false},
		{"string false", `{"sub":"00u1","email_verified":"false"}`, false, "", false},
		{"single group string", `{"sub":"00u1","groups":"Eng"}`, false, "Eng", false},
		{"bad boolean", `{"sub":"00u1","email_verified":"yes please"}`, false, "", true},
		{"groups of numbers", `{"sub":"00u1","groups":[1,2]}`, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c idClaims
			err := json.Unmarshal([]byte(tt.json), &c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v; want error %v", tt.json, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if bool(c.EmailVerified) != tt.verified || strings.Join(c.Groups, "|") != tt.groups {
				t.Errorf("Unmarshal(%s) = verified %v groups %q; want %v %q", tt.json, c.EmailVerified, strings.Join(c.Groups, "|"), tt.verified, tt.groups)
			}
		})
	}
}

func TestMergeUserInfo(t *testing.T) {
	u := &User{Subject: "00u1", Email: "id@example.com", EmailVerified: true}
	mergeUserInfo(u, &idClaims{Email: "ui@example.com", Name: "From Userinfo", PreferredUsername: "login", Groups: []string{"G"}})
	if u.Email != "id@example.com" || !u.EmailVerified || u.Name != "From Userinfo" || u.Username != "login" || len(u.Groups) != 1 {
		t.Errorf("merged user = %+v; want the ID token's email kept and the gaps filled from userinfo", u)
	}
}
