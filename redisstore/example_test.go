package redisstore_test

import (
	"github.com/redis/go-redis/v9"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/redisstore"
)

// ExampleNew shares sessions, revocations and the logout index between the
// instances of an application (the Go block of docs/GUIDE.md's "Sessions").
func ExampleNew() {
	var cfg oktasso.Config

	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	cfg.Store = redisstore.New(rdb, "myapp:")    // package github.com/oktasso/oktasso/redisstore
	cfg.Session.Storage = oktasso.SessionInStore // optional: the cookie then holds only the id

	_ = cfg
}
