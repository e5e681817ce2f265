package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/oktasso/oktasso"
)

// claimResults reports on the claims an oktasso app relies on.
// The access lists come from the environment (workspaceGroups,
// webappGroups, allowedDomains), where the policies were made from.
func claimResults(cfg oktasso.Config, provider string, u *oktasso.User, workspaceGroups, webappGroups, allowedDomains []string) []result {
	var rs []result
	if u.Email != "" {
		rs = append(rs, pass("email", "%s", u.Email))
	} else {
		rs = append(rs, fail("email", "request the email scope ("+"OKTASSO_SCOPES"+") and give the user an email in "+provider, "no email claim"))
	}
	if u.EmailVerified {
		rs = append(rs, pass("email_verified", "true"))
	} else {
		rs = append(rs, fail("email_verified", "verify the user's email in "+provider+"; "+"OKTASSO_ALLOWED_EMAIL_DOMAINS"+" admits verified emails only", "false or missing"))
	}
	if len(u.Groups) > 0 {
		rs = append(rs, pass("groups", "%s", quoteList(u.Groups)))
	} else {
		fix := "add a groups claim filter on the app's Sign On tab (org authorization server), or a claim of type Groups on the custom authorization server"
		if !strings.Contains(cfg.Issuer, "/oauth2/") && !slices.Contains(cfg.Scopes, "groups") {
			fix = "request the groups scope (set " + "OKTASSO_WORKSPACE_GROUPS" + ", or add groups to " + "OKTASSO_SCOPES" + ") and " + fix
		}
		rs = append(rs, fail("groups", fix, "no groups claim in the ID token or userinfo"))
	}
	rs = append(rs, groupResult("workspace", "OKTASSO_WORKSPACE_GROUPS", workspaceGroups, u,
		"internal member", "external user", "everyone is external unless the app sets a Workspace policy"))
	if len(webappGroups) > 0 {
		rs = append(rs, groupResult("webapp", "OKTASSO_WEBAPP_GROUPS", webappGroups, u,
			"admitted to the webapp scope", "refused by the webapp scope", ""))
	}
	if len(allowedDomains) > 0 {
		_, d, _ := strings.Cut(strings.ToLower(u.Email), "@")
		if u.EmailVerified && slices.Contains(allowedDomains, d) {
			rs = append(rs, pass("email domain", "%s is in %s", d, "OKTASSO_ALLOWED_EMAIL_DOMAINS"))
		} else {
			rs = append(rs, fail("email domain", "add the domain to "+"OKTASSO_ALLOWED_EMAIL_DOMAINS"+" if this user should sign in",
				"the app would refuse this user: %q (verified %t) is not in %s", d, u.EmailVerified, quoteList(allowedDomains)))
		}
	}
	return rs
}

// groupResult says which of the configured groups matched.
func groupResult(name, env string, groups []string, u *oktasso.User, in, out, unset string) result {
	if len(groups) == 0 {
		return pass(name, "%s not set: %s", env, unset)
	}
	var matched []string
	for _, g := range groups {
		if slices.Contains(u.Groups, g) {
			matched = append(matched, g)
		}
	}
	if len(matched) > 0 {
		return pass(name, "%s (matched %s of %s)", in, quoteList(matched), env)
	}
	return pass(name, "%s (none of %s %s matched)", out, env, quoteList(groups))
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func displayName(u *oktasso.User) string {
	switch {
	case u.Name != "" && u.Email != "":
		return u.Name + " <" + u.Email + ">"
	case u.Email != "":
		return u.Email
	case u.Username != "":
		return u.Username
	}
	return u.Subject
}

// jwtPayload returns the claims of a JWT, sorted and indented. The library
// verified the token before this sees it.
func jwtPayload(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("the token response has no usable id_token")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	return indentJSON(b)
}

// indentJSON re-encodes a JSON object with sorted keys, indented, numbers
// kept as sent.
func indentJSON(b []byte) (string, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("  ", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return "  " + strings.TrimRight(out.String(), "\n"), nil
}

// userInfo fetches the userinfo response with the access token.
func userInfo(ctx context.Context, client *http.Client, endpoint, accessToken string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("userinfo answered HTTP %d %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	return indentJSON(body)
}
