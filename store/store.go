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
// the sessions that keep data in the store (SessionInStore, refreshed
// tokens) by user and verified email with it, so that ending a user's
// sessions deletes that data at once; cookie sessions need no index (they
// end through marks read with Get).
type SetStore interface {
	Store
	// AddToSet adds member to the set at key and keeps the set at least
	// ttl (> 0) longer.
	AddToSet(ctx context.Context, key, member string, ttl time.Duration) error
	// Members returns the set's members (none for a missing key).
	Members(ctx context.Context, key string) ([]string, error)
}

// MultiGetStore is a Store that reads several keys in one call: one round
// trip for a remote store. oktasso's revocation check reads a session's
// marks (its own, its user's, its provider session's, its email's) with
// it; without it, with one Get each.
type MultiGetStore interface {
	Store
	// GetMulti sets values[i] to the value stored under keys[i], or to nil
	// when there is none (never stored, expired or deleted).
	// len(values) == len(keys).
	GetMulti(ctx context.Context, keys []string, values [][]byte) error
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
