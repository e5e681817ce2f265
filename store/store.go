// Package store is where oktasso keeps its server-side state: the Store
// contract, its optional abilities SetStore and LockStore, and Memory, a
// Store in this process's memory (the default oktasso.Config.Store).
//
// Package redisstore implements the contract on Redis, for several
// instances; package storetest checks an implementation of your own.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by a Store for a key it does not hold (never
// stored, expired or deleted).
var ErrNotFound = errors.New("oktasso: not found")

// Store keeps oktasso's server-side state as opaque bytes under string keys:
// revoked session ids, the logout index, refreshed sessions and, with
// oktasso.Config.Session.Storage, the sessions themselves. Keys are chosen
// by oktasso and never come from a request unauthenticated. Implementations
// must be safe for concurrent use; package redisstore has one for Redis, and
// NewMemory one for a single process. Check an implementation with package
// storetest.
//
// A Store may also implement SetStore and LockStore; oktasso discovers them
// by type assertion.
type Store interface {
	// Get returns the value stored under key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key for ttl (> 0), replacing any value.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes keys; a missing key is not an error.
	Delete(ctx context.Context, keys ...string) error
}

// SetStore is a Store that also keeps sets of strings. oktasso indexes
// sessions by the provider's session id and by user with it, so that
// back- and front-channel logout can end them; without it those receivers
// can end only the sessions of this process.
type SetStore interface {
	Store
	// AddToSet adds member to the set at key and keeps the set at least
	// ttl (> 0) longer.
	AddToSet(ctx context.Context, key, member string, ttl time.Duration) error
	// Members returns the set's members (none for a missing key).
	Members(ctx context.Context, key string) ([]string, error)
}

// LockStore is a Store that can hold short locks, so that only one instance
// refreshes a session's tokens at a time.
type LockStore interface {
	Store
	// TryLock takes the lock key for ttl if it is free and reports whether
	// it did; token identifies the holder.
	TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error)
	// Unlock releases the lock if token still holds it.
	Unlock(ctx context.Context, key, token string) error
}
