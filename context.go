package oktasso

import "context"

// The request-context helpers come in pairs: XFrom reads what WithX puts.
// The guards (Workspace, WebApp, Identify, Require, RequireStepUp) put the
// signed-in user and, with Config.Session.KeepAccessToken, their access
// token; tests of handlers can put them too.

type userKey struct{}

type accessTokenKey struct{}

// UserFrom returns the signed-in user that a guard put in ctx, or nil.
func UserFrom(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}

// WithUser returns a copy of ctx carrying u.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// AccessTokenFrom returns the signed-in user's current access token, kept
// with Config.Session.KeepAccessToken (and refreshed with offline_access),
// or "".
func AccessTokenFrom(ctx context.Context) string {
	t, _ := ctx.Value(accessTokenKey{}).(string)
	return t
}

// WithAccessToken returns a copy of ctx carrying the access token.
func WithAccessToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, accessTokenKey{}, token)
}
