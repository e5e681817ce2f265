package bearer

import (
	"errors"
	"github.com/oktasso/oktasso/audit"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/internal/httpjson"
)

// Require returns middleware that admits requests with a valid access token
// granting every one of scopes, and answers the others as RFC 6750 says:
// 401 with a "WWW-Authenticate: Bearer" challenge (error="invalid_token"
// when a token was sent), 400 invalid_request for a malformed
// Authorization header, 403 insufficient_scope naming the scopes, 503 with
// Retry-After while the provider is unreachable; each with a JSON body
// like the session guards'. Guarded handlers read the caller with
// [oktasso.UserFrom] and the token with [TokenFrom].
func (g *Guard) Require(scopes ...string) func(http.Handler) http.Handler {
	scopes = slices.Clone(scopes)
	scopeList := strings.Join(scopes, " ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, err := bearerCandidate(r.Header)
			if err == nil && raw == "" {
				g.audit(r, slog.LevelDebug, audit.ReasonTokenMissing, "", nil)
				g.challenge(w, http.StatusUnauthorized, "", "a bearer access token is required", "")
				return
			}
			var t *Token
			if err == nil {
				now := g.cfg.Now()
				// A cached token was checked whole; only a new one is
				// scanned for its characters before verification.
				if e, ok := g.cache.get(raw, now.UnixNano()); ok {
					t, err = e.tok, e.err
				} else if !isToken68(raw) {
					err = errMalformedHeader
				} else {
					t, err = g.verify(r.Context(), raw, now)
				}
			}
			if err != nil {
				g.refuse(w, r, err)
				return
			}
			for _, s := range scopes {
				if !t.HasScope(s) {
					g.audit(r, slog.LevelDebug, audit.ReasonInsufficientScope, t.user.Subject, nil)
					g.challenge(w, http.StatusForbidden, "insufficient_scope", "the access token lacks a required scope", scopeList)
					return
				}
			}
			next.ServeHTTP(w, r.WithContext(WithToken(r.Context(), t)))
		})
	}
}

// audit emits an audit.EventTokenRefused, logged as oktasso logs its events.
// err, when set, is one of ours and never holds the token.
func (g *Guard) audit(r *http.Request, level slog.Level, reason audit.Reason, subject string, err error) {
	ev := audit.Event{Name: audit.EventTokenRefused, Reason: reason, Subject: subject, Path: r.URL.Path}
	if err != nil {
		g.cfg.Logger.LogAttrs(r.Context(), level, "oktasso: "+ev.Name, slog.Any("", ev), slog.String("err", err.Error()))
	} else {
		g.cfg.Logger.LogAttrs(r.Context(), level, "oktasso: "+ev.Name, slog.Any("", ev))
	}
	if g.cfg.OnEvent != nil {
		g.cfg.OnEvent(ev)
	}
}

// refuse answers a request whose token or header was refused, or whose
// token could not be checked.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if te, ok := errors.AsType[*oktasso.TokenError](err); ok {
		level := slog.LevelDebug
		if te.Reason == audit.ReasonOrgServerToken {
			// Worth an operator's eye: the API's clients ask the wrong
			// authorization server, or the API should use introspection.
			level = slog.LevelInfo
		}
		g.audit(r, level, te.Reason, "", err)
		status, code := http.StatusUnauthorized, "invalid_token"
		if te.Reason == audit.ReasonRequestMalformed {
			status, code = http.StatusBadRequest, "invalid_request"
		}
		g.challenge(w, status, code, te.Err.Error(), "")
		return
	}
	g.audit(r, slog.LevelWarn, audit.ReasonProviderUnavailable, "", err)
	w.Header().Set("Retry-After", strconv.Itoa(int(max(retryAfter(err).Seconds(), 1))))
	httpjson.WriteError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the identity provider is unreachable; try again shortly", "")
}

// retryAfter is how long until the provider is tried again, as the
// errors of oktasso.Provider tell; one second when they do not.
func retryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		return ra.RetryAfter()
	}
	return time.Second
}

// challenge writes an RFC 6750 challenge and a JSON error body. code is
// empty when the request carried no token (RFC 6750 section 3.1).
func (g *Guard) challenge(w http.ResponseWriter, status int, code, desc, scope string) {
	v := `Bearer realm="` + quoteSafe(g.cfg.Realm) + `"`
	body := "unauthorized"
	if code != "" {
		body = code
		v += `, error="` + code + `", error_description="` + quoteSafe(desc) + `"`
	}
	if scope != "" {
		v += `, scope="` + quoteSafe(scope) + `"`
	}
	w.Header().Set("WWW-Authenticate", v)
	httpjson.WriteError(w, status, body, desc, "")
}

// quoteSafe keeps the characters RFC 6750 allows in its quoted values
// (printable ASCII but '"' and '\'), replacing the others.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		if r == '"' || r == '\\' {
			return '\''
		}
		return r
	}, s)
}

var errMalformedHeader = invalidToken(audit.ReasonRequestMalformed, "the Authorization header is not \"Bearer\" followed by a token")

// bearerToken extracts the token of an "Authorization: Bearer" header. It
// returns "" and no error when there is no such header (or another scheme
// is used), and an invalid_request error for a malformed one.
func bearerToken(h http.Header) (string, error) {
	tok, err := bearerCandidate(h)
	if err == nil && tok != "" && !isToken68(tok) {
		return "", errMalformedHeader
	}
	return tok, err
}

// bearerCandidate is bearerToken without the scan of the token's
// characters.
func bearerCandidate(h http.Header) (string, error) {
	vals := h.Values("Authorization")
	if len(vals) == 0 {
		return "", nil
	}
	if len(vals) > 1 {
		return "", invalidToken(audit.ReasonRequestMalformed, "several Authorization headers")
	}
	scheme, rest, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", nil
	}
	tok := strings.Trim(rest, " \t")
	if tok == "" || len(tok) > maxTokenLen {
		return "", errMalformedHeader
	}
	return tok, nil
}

// token68Chars are the characters of an RFC 7235 token68 but '='.
var token68Chars = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/") {
		t[c] = true
	}
	return t
}()

// isToken68 reports whether s is an RFC 7235 token68: the characters of
// base64 and base64url, with '=' padding only at the end.
func isToken68(s string) bool {
	end := len(s)
	for end > 0 && s[end-1] == '=' {
		end--
	}
	if end == 0 {
		return false
	}
	for i := 0; i < end; i++ {
		if !token68Chars[s[i]] {
			return false
		}
	}
	return true
}
