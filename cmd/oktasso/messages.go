package main

import (
	"errors"
	"regexp"
	"strings"

	"github.com/oktasso/oktasso/directory"
)

// fixSep separates what went wrong from what to do in every error line
// (docs/CLI.md: "✗ name: detail — fix: what to do").
const fixSep = " — fix: "

// syncSetting is a directory.Config field as oktasso sync sets it: the
// variable and the flag, and what to do when the directory package
// refuses the value without saying.
type syncSetting struct {
	field, names, fix string
}

// syncSettings lists, in the order their names are replaced, the fields
// the directory package names in its errors.
var syncSettings = []syncSetting{
	{"OrgURL", "OKTA_DOMAIN (--domain)", "set OKTA_DOMAIN or --domain to your Okta org, e.g. dev-123.okta.com"},
	{"ClientID", "OKTA_CLIENT_ID (--client-id)", "copy the Client ID of the API Services app (its General tab) into OKTA_CLIENT_ID or --client-id"},
	{"PrivateKey", "OKTA_PRIVATE_KEY (--private-key)", "give OKTA_PRIVATE_KEY or --private-key the app's private key (PEM or JWK) or a file holding it; oktasso keygen --jwk makes one"},
	{"KeyID", "OKTA_PRIVATE_KEY_ID (--key-id)", "set OKTA_PRIVATE_KEY_ID or --key-id to the key's id in Okta, or leave it empty"},
	{"APIToken", "OKTA_API_TOKEN (--api-token-file)", "set OKTA_API_TOKEN, or --api-token-file to a file holding the token (Okta admin console → Security → API → Tokens)"},
	{"PageSize", "--page-size", "pass a --page-size of 1 to 200, or leave it out"},
}

// fieldWord matches a field name of syncSettings as a word.
var fieldWord = regexp.MustCompile(`\b(OrgURL|ClientID|PrivateKey|KeyID|APIToken|PageSize)\b`)

// syncConfigLines turns the errors of directory.New (joined, one per line)
// into the lines oktasso sync prints: the Go field names become the
// variables and flags that set them, and each line ends with the fix.
func syncConfigLines(err error) []string {
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, speakSync(l))
		}
	}
	return lines
}

// speakSync rewrites one message of the directory package for the CLI.
func speakSync(msg string) string {
	msg = strings.TrimPrefix(msg, "directory: ")
	var first *syncSetting
	if m := fieldWord.FindString(msg); m != "" {
		for i := range syncSettings {
			if syncSettings[i].field == m {
				first = &syncSettings[i]
			}
		}
	}
	msg = fieldWord.ReplaceAllStringFunc(msg, func(f string) string {
		for _, s := range syncSettings {
			if s.field == f {
				return s.names
			}
		}
		return f
	})
	switch {
	case strings.Contains(msg, fixSep):
		return msg
	case strings.HasPrefix(msg, "no credentials: "):
		return "no credentials" + fixSep + strings.TrimPrefix(msg, "no credentials: ")
	case strings.HasPrefix(msg, "set either "):
		return "both an API token and a service app are set" + fixSep + msg
	}
	if what, hint, ok := strings.Cut(msg, "; "); ok {
		return what + fixSep + hint
	}
	if first != nil {
		return msg + fixSep + first.fix
	}
	return msg + fixSep + `see "oktasso help sync"`
}

// syncRunFix is the fix for an error that stopped a sync run.
func syncRunFix(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "delete it"), strings.Contains(msg, "the state's"):
		return "delete the state file (--state) to start over with a full run"
	case strings.Contains(msg, "sink"), strings.Contains(msg, "writing the state"):
		return "check that --out and --state are writable files on a disk with room"
	case isNetError(err):
		return "check OKTA_DOMAIN (--domain) and this machine's network and proxy towards the org"
	case strings.Contains(msg, "401"), strings.Contains(msg, "403"), strings.Contains(msg, "invalid_client"), strings.Contains(msg, "E0000011"), strings.Contains(msg, "E0000006"):
		return "check the credentials (OKTA_API_TOKEN, or OKTA_CLIENT_ID with OKTA_PRIVATE_KEY: an API Services app with the okta.users.read and okta.groups.read scopes and an admin role); --verbose shows each request"
	}
	return "rerun with --verbose to see each request; oktasso help sync lists the settings"
}

// isNetError reports whether err is a network failure (DNS, connection,
// timeout) rather than an answer from Okta.
func isNetError(err error) bool {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) {
		return true
	}
	return strings.Contains(err.Error(), "no such host") || strings.Contains(err.Error(), "connection refused")
}

// syncError is the line for an error that stopped a sync run, with its
// fix, unless it has one.
func syncError(err error) string {
	msg := errText(err)
	switch {
	case errors.Is(err, directory.ErrTooManyDeactivations):
		return msg
	case strings.Contains(msg, fixSep) && namesSetting.MatchString(msg[strings.Index(msg, fixSep):]):
		return msg
	case strings.Contains(msg, fixSep):
		// The directory package's fix says what, not where: add the
		// settings.
		return msg + "; " + syncRunFix(err)
	}
	return msg + fixSep + syncRunFix(err)
}

// namesSetting matches a variable or a flag in a message.
var namesSetting = regexp.MustCompile(`\bOKTA(SSO)?_[A-Z0-9_]+\b|(^|[\s(])--[a-z][a-z-]*`)
