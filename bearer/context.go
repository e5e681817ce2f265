package bearer

import (
	"context"

	"github.com/oktasso/oktasso"
)

type tokenKey struct{}

// TokenFrom returns the verified access token that Guard.Require put in
// ctx, or nil.
func TokenFrom(ctx context.Context) *Token {
	t, _ := ctx.Value(tokenKey{}).(*Token)
	return t
}

// WithToken returns a copy of ctx carrying t and, through
// oktasso.WithUser, its user, as Guard.Require passes them to handlers:
// handlers read the caller with oktasso.UserFrom. Tests of handlers can
// use it.
func WithToken(ctx context.Context, t *Token) context.Context {
	return context.WithValue(oktasso.WithUser(ctx, t.User()), tokenKey{}, t)
}
